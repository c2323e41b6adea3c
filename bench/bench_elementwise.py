"""asv: each activation's elementwise passes over a 10,000 x 32 block, and exp and log, fastmlp beside NumPy.

The compiled loops of ``python -m bench.elementwise`` without the table: each call runs the pass ``PASSES`` times
in one compiled call (fastmlp) or one Python loop of ufuncs (NumPy), so the figure is the pass, not the call.
"""

import numpy as np

from . import elementwise

PASSES = 16  # one refill of the derivative buffer per call, as in bench.elementwise
SHAPE = (10_000, 32)


class Activation:
    """Forward (``g(z)``) and forward plus derivative (``g(z)``, then ``e *= g'(z)``) passes."""

    params = (["relu", "tanh", "sigmoid"], ["float32", "float64"], ["fastmlp", "numpy"])
    param_names = ["activation", "dtype", "implementation"]

    def setup(self, activation, dtype, implementation):
        self.dtype = np.dtype(dtype).type
        self.Z, self.A, self.E, self.E0, self.tmp = elementwise.arrays(activation, SHAPE, self.dtype)
        self.b = np.zeros(SHAPE[1], self.dtype)
        self.code = elementwise.ACTIVATIONS[activation]
        # Compile (or load from the cache) outside the timed region.
        self.time_forward(activation, dtype, implementation)
        self.time_forward_and_derivative(activation, dtype, implementation)

    def time_forward(self, activation, dtype, implementation):
        if implementation == "fastmlp":
            elementwise.forward_passes(PASSES, self.code, False, self.b, self.Z, self.A)
        else:
            elementwise.numpy_passes(PASSES, activation, self.Z, self.A, self.E, self.E0, self.tmp, False)

    def time_forward_and_derivative(self, activation, dtype, implementation):
        if implementation == "fastmlp":
            elementwise.forward_and_derivative_passes(PASSES, self.code, False, self.b, self.Z, self.A, self.E, self.E0)
        else:
            elementwise.numpy_passes(PASSES, activation, self.Z, self.A, self.E, self.E0, self.tmp, True)


class Function:
    """``exp`` and ``log`` (``fastmlp._jit.vecmath.evaluate``) against ``np.exp`` and ``np.log``."""

    params = (["exp", "log"], ["float32", "float64"], ["fastmlp", "numpy"])
    param_names = ["function", "dtype", "implementation"]

    def setup(self, function, dtype, implementation):
        self.dtype = np.dtype(dtype).type
        self.Z, self.A, self.E, self.E0, self.tmp = elementwise.arrays(function, SHAPE, self.dtype)
        self.z, self.a = self.Z.reshape(-1), self.A.reshape(-1)
        self.code = elementwise.vecmath.FUNCTIONS[function]
        self.time_evaluate(function, dtype, implementation)

    def time_evaluate(self, function, dtype, implementation):
        if implementation == "fastmlp":
            elementwise.evaluate_passes(PASSES, self.code, self.z, self.a)
        else:
            elementwise.numpy_passes(PASSES, function, self.Z, self.A, self.E, self.E0, self.tmp, False)
