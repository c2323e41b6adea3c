"""Training: the Python loop over epochs around the compiled epoch kernel.

Python decides, once per epoch, the learning rate, the batch order, early stopping and what to record; one compiled
call (through ``fastmlp._engine.Engine.train_epoch``) runs every batch of the epoch: gather, forward, backward,
update. :meth:`Model.fit` checks the arguments and prepares the data; this module runs the epochs.
"""

import math
import sys
import time
from dataclasses import dataclass, field

import numpy as np

from . import _codes
from . import _validation as v
from ._engine import CSR, all_finite
from ._plateau import Plateau

__all__ = ["EarlyStopping", "History", "TrainingDivergedError", "TrainingSummary"]


class TrainingDivergedError(ValueError):
    """Raised by :meth:`Model.fit` when the loss or a parameter stops being finite.

    The model keeps the parameters it had at the start of the epoch that diverged.
    """


@dataclass
class History:
    """What :meth:`Model.fit` records, one entry per completed epoch.

    Attributes
    ----------
    loss : list of float
        Training loss of each epoch: the weighted mean of each batch's loss before its update, plus the L2 penalty.
    metric_name : str
        "accuracy" for sigmoid and softmax outputs (a row counts when every output is right), "r2" for identity
        outputs (the coefficient of determination, averaged over outputs).
    metric : list of float
        The training metric, measured on the batches as they were trained (before each update), as Keras does.
    val_loss, val_metric : list of float
        Loss (without the L2 penalty) and metric on the validation data at the end of each epoch; empty without
        validation data.
    lr : list of float
        Learning rate used in each epoch.
    seconds : list of float
        Wall time of each epoch's training (validation excluded).
    grad_norms : list of ndarray
        With ``record_gradient_norms=True``: for each epoch, the mean over its batches of ``||dJ/dW_k||`` for every
        layer k (first layer first). Vanishing gradients show as norms that shrink towards the first layer.
    best_epoch : int or None
        1-based epoch whose weights the model ended with, when early stopping restored the best weights.
    stop_reason : str or None
        Why training ended before ``epochs``: "early_stopping", "tol", "schedule" or "callback".
    """

    metric_name: str = ""
    loss: list = field(default_factory=list)
    metric: list = field(default_factory=list)
    val_loss: list = field(default_factory=list)
    val_metric: list = field(default_factory=list)
    lr: list = field(default_factory=list)
    seconds: list = field(default_factory=list)
    grad_norms: list = field(default_factory=list)
    best_epoch: int | None = None
    stop_reason: str | None = None

    def __len__(self):
        return len(self.loss)

    @property
    def epochs(self):
        """int: the number of completed epochs."""
        return len(self.loss)

    def plot(self, ax=None):
        """Draw the training and validation loss per epoch with matplotlib (an optional dependency).

        Parameters
        ----------
        ax : matplotlib.axes.Axes, optional
            Where to draw; a new figure's axes by default.

        Returns
        -------
        matplotlib.axes.Axes
        """
        try:
            import matplotlib.pyplot as plt
        except ImportError as exc:
            raise ImportError(
                "History.plot needs matplotlib, which is not installed: pip install 'fastmlp[plot]'."
            ) from exc
        if ax is None:
            _, ax = plt.subplots()
        epochs = np.arange(1, len(self.loss) + 1)
        ax.plot(epochs, self.loss, label="training loss")
        if self.val_loss:
            ax.plot(epochs, self.val_loss, label="validation loss")
        if self.best_epoch is not None:
            ax.axvline(self.best_epoch, color="grey", linestyle=":", label="restored epoch")
        ax.set_xlabel("epoch")
        ax.set_ylabel("loss")
        ax.legend()
        return ax


class EarlyStopping:
    """Stop when the monitored loss stops improving, and optionally go back to the best weights.

    Parameters
    ----------
    monitor : {"val_loss", "loss"}, default="val_loss"
        The validation loss (the fit then needs ``validation`` or ``validation_fraction``) or the training loss.
    patience : int, default=10
        Epochs without improvement to wait before stopping, >= 1.
    min_delta : float, default=0.0
        An epoch improves when its loss is below the best so far minus ``min_delta`` (>= 0).
    restore_best_weights : bool, default=True
        At the end of the fit, set the parameters to those of the best epoch.
    """

    def __init__(self, monitor="val_loss", patience=10, min_delta=0.0, restore_best_weights=True):
        self.monitor = v.check_option(monitor, "monitor", ("val_loss", "loss"))
        self.patience = v.check_int(patience, "patience", 1)
        self.min_delta = v.check_nonnegative_float(min_delta, "min_delta", finite=True)
        self.restore_best_weights = v.check_bool(restore_best_weights, "restore_best_weights")

    def __repr__(self):
        return (
            f"EarlyStopping(monitor={self.monitor!r}, patience={self.patience}, min_delta={self.min_delta}, "
            f"restore_best_weights={self.restore_best_weights})"
        )


def resolve_early_stopping(early_stopping, has_validation):
    """Return an :class:`EarlyStopping` or None from ``fit``'s ``early_stopping`` (False, True or an instance)."""
    if early_stopping is None or early_stopping is False:
        return None
    if early_stopping is True:
        early_stopping = EarlyStopping(monitor="val_loss" if has_validation else "loss")
    if not isinstance(early_stopping, EarlyStopping):
        raise TypeError(f"early_stopping must be True, False or an EarlyStopping; got {early_stopping!r}.")
    if early_stopping.monitor == "val_loss" and not has_validation:
        raise ValueError(
            "early_stopping monitors 'val_loss', so fit needs validation=(X_val, y_val) or validation_fraction; "
            "or use EarlyStopping(monitor='loss')."
        )
    return early_stopping


@dataclass(frozen=True)
class TrainingSummary:
    """What a model's training amounted to, as :attr:`Model.training_summary` reports it and model files store it.

    Attributes
    ----------
    epochs : int
        Epochs (passes over the data) completed by the last ``fit`` and the ``partial_fit`` calls after it.
    samples_seen : int
        Training rows visited over those epochs.
    optimizer : str
        The ``repr`` of the optimizer used, a record only.
    """

    epochs: int
    samples_seen: int
    optimizer: str


@dataclass
class TrainState:
    """An optimizer's state for one model: kept between :meth:`Model.partial_fit` calls."""

    optimizer: object
    state1: np.ndarray
    state2: np.ndarray
    step: np.ndarray
    schedule_state: dict
    epochs_done: int = 0
    samples_seen: int = 0

    @classmethod
    def fresh(cls, n_params, dtype, optimizer, planned_epochs):
        """Zeroed state for ``optimizer`` on a model of ``n_params`` parameters of ``dtype``."""
        return cls(
            optimizer=optimizer,
            state1=np.zeros(n_params if optimizer.n_states >= 1 else 0, dtype=dtype),
            state2=np.zeros(n_params if optimizer.n_states >= 2 else 0, dtype=dtype),
            step=np.zeros(1, dtype=np.int64),
            schedule_state=optimizer.schedule.start(optimizer.lr, planned_epochs),
        )

    def summary(self):
        """Return the :class:`TrainingSummary` of this state."""
        return TrainingSummary(int(self.epochs_done), int(self.samples_seen), repr(self.optimizer))


# ---------------------------------------------------------------------------------------------------------------
# Metrics


def total_squares(Y, w):
    """Weighted total sum of squares of each target column about its weighted mean (R^2's denominator)."""
    deviations = Y.astype(np.float64)  # float32 squares of large targets would overflow
    w = w.astype(np.float64)
    # einsum, not w @ deviations: a matrix product would wake NumPy's BLAS threads, which then spin for a while on a
    # core that the kernels' own BLAS needs.
    deviations -= np.einsum("i,ij->j", w, deviations) / w.sum()
    deviations *= deviations
    return np.einsum("i,ij->j", w, deviations)


def r2_from_squares(sse, sst):
    """R^2 averaged over outputs; an output with constant targets scores 1 if predicted exactly, else 0."""
    # A loop over the few outputs: NumPy's where and mean took 8 us of every epoch's Python (a fifth of a small fit's).
    total = 0.0
    for error, spread in zip(sse.tolist(), sst.tolist(), strict=True):
        total += 1.0 - error / spread if spread > 0 else float(error == 0)
    return total / len(sse)


def metric_value(code, A, Y, w):
    """The metric of outputs ``A`` against targets ``Y`` with row weights ``w`` (NumPy, for validation data)."""
    if code == _codes.METRIC_ACCURACY_ARGMAX:
        right = A.argmax(axis=1) == Y.argmax(axis=1)
    elif code == _codes.METRIC_ACCURACY_THRESHOLD:
        right = ((A >= 0.5) == (Y >= 0.5)).all(axis=1)
    else:
        sse = (w[:, None] * (A.astype(np.float64) - Y) ** 2).sum(axis=0)
        return r2_from_squares(sse, total_squares(Y, w))
    return float(np.sum(w * right) / np.sum(w))


# ---------------------------------------------------------------------------------------------------------------
# Progress


class Progress:
    """A tqdm bar on a terminal (a plain line per epoch without tqdm or off a terminal); nothing when not verbose."""

    def __init__(self, verbose, epochs, stream=None):
        self.verbose = bool(verbose)
        self.epochs = epochs
        self.stream = sys.stdout if stream is None else stream
        self.bar = None
        if self.verbose and getattr(self.stream, "isatty", lambda: False)():
            try:
                from tqdm.auto import tqdm
            except ImportError:
                pass
            else:
                self.bar = tqdm(total=epochs, unit="epoch", file=self.stream, leave=True)

    def update(self, epoch, logs):
        """Show one finished epoch."""
        if not self.verbose:
            return
        shown = {k: f"{val:.4g}" for k, val in logs.items() if k not in ("epoch",) and val is not None}
        if self.bar is not None:
            self.bar.set_postfix(shown, refresh=False)
            self.bar.update(1)
        else:
            text = "  ".join(f"{k} {val}" for k, val in shown.items())
            print(f"epoch {epoch}/{self.epochs}  {text}", file=self.stream, flush=True)

    def close(self):
        """Close the bar, if any."""
        if self.bar is not None:
            self.bar.close()


# ---------------------------------------------------------------------------------------------------------------
# The loop


class OwnOrders:
    """Base of fastmlp's own ``shuffle`` callables, whose orders are int64 permutations of the rows by construction.

    :func:`_epoch_order` takes their orders as they are; a user's callable is checked every epoch (about 5 us, a
    twentieth of a 150-row epoch), since a wrong index would read outside the data.
    """

    def __call__(self, epoch, n_rows):  # pragma: no cover - every subclass defines it
        raise NotImplementedError


def _epoch_order(rng, n, shuffle, epoch, unshuffled=None):
    """The rows of 0-based ``epoch``, in the order to visit them (int64, as the kernel expects).

    ``unshuffled``, when given, is ``arange(n)``, returned as it is when not shuffling (the kernels only read it).
    """
    if isinstance(shuffle, OwnOrders):
        return shuffle(epoch, n)
    if callable(shuffle):
        return v.check_epoch_order(shuffle(epoch, n), n)
    if shuffle:
        return rng.permutation(n).astype(np.int64, copy=False)
    return np.arange(n, dtype=np.int64) if unshuffled is None else unshuffled


def _order_matters(shuffle, trainer):
    """``shuffle``, or False where the epoch is one batch of every row: one step, whatever the order of its rows.

    A full batch's gradient and loss are sums over its rows, which a permutation changes only in rounding;
    drawing and gathering one took about a fifth of a 10,000-row full-batch epoch of a small network. A callable
    is kept: it chose its orders for a reason of its own (scikit-learn's, say, whose generator they advance).
    """
    if not callable(shuffle) and shuffle and trainer.nb >= trainer.X.shape[0]:
        return False
    return shuffle


def split_validation(X, Y, w, fraction, rng):
    """Hold out ``fraction`` of the rows, chosen with ``rng``: return ``(X, Y, w)`` for training and for validation."""
    n = X.shape[0]
    n_val = int(math.ceil(fraction * n))
    if n_val < 1 or n - n_val < 1:
        raise ValueError(
            f"validation_fraction={fraction} of {n} samples leaves no validation or no training rows; "
            "use more data or another fraction."
        )
    order = rng.permutation(n)
    train, val = np.sort(order[n_val:]), np.sort(order[:n_val])
    if isinstance(X, CSR):
        X_train, X_val = X.take(train), X.take(val)
    else:
        X_train, X_val = X[train], X[val]
    if not (w[train] > 0).any() or not (w[val] > 0).any():
        raise ValueError(
            f"validation_fraction={fraction} leaves the {'training' if not (w[train] > 0).any() else 'validation'} "
            "rows with zero total sample_weight; give validation data explicitly or use another seed or fraction."
        )
    return (X_train, Y[train], w[train]), (X_val, Y[val], w[val])


class _Trainer:
    """Runs epochs of one network with one optimizer state, over preallocated workspaces."""

    def __init__(self, engine, params, data, batch_size, alpha, state, record_norms):
        self.engine, self.params = engine, params
        self.X, self.Y, self.w = data
        self.alpha = alpha
        self.state = state
        self.record_norms = bool(record_norms)
        self.nb = min(batch_size, self.X.shape[0])
        dtype = params.dtype
        n_in, n_out = self.X.shape[1], self.Y.shape[1]
        sparse = isinstance(self.X, CSR)  # its batches are read in place
        self.batch = (
            np.empty(0 if sparse else self.nb * n_in, dtype=dtype),
            np.empty(self.nb * n_out, dtype=dtype),
            np.empty(self.nb, dtype=dtype),
        )
        self.workspace = engine.workspace(self.nb, dtype)
        self.grads = np.empty_like(params)
        self.snapshot = np.empty_like(params)
        self.metric_code = engine.metric_code
        squared_error = self.metric_code == _codes.METRIC_SQUARED_ERROR
        self.metric_acc = np.zeros(n_out if squared_error else 1)
        self.norms_acc = np.zeros(engine.layout.n_layers)
        self.sst = total_squares(self.Y, self.w) if squared_error else None
        self.total_weight = float(np.sum(self.w, dtype=np.float64))
        # The optimizer state as it was before the epoch running, restored with the parameters if it diverges.
        self.saved_state = (np.empty_like(state.state1), np.empty_like(state.state2), np.empty_like(state.step))

    def run_epoch(self, order):
        """Train one epoch over the rows in ``order``; return (loss, lr, training metric, norms, seconds)."""
        params, state = self.params, self.state
        optimizer = state.optimizer
        lr = optimizer.schedule.rate(state.schedule_state, state.epochs_done, state.samples_seen)
        hyper = optimizer.hyperparameters(lr, self.alpha)
        self.metric_acc.fill(0)
        self.norms_acc.fill(0)
        np.copyto(self.snapshot, params)
        for saved, now in zip(self.saved_state, (state.state1, state.state2, state.step), strict=True):
            np.copyto(saved, now)
        start = time.perf_counter()
        loss = self.engine.train_epoch(
            self.X, self.Y, self.w, order, self.nb, (optimizer.code, hyper),
            (params, self.grads, state.state1, state.state2), state.step, self.workspace, self.batch,
            (self.metric_acc, self.norms_acc), self.record_norms, self.total_weight,
        )  # fmt: skip
        seconds = time.perf_counter() - start
        if not (math.isfinite(loss) and all_finite(params)):
            self._diverged(f"the loss became {loss} or a parameter became non-finite", lr)
        # Every epoch visits every row once, so the total weight is the same each time.
        weight = self.total_weight if len(order) == len(self.w) else float(np.sum(self.w[order]))
        if self.metric_code == _codes.METRIC_SQUARED_ERROR:
            metric = r2_from_squares(self.metric_acc, self.sst)
        else:
            metric = float(self.metric_acc[0] / weight)
        n_batches = -(-len(order) // self.nb)
        norms = self.norms_acc / n_batches if self.record_norms else None
        state.epochs_done += 1
        state.samples_seen += len(order)
        self.last_rows, self.last_lr = len(order), lr
        return loss, lr, metric, norms, seconds

    def _diverged(self, what, lr):
        """Put the parameters and the optimizer state back as they were before this epoch, and raise."""
        state = self.state
        np.copyto(self.params, self.snapshot)
        state.state1[...], state.state2[...], state.step[...] = self.saved_state
        penalty = f", a smaller alpha (it was {self.alpha:.3g})" if self.alpha else ""
        raise TrainingDivergedError(
            f"fit diverged in epoch {state.epochs_done + 1}: {what}. The parameters are restored to their values "
            f"before that epoch; try a smaller learning rate (lr was {lr:.3g}){penalty} or scale the inputs."
        )

    def undo_epoch(self, what):
        """Declare the epoch just run diverged after all (its validation outputs overflowed, say), and raise."""
        self.state.epochs_done -= 1
        self.state.samples_seen -= self.last_rows
        self._diverged(what, self.last_lr)


def _new_history(metric_code):
    return History(metric_name="r2" if metric_code == _codes.METRIC_SQUARED_ERROR else "accuracy")


def fit(
    engine, params, data, state, rng, *, epochs, batch_size, alpha, shuffle, validation, evaluate, stopper, tol,
    n_iter_no_change, callbacks, verbose, record_norms,
):  # fmt: skip
    """Run the epochs of :meth:`Model.fit` (which checks the arguments and documents them); return the History.

    ``data`` and ``validation`` are ``(X, Y, w)`` triples in the kernels' form (``validation``'s ``w`` may be None),
    ``evaluate(X, Y, w, name)`` returns the outputs and loss of validation data, and ``state`` is the
    :class:`TrainState` the epochs advance (left as it was before an epoch that diverges).
    """
    trainer = _Trainer(engine, params, data, batch_size, alpha, state, record_norms)
    schedule = state.optimizer.schedule
    history = _new_history(trainer.metric_code)
    progress = Progress(verbose, epochs)
    best_params = None
    if stopper is not None:
        plateau = Plateau(stopper.patience, stopper.min_delta, rule="keras")
    if tol is not None:
        tol_plateau = Plateau(n_iter_no_change + 1, tol)
    n_rows = data[0].shape[0]
    shuffle = _order_matters(shuffle, trainer)
    unshuffled = None if callable(shuffle) or shuffle else np.arange(n_rows, dtype=np.int64)
    try:
        for epoch in range(1, epochs + 1):
            order = _epoch_order(rng, n_rows, shuffle, epoch - 1, unshuffled)
            loss, lr, metric, norms, seconds = trainer.run_epoch(order)
            history.loss.append(loss)
            history.metric.append(metric)
            history.lr.append(lr)
            history.seconds.append(seconds)
            if norms is not None:
                history.grad_norms.append(norms)
            logs = {"loss": loss, history.metric_name: metric}
            if validation is not None:
                X_val, Y_val, w_val = validation
                try:
                    A_val, val_loss = evaluate(X_val, Y_val, w_val, "validation X")
                except ValueError as exc:  # the validation outputs overflowed: the epoch diverged
                    trainer.undo_epoch(f"the outputs on the validation data are not finite ({exc})")
                w_metric = np.ones(len(Y_val)) if w_val is None else w_val
                val_metric = metric_value(trainer.metric_code, A_val, Y_val, w_metric)
                history.val_loss.append(val_loss)
                history.val_metric.append(val_metric)
                logs.update({"val_loss": val_loss, f"val_{history.metric_name}": val_metric})
            logs["lr"] = lr
            progress.update(epoch, logs)

            if stopper is not None:
                if plateau.update(logs["val_loss"] if stopper.monitor == "val_loss" else loss):
                    history.best_epoch = epoch
                    if stopper.restore_best_weights:
                        best_params = params.copy()
                if plateau.exhausted:
                    history.stop_reason = "early_stopping"
            if tol is not None and history.stop_reason is None:
                tol_plateau.update(loss)
                if tol_plateau.exhausted:
                    history.stop_reason = "tol"
            if history.stop_reason is None and schedule.observe(state.schedule_state, logs.get("val_loss", loss)):
                history.stop_reason = "schedule"
            for callback in callbacks:
                if callback(epoch, dict(logs)) and history.stop_reason is None:
                    history.stop_reason = "callback"
            if history.stop_reason is not None:
                break
    finally:
        progress.close()
    if best_params is not None:
        np.copyto(params, best_params)
    else:
        history.best_epoch = None
    return history


def partial_fit(engine, params, data, state, rng, *, batch_size, alpha, shuffle):
    """Run the one pass of :meth:`Model.partial_fit` (documented there); return its History."""
    trainer = _Trainer(engine, params, data, batch_size, alpha, state, False)
    order = _epoch_order(rng, data[0].shape[0], _order_matters(shuffle, trainer), state.epochs_done)
    loss, lr, metric, _, seconds = trainer.run_epoch(order)
    state.optimizer.schedule.observe(state.schedule_state, loss)  # an Adaptive schedule decays between passes too
    history = _new_history(trainer.metric_code)
    history.loss.append(loss)
    history.metric.append(metric)
    history.lr.append(lr)
    history.seconds.append(seconds)
    return history
