"""fastmlp: a small, fast multi-layer perceptron whose hot paths are compiled with Numba.

The public API:

- :class:`Model`: build, predict, inspect (forward pass, gradients) and train a network;
- optimizers :class:`SGD`, :class:`Adam`, :class:`AdamW`; schedules :class:`Constant`, :class:`InverseScaling`,
  :class:`StepDecay`, :class:`Cosine`, :class:`Adaptive`; :class:`EarlyStopping`; the :class:`History` of a fit;
- :func:`check_gradients`: backpropagation against finite differences;
- :meth:`Model.save` and :func:`load`: safe, versioned model files (:mod:`fastmlp.io`);
- :func:`set_num_threads` and :func:`get_num_threads`: the BLAS thread pools behind the kernels, and
  :func:`blas_info`: which BLAS that is;
- :func:`make_spirals`: the demo's generated dataset;
- :class:`MLPRegressor` and :class:`MLPClassifier`: scikit-learn estimators (need scikit-learn, loaded on first use,
  so that ``import fastmlp`` does not need scikit-learn);
- :func:`~fastmlp.onnx.to_onnx`: a model or fitted estimator as an ONNX model (needs onnx, loaded on first use).
"""

# First, before any kernel runs: Numba's set-up would otherwise import scipy.linalg, a fifth of a short process.
from . import _numba_startup  # noqa: F401
from ._version import __version__
from .datasets import make_spirals
from .gradcheck import GradientCheck, check_gradients
from .io import ModelFileError, load
from .model import ForwardTrace, Gradients, Model
from .optimizers import SGD, Adam, AdamW, Optimizer
from .schedules import Adaptive, Constant, Cosine, InverseScaling, Schedule, StepDecay
from .threads import blas_info, get_num_threads, set_num_threads
from .training import EarlyStopping, History, TrainingDivergedError, TrainingSummary

_ESTIMATORS = ("MLPClassifier", "MLPRegressor")
_LAZY = (*_ESTIMATORS, "to_onnx")


def __getattr__(name):
    # The scikit-learn estimators load on first use, so that `import fastmlp` needs no scikit-learn.
    if name in _ESTIMATORS:
        try:
            from . import estimators
        except ImportError as exc:
            if exc.name is None or not exc.name.startswith("sklearn"):
                raise
            raise ImportError(
                f"fastmlp.{name} needs scikit-learn, which is not installed: pip install 'fastmlp[sklearn]'"
            ) from exc
        return getattr(estimators, name)
    if name == "to_onnx":
        # fastmlp.onnx imports onnx only when called, and then says how to install it if it is missing.
        from .onnx import to_onnx

        return to_onnx
    raise AttributeError(f"module 'fastmlp' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "SGD",
    "Adam",
    "AdamW",
    "Adaptive",
    "Constant",
    "Cosine",
    "EarlyStopping",
    "ForwardTrace",
    "GradientCheck",
    "Gradients",
    "History",
    "InverseScaling",
    "MLPClassifier",
    "MLPRegressor",
    "ModelFileError",
    "Model",
    "Optimizer",
    "Schedule",
    "StepDecay",
    "TrainingDivergedError",
    "TrainingSummary",
    "blas_info",
    "check_gradients",
    "get_num_threads",
    "load",
    "make_spirals",
    "set_num_threads",
    "to_onnx",
    "__version__",
]
