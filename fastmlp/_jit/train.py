"""One whole training epoch in one compiled call: no Python runs between batches."""

from ._config import jit
from .backward import backward
from .forward import forward
from .optimizers import sgd_step

_KERNEL_SALT = "94469ad3774148d95992af0e3dbc2f397aeb690973f0faf244e6e8ce76961454"


@jit
def gather_rows(src, rows, dst):
    """Copy ``src[rows[i]]`` into ``dst[i]`` for every ``i``. ``dst`` is modified in place."""
    n = src.shape[1]
    for i in range(rows.shape[0]):
        r = rows[i]
        for j in range(n):
            dst[i, j] = src[r, j]


@jit
def sgd_epoch(
    X, Y, order, batch_size, lr, params, grads, sizes, woff, boff, aoff, codes, loss_code, use_bias, xb, yb, zs, acts, dlts
):
    """Run one epoch of minibatch gradient descent and return the epoch's mean loss.

    Batches are consecutive runs of ``batch_size`` indices from ``order`` (the last one may be shorter). Each is
    gathered into ``xb``/``yb``, then forward, backward and ``params -= lr * grads``.

    Parameters
    ----------
    X : ndarray of shape (n, sizes[0])
        Training inputs.
    Y : ndarray of shape (n, sizes[-1])
        Targets in the output layer's encoding.
    order : ndarray of int64, shape (n_used,)
        Row indices into ``X`` in the order to visit them (a permutation when shuffling).
    batch_size : int
        Rows per gradient step, >= 1.
    lr : float
        Learning rate.
    params, grads : ndarray of shape (n_params,)
        Flat parameters (modified in place) and gradient workspace.
    sizes, woff, boff, aoff, codes, loss_code, use_bias
        As for :func:`fastmlp._jit.backward.backward`.
    xb, yb : ndarray of shape (>= batch_size * sizes[0],), (>= batch_size * sizes[-1],)
        Batch workspaces.
    zs, acts, dlts : ndarray of shape (>= batch_size * aoff[-1],)
        Layer workspaces.

    Returns
    -------
    float
        Mean over the epoch's rows of the loss, each batch's loss taken before its update.

    Notes
    -----
    Unchecked preconditions: every index in ``order`` is a valid row of ``X`` and ``Y``; workspaces are large
    enough for ``batch_size`` rows.
    """
    n = order.shape[0]
    n_in = sizes[0]
    n_out = sizes[sizes.shape[0] - 1]
    total = 0.0
    for start in range(0, n, batch_size):
        m = min(batch_size, n - start)
        rows = order[start : start + m]
        Xb = xb[: m * n_in].reshape((m, n_in))
        Yb = yb[: m * n_out].reshape((m, n_out))
        gather_rows(X, rows, Xb)
        gather_rows(Y, rows, Yb)
        forward(Xb, params, sizes, woff, boff, aoff, codes, use_bias, zs, acts)
        total += m * backward(Xb, Yb, params, sizes, woff, boff, aoff, codes, loss_code, use_bias, zs, acts, dlts, grads)
        sgd_step(params, grads, lr)
    return total / n
