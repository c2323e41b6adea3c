"""Learning-rate schedules: how an optimizer's ``lr`` changes from epoch to epoch.

A schedule is set on the optimizer (``fm.SGD(lr=0.1, schedule=fm.Cosine())`` or ``schedule="cosine"``) and is
applied once per epoch, by Python, between the compiled epochs. Schedules hold configuration only; the state of a
running fit (how many epochs, the best loss so far) lives in the fit.
"""

import math

from ._plateau import Plateau
from ._settings import Settings
from ._validation import check_float_above, check_fraction, check_int, check_nonnegative_float, check_positive_float

__all__ = [
    "Adaptive", "Constant", "Cosine", "InverseScaling", "Schedule", "StepDecay", "inverse_scaling", "resolve_schedule",
]  # fmt: skip


class Schedule(Settings):
    """Base class: a constant learning rate."""

    def start(self, base_lr, epochs):
        """Return the mutable state of one fit: ``base_lr`` and the planned number of ``epochs``."""
        return {"base_lr": base_lr, "epochs": epochs, "scale": 1.0}

    def rate(self, state, epoch, samples_seen):
        """The learning rate for 0-based ``epoch``, after ``samples_seen`` training rows."""
        return state["base_lr"] * state["scale"]

    def observe(self, state, monitored_loss):
        """Record an epoch's monitored loss; return True to ask the fit to stop."""
        return False


class Constant(Schedule):
    """The same learning rate every epoch."""


class InverseScaling(Schedule):
    """scikit-learn's "invscaling": ``lr / (t + 1) ** power_t``, with t the training rows seen before the epoch.

    Parameters
    ----------
    power_t : float, default=0.5
        The exponent, >= 0.
    """

    def __init__(self, power_t=0.5):
        self.power_t = check_nonnegative_float(power_t, "power_t", finite=True)

    def rate(self, state, epoch, samples_seen):
        """See :meth:`Schedule.rate`."""
        return inverse_scaling(state["base_lr"], samples_seen, self.power_t)


def inverse_scaling(base_lr, samples_seen, power_t):
    """``base_lr / (samples_seen + 1) ** power_t``, going to 0 instead of overflowing for large ``power_t``."""
    return base_lr * math.exp(-power_t * math.log(samples_seen + 1))


class StepDecay(Schedule):
    """Multiply the learning rate by ``gamma`` every ``step_size`` epochs.

    Parameters
    ----------
    step_size : int, default=10
        Epochs between two decays, >= 1.
    gamma : float, default=0.1
        Factor applied at each decay, in (0, 1).
    """

    def __init__(self, step_size=10, gamma=0.1):
        self.step_size = check_int(step_size, "step_size", 1)
        self.gamma = check_fraction(gamma, "gamma", low_open=True)

    def rate(self, state, epoch, samples_seen):
        """See :meth:`Schedule.rate`."""
        return state["base_lr"] * self.gamma ** (epoch // self.step_size)


class Cosine(Schedule):
    """Cosine annealing from ``lr`` down to ``min_lr`` over ``epochs`` epochs (then ``min_lr``).

    Parameters
    ----------
    epochs : int or None, default=None
        Length of the decay; None uses the ``epochs`` of the fit.
    min_lr : float, default=0.0
        The final learning rate, >= 0 and at most the optimizer's ``lr`` (checked when a fit starts).
    """

    def __init__(self, epochs=None, min_lr=0.0):
        self.epochs = None if epochs is None else check_int(epochs, "epochs", 1)
        self.min_lr = check_nonnegative_float(min_lr, "min_lr", finite=True)

    def start(self, base_lr, epochs):
        """See :meth:`Schedule.start`; a ``min_lr`` above ``base_lr`` would anneal upwards, and is refused."""
        if self.min_lr > base_lr:
            raise ValueError(
                f"Cosine's min_lr ({self.min_lr:g}) must be at most the optimizer's lr ({base_lr:g}): the schedule "
                "anneals from lr down to min_lr."
            )
        return super().start(base_lr, epochs)

    def rate(self, state, epoch, samples_seen):
        """See :meth:`Schedule.rate`."""
        length = self.epochs or state["epochs"] or 1
        if epoch >= length:
            return self.min_lr
        return self.min_lr + (state["base_lr"] - self.min_lr) * 0.5 * (1 + math.cos(math.pi * epoch / length))


class Adaptive(Schedule):
    """scikit-learn's "adaptive": divide the learning rate by ``factor`` when the loss stops improving.

    After more than ``patience`` consecutive epochs whose monitored loss (the validation loss when the fit has
    validation data, else the training loss) is not below the best so far minus ``tol``, the rate is divided by
    ``factor``. When the rate is already at or below ``min_lr`` the fit stops instead.

    Parameters
    ----------
    factor : float, default=5.0
        Division factor, > 1.
    patience : int, default=10
        scikit-learn's ``n_iter_no_change``, >= 1.
    tol : float, default=1e-4
        Smallest decrease that counts as an improvement, >= 0.
    min_lr : float, default=1e-6
        Rate at which the fit stops rather than decays, > 0.
    """

    def __init__(self, factor=5.0, patience=10, tol=1e-4, min_lr=1e-6):
        self.factor = check_float_above(factor, "factor", 1)
        self.patience = check_int(patience, "patience", 1)
        self.tol = check_nonnegative_float(tol, "tol", finite=True)
        self.min_lr = check_positive_float(min_lr, "min_lr")

    def start(self, base_lr, epochs):
        """See :meth:`Schedule.start`."""
        # scikit-learn decays after more than `patience` epochs without improvement: a plateau of patience + 1.
        return {**super().start(base_lr, epochs), "plateau": Plateau(self.patience + 1, self.tol)}

    def observe(self, state, monitored_loss):
        """See :meth:`Schedule.observe`."""
        plateau = state["plateau"]
        plateau.update(monitored_loss)
        if plateau.exhausted:
            if state["base_lr"] * state["scale"] <= self.min_lr:
                return True
            state["scale"] /= self.factor
            plateau.count = 0
        return False


SCHEDULES = {
    "constant": Constant,
    "invscaling": InverseScaling,
    "step": StepDecay,
    "cosine": Cosine,
    "adaptive": Adaptive,
}


def resolve_schedule(schedule):
    """Return a :class:`Schedule` from a name or an instance."""
    if isinstance(schedule, Schedule):
        return schedule
    if isinstance(schedule, str) and schedule.lower() in SCHEDULES:
        return SCHEDULES[schedule.lower()]()
    raise ValueError(f"schedule must be one of {sorted(SCHEDULES)} or a Schedule instance; got {schedule!r}.")
