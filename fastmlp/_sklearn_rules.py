"""scikit-learn's learning-rate schedules and end-of-epoch rule for the stochastic solvers, as fastmlp pieces.

The estimators of :mod:`fastmlp.estimators` train through :meth:`fastmlp.Model.fit`; these two objects make that
fit follow scikit-learn's ``learning_rate`` options and its ``tol``/``n_iter_no_change`` rule exactly.
"""

import numpy as np

from ._codes import OPTIMIZER_CODES
from .optimizers import Adam
from .schedules import Schedule, inverse_scaling
from .training import OwnOrders

__all__ = ["ScikitLearnAdam", "ScikitLearnRate", "ScikitLearnStop", "scikit_learn_order"]


class ScikitLearnAdam(Adam):
    """scikit-learn's Adam: the bias corrections folded into the step size, so ``eps`` scales differently.

    ``p <- p - lr * sqrt(1 - beta2^t) / (1 - beta1^t) * m / (sqrt(v) + eps)``; :class:`fastmlp.Adam` adds ``eps``
    to ``sqrt(v_hat)`` instead (Kingma & Ba's algorithm 1).
    """

    code = OPTIMIZER_CODES["adam_folded"]


def scikit_learn_order(random_state, n_samples):
    """Epoch orders as scikit-learn's stochastic solvers make them, for ``Model.fit(shuffle=...)``.

    Each epoch reshuffles the previous epoch's order as ``sklearn.utils.shuffle`` does with the estimator's
    ``RandomState`` (``random_state.shuffle`` of ``arange(n)``, then that permutation of the order), so the same
    ``random_state`` visits the rows in scikit-learn's order. Done here directly: ``sklearn.utils.shuffle``'s
    checks cost more than a small data set's whole epoch. The orders are int64 permutations by construction, so
    ``Model.fit`` does not check them again (:class:`fastmlp.training.OwnOrders`).
    """
    return _ScikitLearnOrders(random_state, n_samples)


class _ScikitLearnOrders(OwnOrders):
    def __init__(self, random_state, n_samples):
        self.random_state = random_state
        self.n_samples = n_samples
        self.order = np.arange(n_samples, dtype=np.int64)

    def __call__(self, epoch, n_rows):
        permutation = np.arange(self.n_samples)
        self.random_state.shuffle(permutation)
        self.order = self.order[permutation]
        return self.order


class ScikitLearnRate(Schedule):
    """scikit-learn's SGD learning rates: "constant", "invscaling" and "adaptive".

    The adaptive rate's divisions by 5 are made by the estimator's stopping rule (:class:`ScikitLearnStop`): in
    scikit-learn it and the stop share one counter.
    """

    def __init__(self, kind, power_t):
        self.kind = kind
        self.power_t = power_t
        self.state = None

    def start(self, base_lr, epochs):
        self.state = super().start(base_lr, epochs)
        return self.state

    def rate(self, state, epoch, samples_seen):
        if self.kind == "invscaling":
            return inverse_scaling(state["base_lr"], samples_seen, self.power_t)
        return state["base_lr"] * state["scale"]


class ScikitLearnStop:
    """The end-of-epoch rule of scikit-learn's stochastic solvers, as a fastmlp callback.

    After more than ``n_iter_no_change`` epochs without a ``tol`` improvement (of the validation score with early
    stopping, else of the training loss), SGD with learning_rate="adaptive" divides its rate by 5 while it is above
    1e-6; every other case stops. With early stopping, the parameters of the best validation score are kept.
    """

    def __init__(self, estimator, optimizer, n_samples):
        self.estimator = estimator
        self.schedule = optimizer.schedule if isinstance(optimizer.schedule, ScikitLearnRate) else None
        self.n_samples = n_samples
        self.best_params = None

    def record(self, loss, val_score):
        """Keep one epoch's figures in the estimator's fitted attributes, as scikit-learn does after each epoch."""
        est = self.estimator
        est.n_iter_ += 1
        est.t_ += self.n_samples
        est.loss_ = loss
        est.loss_curve_.append(loss)
        if est.early_stopping:
            est.validation_scores_.append(val_score)

    def __call__(self, epoch, logs):
        """Record the epoch, count it, and return True to stop (after an adaptive rate can decay no more)."""
        est = self.estimator
        val_score = logs.get("val_accuracy", logs.get("val_r2"))
        self.record(logs["loss"], val_score)
        if est._update_no_improvement_count(logs["loss"], val_score):
            self.best_params = est.model_.params.copy()
        if est.verbose:
            print(f"Iteration {est.n_iter_}, loss = {logs['loss']:.8f}")
            if val_score is not None:
                print(f"Validation score: {val_score:f}")
        if not est._plateau.exhausted:
            return False
        adaptive = self.schedule is not None and self.schedule.kind == "adaptive"
        if adaptive and logs["lr"] > 1e-6:
            self.schedule.state["scale"] /= 5.0
            est._plateau.count = est._no_improvement_count = 0
            if est.verbose:
                print(f"Setting learning rate to {logs['lr'] / 5:f}")
            return False
        if est.verbose:
            what = "Validation score" if est.early_stopping else "Training loss"
            print(f"{what} did not improve more than tol={est.tol:f} for {est.n_iter_no_change} consecutive epochs.")
        return True
