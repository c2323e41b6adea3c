"""Views of one layer inside the flat parameter vector and the flat workspace buffers.

Layer ``k`` (0-based) maps ``A_k`` of width ``sizes[k]`` to ``A_{k+1}`` of width ``sizes[k + 1]``. Its weights
``W_k`` of shape ``(sizes[k], sizes[k + 1])`` start at ``woff[k]`` in ``params`` (row-major) and its bias of length
``sizes[k + 1]`` at ``boff[k]``. For a batch of ``m`` rows, the layer's outputs occupy
``buf[m * aoff[k] : m * aoff[k + 1]]`` of a workspace buffer (Z, A or delta), row-major with shape
``(m, sizes[k + 1])``; ``aoff`` is the cumulative sum of the layer widths, starting at 0.

Slicing a 1-D contiguous buffer and reshaping keeps Numba's C-contiguous array type, so ``np.dot`` can write into
the views directly and every view has the same type as an input batch.
"""

from ._config import jit

_KERNEL_SALT = "8d804982965acd083e778a536f538657dc0fd470f3b5ad78b2cb1251df999f65"


@jit
def weight_view(params, sizes, woff, k):
    """Return ``W_k`` as an ``(sizes[k], sizes[k + 1])`` view into ``params``."""
    n_in = sizes[k]
    n_out = sizes[k + 1]
    return params[woff[k] : woff[k] + n_in * n_out].reshape((n_in, n_out))


@jit
def bias_view(params, sizes, boff, k):
    """Return ``b_k`` as a view into ``params``."""
    return params[boff[k] : boff[k] + sizes[k + 1]]


@jit
def layer_view(buf, sizes, aoff, m, k):
    """Return layer ``k``'s ``(m, sizes[k + 1])`` block of the workspace buffer ``buf``."""
    return buf[m * aoff[k] : m * aoff[k + 1]].reshape((m, sizes[k + 1]))
