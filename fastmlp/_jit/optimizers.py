"""In-place parameter updates over the flat parameter and gradient vectors."""

from ._config import jit

_KERNEL_SALT = "94469ad3774148d95992af0e3dbc2f397aeb690973f0faf244e6e8ce76961454"


@jit
def sgd_step(params, grads, lr):
    """Gradient descent step ``params -= lr * grads``. ``params`` is modified in place."""
    for i in range(params.shape[0]):
        params[i] -= lr * grads[i]
