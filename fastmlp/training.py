"""Training: the Python loop over epochs around the compiled epoch kernel.

Python decides, once per epoch, the learning rate, the batch order, early stopping and what to record; one compiled
call (:func:`fastmlp._jit.train.train_epoch`) runs every batch of the epoch: gather, forward, backward, update.
"""

import math
import numbers
import sys
import time
from dataclasses import dataclass, field

import numpy as np

from . import _validation as v
from ._jit import train as _train
from ._jit.backward import SMALL_LAYER_WEIGHTS
from .optimizers import resolve_optimizer
from .schedules import Cosine


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
        if monitor not in ("val_loss", "loss"):
            raise ValueError(f"monitor must be 'val_loss' or 'loss'; got {monitor!r}.")
        self.monitor = monitor
        self.patience = v.check_int(patience, "patience", 1)
        self.min_delta = v.check_nonnegative_float(min_delta, "min_delta")
        self.restore_best_weights = bool(restore_best_weights)

    def __repr__(self):
        return (
            f"EarlyStopping(monitor={self.monitor!r}, patience={self.patience}, min_delta={self.min_delta}, "
            f"restore_best_weights={self.restore_best_weights})"
        )


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
    def fresh(cls, model, optimizer, planned_epochs):
        """Zeroed state for ``optimizer`` on ``model``."""
        size = model.n_params
        state1 = np.zeros(size if optimizer.n_states >= 1 else 0, dtype=model.dtype)
        state2 = np.zeros(size if optimizer.n_states >= 2 else 0, dtype=model.dtype)
        return cls(
            optimizer=optimizer,
            state1=state1,
            state2=state2,
            step=np.zeros(1, dtype=np.int64),
            schedule_state=optimizer.schedule.start(optimizer.lr, planned_epochs),
        )


# ---------------------------------------------------------------------------------------------------------------
# Checks of fit's arguments


def check_sample_weight(sample_weight, n_rows, dtype, name="sample_weight"):
    """Return row weights as a float array of length ``n_rows`` (ones when None)."""
    if sample_weight is None:
        return np.ones(n_rows, dtype=dtype)
    w = v.as_array(sample_weight, name)
    if w.shape != (n_rows,):
        raise ValueError(f"{name} must have shape ({n_rows},), one weight per sample of X; got {w.shape}.")
    w = v.to_kernel_array(w, dtype)
    v.assert_all_finite(w, name)
    if (w < 0).any():
        raise ValueError(f"{name} must be >= 0; got a negative weight.")
    if not (w > 0).any():
        raise ValueError(f"{name} must have at least one positive weight; all weights are zero.")
    return w


def class_labels(model, y):
    """Integer class labels of the targets of a classifier with one label per row, or raise ValueError."""
    y = np.asarray(y)
    if model.output == "softmax":
        return y.astype(np.intp) if y.ndim == 1 else np.asarray(y).argmax(axis=1)
    if model.output == "sigmoid" and model.sizes[-1] == 1:
        return (y.reshape(-1) >= 0.5).astype(np.intp)
    raise ValueError(
        "class_weight needs a classifier with one label per row: output='softmax', or output='sigmoid' with one "
        f"output; this model has output={model.output!r} with {model.sizes[-1]} output(s)."
    )


def check_class_weight(model, class_weight, y):
    """Return per-row weights from ``class_weight`` ("balanced" or {class: weight}), or None."""
    if class_weight is None:
        return None
    labels = class_labels(model, y)
    n_classes = max(model.sizes[-1], 2)
    if isinstance(class_weight, str):
        if class_weight != "balanced":
            raise ValueError(f"class_weight must be 'balanced', a dict or None; got {class_weight!r}.")
        counts = np.bincount(labels, minlength=n_classes)
        present = counts > 0
        table = np.zeros(n_classes)
        table[present] = len(labels) / (present.sum() * counts[present])
    elif isinstance(class_weight, dict):
        table = np.ones(n_classes)
        for label, weight in class_weight.items():
            if isinstance(label, bool) or not isinstance(label, numbers.Integral) or not 0 <= label < n_classes:
                raise ValueError(f"class_weight keys must be class labels in [0, {n_classes - 1}]; got {label!r}.")
            if isinstance(weight, bool) or not isinstance(weight, numbers.Real) or not (weight >= 0 and weight < np.inf):
                raise ValueError(f"class_weight values must be finite numbers >= 0; got {weight!r} for {label}.")
            table[label] = weight
    else:
        raise TypeError(f"class_weight must be 'balanced', a dict or None; got {type(class_weight).__name__}.")
    return table[labels]


def training_data(model, X, y, sample_weight, class_weight):
    """Validate and convert the training data: ``(X, Y, w)`` as kernel arrays, ``w`` with a positive sum."""
    X = model._kernel_inputs(X)
    Y = model._targets(y, X.shape[0])
    w = check_sample_weight(sample_weight, X.shape[0], model.dtype)
    extra = check_class_weight(model, class_weight, y)
    if extra is not None:
        w = v.to_kernel_array(w * extra, model.dtype)
        if not (w > 0).any():
            raise ValueError("class_weight and sample_weight leave every row with weight 0.")
    return X, Y, w


def check_validation(model, validation, validation_fraction):
    """Check the two ways to give validation data; return (validation tuple or None, fraction or None)."""
    if validation is not None and validation_fraction is not None:
        raise ValueError("give validation=(X_val, y_val) or validation_fraction, not both.")
    if validation is not None:
        if not isinstance(validation, tuple | list) or len(validation) != 2:
            raise ValueError("validation must be a pair (X_val, y_val).")
    if validation_fraction is not None:
        if isinstance(validation_fraction, bool) or not isinstance(validation_fraction, numbers.Real):
            raise TypeError(f"validation_fraction must be a number in (0, 1); got {validation_fraction!r}.")
        if not 0 < validation_fraction < 1:
            raise ValueError(f"validation_fraction must lie in (0, 1); got {validation_fraction}.")
    return validation, validation_fraction


def check_early_stopping(early_stopping, has_validation):
    """Return an :class:`EarlyStopping` or None from False/True/an instance."""
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


def check_callbacks(callbacks):
    """Return the callbacks as a list of callables ``f(epoch, logs)``."""
    if callbacks is None:
        return []
    if callable(callbacks) or hasattr(callbacks, "on_epoch_end"):
        callbacks = [callbacks]
    result = []
    for callback in callbacks:
        if hasattr(callback, "on_epoch_end"):
            result.append(callback.on_epoch_end)
        elif callable(callback):
            result.append(callback)
        else:
            raise TypeError(f"callbacks must be callables f(epoch, logs) or have on_epoch_end; got {callback!r}.")
    return result


# ---------------------------------------------------------------------------------------------------------------
# Metrics


def metric_code(model):
    """What the epoch kernel accumulates for the model's training metric."""
    if model.output == "softmax":
        return _train.ACCURACY_ARGMAX
    if model.output == "sigmoid":
        return _train.ACCURACY_THRESHOLD
    return _train.SQUARED_ERROR


def total_squares(Y, w):
    """Weighted total sum of squares of each target column about its weighted mean (R^2's denominator)."""
    deviations = Y.astype(np.float64)  # float32 squares of large targets would overflow
    w = w.astype(np.float64)
    # einsum, not w @ deviations: a matrix product would wake NumPy's BLAS threads, which then spin for a while on a
    # core that the kernels' own BLAS (SciPy's) needs.
    deviations -= np.einsum("i,ij->j", w, deviations) / w.sum()
    deviations *= deviations
    return np.einsum("i,ij->j", w, deviations)


def r2_from_squares(sse, sst):
    """R^2 averaged over outputs; an output with constant targets scores 1 if predicted exactly, else 0."""
    scores = np.where(sst > 0, 1 - sse / np.where(sst > 0, sst, 1), np.where(sse == 0, 1.0, 0.0))
    return float(np.mean(scores))


def metric_value(code, A, Y, w):
    """The metric of outputs ``A`` against targets ``Y`` with row weights ``w`` (NumPy, for validation data)."""
    if code == _train.ACCURACY_ARGMAX:
        right = A.argmax(axis=1) == Y.argmax(axis=1)
    elif code == _train.ACCURACY_THRESHOLD:
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


def _epoch_order(rng, n, shuffle):
    """The rows of one epoch, in the order to visit them (int64, as the kernel expects)."""
    if shuffle:
        return rng.permutation(n).astype(np.int64, copy=False)
    return np.arange(n, dtype=np.int64)


def _split_validation(X, Y, w, fraction, rng):
    n = X.shape[0]
    n_val = int(math.ceil(fraction * n))
    if n_val < 1 or n - n_val < 1:
        raise ValueError(
            f"validation_fraction={fraction} of {n} samples leaves no validation or no training rows; "
            "use more data or another fraction."
        )
    order = rng.permutation(n)
    train, val = np.sort(order[n_val:]), np.sort(order[:n_val])
    if not (w[train] > 0).any() or not (w[val] > 0).any():
        raise ValueError(
            f"validation_fraction={fraction} leaves the {'training' if not (w[train] > 0).any() else 'validation'} "
            "rows with zero total sample_weight; give validation data explicitly or use another seed or fraction."
        )
    return X[train], Y[train], w[train], (X[val], Y[val], w[val])


class _Trainer:
    """Runs epochs of one model with one optimizer state, over preallocated workspaces."""

    def __init__(self, model, X, Y, w, batch_size, alpha, state, record_norms):
        self.model, self.X, self.Y, self.w = model, X, Y, w
        self.alpha = alpha
        self.state = state
        self.record_norms = bool(record_norms)
        self.nb = min(batch_size, X.shape[0])
        lay, dtype = model._layout, model.dtype
        self.xb = np.empty(self.nb * model.sizes[0], dtype=dtype)
        self.yb = np.empty(self.nb * model.sizes[-1], dtype=dtype)
        self.wb = np.empty(self.nb, dtype=dtype)
        self.zs, self.acts, self.dlts = (np.empty(self.nb * lay.width_sum, dtype=dtype) for _ in range(3))
        self.wt = np.empty(SMALL_LAYER_WEIGHTS, dtype=dtype)
        self.grads = np.empty_like(model.params)
        self.snapshot = np.empty_like(model.params)
        self.metric_code = metric_code(model)
        self.metric_acc = np.zeros(model.sizes[-1] if self.metric_code == _train.SQUARED_ERROR else 1)
        self.norms_acc = np.zeros(model.n_layers)
        self.sst = total_squares(Y, w) if self.metric_code == _train.SQUARED_ERROR else None
        self.total_weight = float(np.sum(w, dtype=np.float64))

    def run_epoch(self, order):
        """Train one epoch over the rows in ``order``; return (loss, lr, training metric, norms, seconds)."""
        model, state = self.model, self.state
        optimizer = state.optimizer
        lr = optimizer.schedule.rate(state.schedule_state, state.epochs_done, state.samples_seen)
        hyper = optimizer.hyperparameters(lr, self.alpha)
        self.metric_acc[:] = 0
        self.norms_acc[:] = 0
        # Optimizer state is restored with the parameters when an epoch diverges: snapshot both.
        saved_state = (state.state1.copy(), state.state2.copy(), state.step.copy())
        np.copyto(self.snapshot, model.params)
        start = time.perf_counter()
        loss = _train.train_epoch(
            self.X, self.Y, self.w, order, self.nb,
            optimizer.code, hyper, model.params, self.grads, state.state1, state.state2, state.step,
            *model._layout_args(), model._loss_code, model.bias,
            self.metric_code, self.record_norms,
            self.xb, self.yb, self.wb, self.zs, self.acts, self.dlts, self.wt, self.metric_acc, self.norms_acc,
        )  # fmt: skip
        seconds = time.perf_counter() - start
        if not (np.isfinite(loss) and v.all_finite_array(model.params)):
            np.copyto(model.params, self.snapshot)
            state.state1[...], state.state2[...], state.step[...] = saved_state
            epoch = state.epochs_done + 1
            raise TrainingDivergedError(
                f"fit diverged in epoch {epoch}: the loss became {loss} or a parameter became non-finite. "
                f"The parameters are restored to their values before that epoch; "
                f"try a smaller learning rate (lr was {lr:.3g}) or scale the inputs."
            )
        # Every epoch visits every row once, so the total weight is the same each time.
        weight = self.total_weight if len(order) == len(self.w) else float(np.sum(self.w[order]))
        if self.metric_code == _train.SQUARED_ERROR:
            metric = r2_from_squares(self.metric_acc, self.sst)
        else:
            metric = float(self.metric_acc[0] / weight)
        n_batches = -(-len(order) // self.nb)
        norms = self.norms_acc / n_batches if self.record_norms else None
        state.epochs_done += 1
        state.samples_seen += len(order)
        return float(loss), lr, metric, norms, seconds


def check_fit_flags(shuffle, verbose, record_gradient_norms):
    """The boolean options of fit."""
    v.check_bool(shuffle, "shuffle")
    v.check_bool(record_gradient_norms, "record_gradient_norms")
    if not isinstance(verbose, bool | int):
        raise TypeError(f"verbose must be True or False; got {verbose!r}.")


def fit(
    model, X, y, *, epochs, batch_size, optimizer, shuffle, validation, validation_fraction, early_stopping,
    sample_weight, class_weight, alpha, tol, n_iter_no_change, callbacks, verbose, seed, record_gradient_norms,
):  # fmt: skip
    """The body of :meth:`Model.fit` (documented there)."""
    epochs = v.check_int(epochs, "epochs", 0)
    batch_size = v.check_int(batch_size, "batch_size", 1)
    check_fit_flags(shuffle, verbose, record_gradient_norms)
    optimizer = resolve_optimizer(optimizer)
    alpha = check_alpha(alpha)
    if tol is not None:
        if isinstance(tol, bool) or not isinstance(tol, numbers.Real) or not tol >= 0:
            raise ValueError(f"tol must be None or a number >= 0; got {tol!r}.")
        tol = float(tol)
    n_iter_no_change = v.check_int(n_iter_no_change, "n_iter_no_change", 1)
    validation, validation_fraction = check_validation(model, validation, validation_fraction)
    stopper = check_early_stopping(early_stopping, validation is not None or validation_fraction is not None)
    callbacks = check_callbacks(callbacks)
    rng = model._rng if seed is None else v.check_seed(seed)
    v.assert_all_finite(model.params, "the model's params")

    X, Y, w = training_data(model, X, y, sample_weight, class_weight)
    val = None
    if validation_fraction is not None:
        X, Y, w, val = _split_validation(X, Y, w, validation_fraction, rng)
    elif validation is not None:
        X_val = model._kernel_inputs(validation[0], name="validation X")  # checked before any epoch runs
        val = (X_val, model._targets(validation[1], X_val.shape[0], name="validation y"), None)

    state = TrainState.fresh(model, optimizer, epochs)
    trainer = _Trainer(model, X, Y, w, batch_size, alpha, state, record_gradient_norms)
    history = History(metric_name="r2" if trainer.metric_code == _train.SQUARED_ERROR else "accuracy")
    progress = Progress(verbose, epochs)
    best = math.inf
    best_params = None
    wait = 0
    tol_best, tol_count = math.inf, 0
    try:
        for epoch in range(1, epochs + 1):
            order = _epoch_order(rng, X.shape[0], shuffle)
            loss, lr, metric, norms, seconds = trainer.run_epoch(order)
            history.loss.append(loss)
            history.metric.append(metric)
            history.lr.append(lr)
            history.seconds.append(seconds)
            if norms is not None:
                history.grad_norms.append(norms)
            logs = {"loss": loss, history.metric_name: metric}
            if val is not None:
                X_val, Y_val, w_val = val
                A_val, val_loss = model._output_and_loss(X_val, Y_val, w_val, name="validation X")
                val_metric = metric_value(trainer.metric_code, A_val, Y_val, np.ones(len(Y_val)) if w_val is None else w_val)
                history.val_loss.append(val_loss)
                history.val_metric.append(val_metric)
                logs.update({"val_loss": val_loss, f"val_{history.metric_name}": val_metric})
            logs["lr"] = lr
            progress.update(epoch, logs)
            monitored = logs.get("val_loss", loss)

            if stopper is not None:
                value = logs["val_loss"] if stopper.monitor == "val_loss" else loss
                if value < best - stopper.min_delta:
                    best, wait = value, 0
                    history.best_epoch = epoch
                    if stopper.restore_best_weights:
                        best_params = model.params.copy()
                else:
                    wait += 1
                    if wait >= stopper.patience:
                        history.stop_reason = "early_stopping"
            if tol is not None and history.stop_reason is None:
                tol_count = tol_count + 1 if loss > tol_best - tol else 0
                tol_best = min(tol_best, loss)
                if tol_count > n_iter_no_change:
                    history.stop_reason = "tol"
            if history.stop_reason is None and optimizer.schedule.observe(state.schedule_state, monitored):
                history.stop_reason = "schedule"
            for callback in callbacks:
                if callback(epoch, dict(logs)) and history.stop_reason is None:
                    history.stop_reason = "callback"
            if history.stop_reason is not None:
                break
    finally:
        progress.close()
    if best_params is not None:
        np.copyto(model.params, best_params)
    else:
        history.best_epoch = None
    model._train_state = state
    return history


def partial_fit(model, X, y, *, batch_size, optimizer, sample_weight, class_weight, alpha, shuffle, seed):
    """The body of :meth:`Model.partial_fit` (documented there)."""
    batch_size = v.check_int(batch_size, "batch_size", 1)
    check_fit_flags(shuffle, False, False)
    alpha = check_alpha(alpha)
    rng = model._rng if seed is None else v.check_seed(seed)
    state = model._train_state
    if state is None or (optimizer is not None and resolve_optimizer(optimizer) != state.optimizer):
        state = TrainState.fresh(model, resolve_optimizer(optimizer), 0)
    schedule = state.optimizer.schedule
    if isinstance(schedule, Cosine) and schedule.epochs is None and state.schedule_state["epochs"] == 0:
        raise ValueError(
            "a Cosine schedule in partial_fit needs its length: use Cosine(epochs=...), the number of passes planned."
        )
    v.assert_all_finite(model.params, "the model's params")
    X, Y, w = training_data(model, X, y, sample_weight, class_weight)
    trainer = _Trainer(model, X, Y, w, batch_size, alpha, state, False)
    order = _epoch_order(rng, X.shape[0], shuffle)
    loss, lr, metric, _, seconds = trainer.run_epoch(order)
    schedule.observe(state.schedule_state, loss)  # an Adaptive schedule decays between passes too
    model._train_state = state
    history = History(metric_name="r2" if trainer.metric_code == _train.SQUARED_ERROR else "accuracy")
    history.loss.append(loss)
    history.metric.append(metric)
    history.lr.append(lr)
    history.seconds.append(seconds)
    return history


def check_alpha(alpha):
    """The L2 penalty: a finite number >= 0."""
    if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real) or not (0 <= alpha < np.inf):
        raise ValueError(f"alpha must be a finite number >= 0; got {alpha!r}.")
    return float(alpha)
