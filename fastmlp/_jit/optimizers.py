"""In-place parameter updates over the flat parameter and gradient vectors."""

from ._config import jit

_KERNEL_SALT = "b890246e0a2d7d1db2fd9ba676ec4f1a943c1111644d3b87327d6e960fe169b3"


@jit
def sgd_step(params, grads, lr):
    """Gradient descent step ``params -= lr * grads``. ``params`` is modified in place."""
    for i in range(params.shape[0]):
        params[i] -= lr * grads[i]
