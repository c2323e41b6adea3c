"""fastmlp: a small, fast multi-layer perceptron whose hot paths are compiled with Numba.

The public API:

- :class:`Model`: build, predict, inspect (forward pass, gradients) and train a network;
- :func:`check_gradients`: backpropagation against finite differences;
- :func:`make_spirals`: the demo's generated dataset.
"""

from .datasets import make_spirals
from .gradcheck import GradientCheck, check_gradients
from .model import ForwardTrace, Gradients, History, Model, TrainingDivergedError

__version__ = "0.1.0.dev0"

__all__ = [
    "ForwardTrace",
    "GradientCheck",
    "Gradients",
    "History",
    "Model",
    "TrainingDivergedError",
    "check_gradients",
    "make_spirals",
    "__version__",
]
