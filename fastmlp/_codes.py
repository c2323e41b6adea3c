"""The name-to-code tables: how the public names of activations, losses, optimizers and metrics reach the kernels.

Kernels dispatch on small integers (see :mod:`fastmlp._jit`); this module and :mod:`fastmlp._engine` are the only
Python code that imports the kernels' constants. Everything else uses the public names (``"relu"``, ``"adam"``) and
these tables.
"""

from ._jit import activations as _act
from ._jit import losses as _loss
from ._jit import optimizers as _opt
from ._jit import train as _train

__all__ = [
    "HIDDEN_ACTIVATIONS",
    "HYPER_INDEX",
    "LOSS_CODES",
    "METRIC_ACCURACY_ARGMAX",
    "METRIC_ACCURACY_THRESHOLD",
    "METRIC_SQUARED_ERROR",
    "N_HYPER",
    "OPTIMIZER_CODES",
    "OUTPUT_ACTIVATIONS",
    "OUTPUT_LOSSES",
]

HIDDEN_ACTIVATIONS = {
    "identity": _act.ACT_IDENTITY, "sigmoid": _act.ACT_SIGMOID, "tanh": _act.ACT_TANH, "relu": _act.ACT_RELU,
    "leaky_relu": _act.ACT_LEAKY_RELU,
}  # fmt: skip
"""Activation name -> kernel code, for hidden layers."""

OUTPUT_ACTIVATIONS = {
    "identity": _act.ACT_IDENTITY, "sigmoid": _act.ACT_SIGMOID, "softmax": _act.ACT_SOFTMAX, "exp": _act.ACT_EXP,
}  # fmt: skip
"""Activation name -> kernel code, for the output layer."""

# The loss is fixed by the output activation: each pair gives the output delta (A - Y) / m.
OUTPUT_LOSSES = {"identity": "mse", "sigmoid": "binary_crossentropy", "softmax": "crossentropy", "exp": "poisson"}
"""Output activation -> the name of its paired loss."""

LOSS_CODES = {
    "mse": _loss.LOSS_MSE, "binary_crossentropy": _loss.LOSS_BINARY_CROSSENTROPY,
    "crossentropy": _loss.LOSS_CROSSENTROPY, "poisson": _loss.LOSS_POISSON,
}  # fmt: skip
"""Loss name -> kernel code."""

OPTIMIZER_CODES = {
    "sgd": _opt.OPT_SGD, "adam": _opt.OPT_ADAM, "adamw": _opt.OPT_ADAMW, "adam_folded": _opt.OPT_ADAM_FOLDED,
}  # fmt: skip
"""Optimizer name -> kernel code."""

HYPER_INDEX = {
    "lr": _opt.HYPER_LR,
    "momentum": _opt.HYPER_MOMENTUM,
    "nesterov": _opt.HYPER_NESTEROV,
    "beta1": _opt.HYPER_BETA1,
    "beta2": _opt.HYPER_BETA2,
    "eps": _opt.HYPER_EPS,
    "weight_decay": _opt.HYPER_WEIGHT_DECAY,
    "alpha": _opt.HYPER_ALPHA,
}
"""Hyperparameter name -> its index in the float64 array the optimizer kernel reads."""

N_HYPER = _opt.N_HYPER
"""Length of that array."""

# What the epoch kernel accumulates for the training metric of each kind of output.
METRIC_ACCURACY_ARGMAX = _train.METRIC_ACCURACY_ARGMAX
METRIC_ACCURACY_THRESHOLD = _train.METRIC_ACCURACY_THRESHOLD
METRIC_SQUARED_ERROR = _train.METRIC_SQUARED_ERROR
