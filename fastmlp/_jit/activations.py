"""Activation functions g and their derivatives g', applied in place over 2-D buffers.

The activation reaches a kernel as an integer code (the constants below); the branch on the code sits outside the
element loops, so one compiled kernel serves every activation and stays cacheable.
"""

from . import vecmath
from ._config import jit
from .layout import flat_view

_KERNEL_SALT = "95ae8010b7a9040c03630019dcd43a65fed4875d399efbbec15dc88c3c7e3004"

ACT_IDENTITY = 0
ACT_SIGMOID = 1
ACT_TANH = 2
ACT_RELU = 3
ACT_LEAKY_RELU = 4
ACT_SOFTMAX = 5
ACT_EXP = 6  # the output of a Poisson regression: the log link's inverse

LEAKY_RELU_SLOPE = 0.01


# Below this width a loop over one row is too short to pay for itself: narrow layers are walked a column at a time,
# so that the inner loop runs over the batch (adding the bias to a 32 x 1 block and summing it: 0.11 us row by row,
# 0.01 us column by column).
NARROW_WIDTH = 8


@jit(inline=True)
def add_bias(b, Z):
    """Add ``b`` to every row of ``Z`` (modified in place)."""
    m, n = Z.shape
    if n >= NARROW_WIDTH:
        for i in range(m):
            for j in range(n):
                Z[i, j] += b[j]
    else:
        for j in range(n):
            b_j = b[j]
            for i in range(m):
                Z[i, j] += b_j


@jit(inline=True)
def _same_memory(a, b):
    """Whether the 1-D views ``a`` and ``b`` start at the same address (an activation computed in place)."""
    return a.ctypes.data == b.ctypes.data


@jit(inline=True)
def _activate(code, z, a):
    """``a = g(z)`` elementwise over 1-D views, for every activation but softmax.

    Inlined: called with the same view for ``z`` and ``a``, LLVM sees one pointer and vectorises the loop as is;
    with two views that may overlap it adds a runtime overlap test, which an in-place call fails, and runs the
    scalar loop (9 times slower for tanh).
    """
    if code == ACT_IDENTITY:
        for t in range(z.shape[0]):
            a[t] = z[t]
    elif code == ACT_SIGMOID:
        for t in range(z.shape[0]):
            a[t] = vecmath.sigmoid(z[t])
    elif code == ACT_TANH:
        for t in range(z.shape[0]):
            a[t] = vecmath.tanh(z[t])
    elif code == ACT_RELU:
        for t in range(z.shape[0]):
            z_t = z[t]
            a[t] = 0.0 if z_t < 0 else z_t
    elif code == ACT_LEAKY_RELU:
        for t in range(z.shape[0]):
            z_t = z[t]
            a[t] = LEAKY_RELU_SLOPE * z_t if z_t < 0 else z_t
    elif code == ACT_EXP:
        for t in range(z.shape[0]):
            a[t] = vecmath.exp(z[t])


@jit(inline=True)
def _softmax_narrow(Z, A):
    """:func:`add_bias_and_activate`'s softmax for 2 to 4 outputs, the same passes with each row written out.

    The loops over a row's 2-4 entries cost more than their arithmetic: 1,680 x 4 float32 took 35 us with them, 19
    us written out (150 x 3: 2.3 -> 1.5 us); the same operations in the same order, so the same bits. A missing
    third or fourth entry repeats the second, which changes no maximum, and is not stored.
    """
    m, n = Z.shape
    for i in range(m):
        z0, z1 = Z[i, 0], Z[i, 1]
        z2 = Z[i, 2] if n > 2 else z1
        z3 = Z[i, 3] if n > 3 else z1
        top = z1 if z1 > z0 else z0
        top = z2 if z2 > top else top
        top = z3 if z3 > top else top
        A[i, 0] = z0 - top
        A[i, 1] = z1 - top
        if n > 2:
            A[i, 2] = z2 - top
        if n > 3:
            A[i, 3] = z3 - top
    a = flat_view(A)
    for t in range(a.shape[0]):
        a[t] = vecmath.exp(a[t])
    for i in range(m):
        total = (0.0 + A[i, 0]) + A[i, 1]  # a float64 sum, as the general loop's
        if n > 2:
            total += A[i, 2]
        if n > 3:
            total += A[i, 3]
        scale = 1.0 / total
        A[i, 0] *= scale
        A[i, 1] *= scale
        if n > 2:
            A[i, 2] *= scale
        if n > 3:
            A[i, 3] *= scale


@jit
def add_bias_and_activate(code, use_bias, b, Z, A):
    """Add the bias to every row of ``Z`` (when ``use_bias``), then write ``A = g(Z)``.

    Parameters
    ----------
    code : int
        One of the activation codes of this module.
    use_bias : bool
        Whether to add ``b`` first; when False ``b`` is not read.
    b : ndarray of shape (n,)
        Bias.
    Z : ndarray of shape (m, n)
        Pre-activations without the bias, C-contiguous. Modified in place: on return holds ``Z + b``.
    A : ndarray of shape (m, n)
        Activations, C-contiguous. Modified in place. May be the same array as ``Z``.

    Notes
    -----
    Unchecked preconditions: ``Z`` and ``A`` have the same shape and dtype, ``b`` has ``n`` entries, and ``A`` is
    either ``Z`` or does not overlap it. Sigmoid, tanh and softmax take their exp and tanh from
    :mod:`fastmlp._jit.vecmath` (vectorised, within a few ulp); no ``exp`` overflows, for any finite ``Z``. ReLU
    keeps NaN (``z < 0`` is False for NaN) so that a diverging fit stays visible. Every activation but softmax is
    elementwise, so it runs over the whole block as one flat loop, whatever the layer's width.
    """
    vecmath.prefer_wide_vectors()
    m, n = Z.shape
    if use_bias:
        add_bias(b, Z)
    z = flat_view(Z)
    a = flat_view(A)
    if code == ACT_SOFTMAX:
        # Three passes, so that the exps run in one flat loop of their own (vectorised, however narrow the layer;
        # a loop that also sums them is not): subtract each row's maximum, which keeps every exp in (0, 1], take
        # the exps, then divide each row by its sum.
        if 2 <= n <= 4:
            _softmax_narrow(Z, A)
            return
        for i in range(m):
            z_max = Z[i, 0]
            for j in range(1, n):
                if Z[i, j] > z_max:
                    z_max = Z[i, j]
            for j in range(n):
                A[i, j] = Z[i, j] - z_max
        for t in range(a.shape[0]):
            a[t] = vecmath.exp(a[t])
        for i in range(m):
            total = 0.0
            for j in range(n):
                total += A[i, j]
            scale = 1.0 / total
            for j in range(n):
                A[i, j] *= scale
        return
    if _same_memory(z, a):
        _activate(code, a, a)
    else:
        _activate(code, z, a)


@jit
def multiply_by_derivative(code, Z, A, E):
    """Turn ``E = dJ/dA`` into the layer's delta ``E * g'(Z)``, elementwise.

    Parameters
    ----------
    code : int
        A hidden-layer activation code (not ``ACT_SOFTMAX``, whose Jacobian is not diagonal).
    Z : ndarray of shape (m, n)
        Pre-activations of the layer, C-contiguous.
    A : ndarray of shape (m, n)
        Activations ``g(Z)`` of the layer, C-contiguous.
    E : ndarray of shape (m, n)
        C-contiguous. Modified in place: on return holds ``delta = g'(Z) * E``.

    Notes
    -----
    g' is written from the stored activation where that is cheaper: sigmoid ``A (1 - A)``, tanh ``1 - A**2``.
    At the ReLU kink (z = 0) the derivative is taken as 0, as scikit-learn and PyTorch do.
    """
    if code == ACT_IDENTITY:
        return
    vecmath.prefer_wide_vectors()
    z = flat_view(Z)
    a = flat_view(A)
    e = flat_view(E)
    if code == ACT_SIGMOID:
        for t in range(e.shape[0]):
            a_t = a[t]
            e[t] *= a_t * (1.0 - a_t)
    elif code == ACT_TANH:
        for t in range(e.shape[0]):
            a_t = a[t]
            e[t] *= 1.0 - a_t * a_t
    elif code == ACT_RELU:
        for t in range(e.shape[0]):
            if not z[t] > 0:
                e[t] = 0.0
    elif code == ACT_LEAKY_RELU:
        for t in range(e.shape[0]):
            if not z[t] > 0:
                e[t] *= LEAKY_RELU_SLOPE
