"""Optimizers: small configuration objects. The update itself runs compiled, inside the epoch kernel.

Their state (momentum, Adam's moments and step count) lives with the model being trained, in vectors laid out like
``model.params``, so one optimizer object can be reused for many fits.
"""


import numpy as np

from ._codes import HYPER_INDEX, N_HYPER, OPTIMIZER_CODES
from ._settings import Settings
from ._validation import check_bool, check_fraction, check_nonnegative_float, check_positive_float
from .schedules import resolve_schedule

__all__ = ["SGD", "Adam", "AdamW", "Optimizer", "resolve_optimizer"]


class Optimizer(Settings):
    """Base class of the optimizers (not used directly)."""

    code = -1
    n_states = 0

    def hyperparameters(self, lr, alpha):
        """Return the float64 array the kernel reads, for this epoch's ``lr`` and the L2 penalty ``alpha``."""
        hyper = np.zeros(N_HYPER)
        hyper[HYPER_INDEX["lr"]] = lr
        hyper[HYPER_INDEX["alpha"]] = alpha
        return hyper


class SGD(Optimizer):
    """Stochastic gradient descent, with optional (Nesterov) momentum.

    ``v <- momentum * v - lr * g`` then ``p <- p + v`` (Nesterov: ``p <- p + momentum * v - lr * g``), as in
    scikit-learn; with ``momentum=0`` this is ``p <- p - lr * g``.

    Parameters
    ----------
    lr : float, default=0.01
        Learning rate, > 0.
    momentum : float, default=0.0
        In [0, 1).
    nesterov : bool, default=False
        Use Nesterov's momentum.
    schedule : str or Schedule, default="constant"
        "constant", "invscaling", "step", "cosine", "adaptive", or a :mod:`fastmlp.schedules` instance.
    """

    code = OPTIMIZER_CODES["sgd"]

    def __init__(self, lr=0.01, momentum=0.0, nesterov=False, schedule="constant"):
        self.lr = check_positive_float(lr, "lr")
        self.momentum = check_fraction(momentum, "momentum")
        self.nesterov = check_bool(nesterov, "nesterov")
        self.schedule = resolve_schedule(schedule)

    @property
    def n_states(self):
        """Number of state vectors: the velocity when momentum is used."""
        return 1 if self.momentum > 0 else 0

    def hyperparameters(self, lr, alpha):
        """See :meth:`Optimizer.hyperparameters`."""
        hyper = super().hyperparameters(lr, alpha)
        hyper[HYPER_INDEX["momentum"]] = self.momentum
        hyper[HYPER_INDEX["nesterov"]] = float(self.nesterov)
        return hyper


class Adam(Optimizer):
    """Adam (Kingma & Ba, 2015), with bias-corrected moments.

    ``m <- beta1 m + (1 - beta1) g``, ``v <- beta2 v + (1 - beta2) g^2``,
    ``p <- p - lr * m_hat / (sqrt(v_hat) + eps)`` with ``m_hat = m / (1 - beta1^t)``, ``v_hat = v / (1 - beta2^t)``.

    Parameters
    ----------
    lr : float, default=0.001
        Learning rate, > 0.
    beta1, beta2 : float, default=0.9, 0.999
        Moment decay rates, in [0, 1).
    eps : float, default=1e-8
        Added to the denominator, > 0.
    schedule : str or Schedule, default="constant"
        As for :class:`SGD`.
    """

    code = OPTIMIZER_CODES["adam"]
    n_states = 2

    def __init__(self, lr=0.001, beta1=0.9, beta2=0.999, eps=1e-8, schedule="constant"):
        self.lr = check_positive_float(lr, "lr")
        self.beta1 = check_fraction(beta1, "beta1")
        self.beta2 = check_fraction(beta2, "beta2")
        self.eps = check_positive_float(eps, "eps")
        self.schedule = resolve_schedule(schedule)

    def hyperparameters(self, lr, alpha):
        """See :meth:`Optimizer.hyperparameters`."""
        hyper = super().hyperparameters(lr, alpha)
        hyper[HYPER_INDEX["beta1"]] = self.beta1
        hyper[HYPER_INDEX["beta2"]] = self.beta2
        hyper[HYPER_INDEX["eps"]] = self.eps
        return hyper


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter, 2019).

    Before each Adam update the weights (not the biases) shrink: ``W <- W - lr * weight_decay * W``.

    Parameters
    ----------
    lr, beta1, beta2, eps, schedule
        As for :class:`Adam`.
    weight_decay : float, default=0.01
        Decay rate, >= 0.
    """

    code = OPTIMIZER_CODES["adamw"]

    def __init__(self, lr=0.001, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.01, schedule="constant"):
        super().__init__(lr=lr, beta1=beta1, beta2=beta2, eps=eps, schedule=schedule)
        self.weight_decay = check_nonnegative_float(weight_decay, "weight_decay", finite=True)

    def hyperparameters(self, lr, alpha):
        """See :meth:`Optimizer.hyperparameters`."""
        hyper = super().hyperparameters(lr, alpha)
        hyper[HYPER_INDEX["weight_decay"]] = self.weight_decay
        return hyper


OPTIMIZERS = {"sgd": SGD, "adam": Adam, "adamw": AdamW}


def resolve_optimizer(optimizer):
    """Return an :class:`Optimizer` from None (SGD's defaults), a name or an instance."""
    if optimizer is None:
        return SGD()
    if isinstance(optimizer, Optimizer):
        return optimizer
    if isinstance(optimizer, str) and optimizer.lower() in OPTIMIZERS:
        return OPTIMIZERS[optimizer.lower()]()
    raise ValueError(f"optimizer must be one of {sorted(OPTIMIZERS)} or an Optimizer instance; got {optimizer!r}.")
