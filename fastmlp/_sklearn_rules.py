"""scikit-learn's learning-rate schedules and end-of-epoch rule for the stochastic solvers, as fastmlp pieces.

The estimators of :mod:`fastmlp.estimators` train through :meth:`fastmlp.Model.fit`; these two objects make that
fit follow scikit-learn's ``learning_rate`` options and its ``tol``/``n_iter_no_change`` rule exactly.
"""

from .schedules import Schedule, inverse_scaling

__all__ = ["ScikitLearnRate", "ScikitLearnStop"]


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

    def __init__(self, estimator, optimizer):
        self.estimator = estimator
        self.schedule = optimizer.schedule if isinstance(optimizer.schedule, ScikitLearnRate) else None
        self.best_params = None

    def __call__(self, epoch, logs):
        est = self.estimator
        val_score = logs.get("val_accuracy", logs.get("val_r2"))
        if est._update_no_improvement_count(logs["loss"], val_score):
            self.best_params = est.model_.params.copy()
        if est.verbose:
            print(f"Iteration {est.n_iter_ + epoch}, loss = {logs['loss']:.8f}")
            if val_score is not None:
                print(f"Validation score: {val_score:f}")
        if not est._plateau.exhausted:
            return False
        adaptive = self.schedule is not None and self.schedule.kind == "adaptive"
        if adaptive and logs["lr"] > 1e-6:
            self.schedule.state["scale"] /= 5.0
            est._plateau.count = 0
            if est.verbose:
                print(f"Setting learning rate to {logs['lr'] / 5:f}")
            return False
        if est.verbose:
            what = "Validation score" if est.early_stopping else "Training loss"
            print(f"{what} did not improve more than tol={est.tol:f} for {est.n_iter_no_change} consecutive epochs.")
        return True
