"""Activation functions g and their derivatives g', applied in place over 2-D buffers.

The activation reaches a kernel as an integer code (the constants below); the branch on the code sits outside the
element loops, so one compiled kernel serves every activation and stays cacheable.
"""

import math

from ._config import jit

_KERNEL_SALT = "8d804982965acd083e778a536f538657dc0fd470f3b5ad78b2cb1251df999f65"

IDENTITY = 0
SIGMOID = 1
TANH = 2
RELU = 3
LEAKY_RELU = 4
SOFTMAX = 5

LEAKY_RELU_SLOPE = 0.01


@jit
def add_bias_and_activate(code, use_bias, b, Z, A):
    """Add the bias to every row of ``Z`` (when ``use_bias``), then write ``A = g(Z)``, in one pass over the rows.

    Parameters
    ----------
    code : int
        One of the activation codes of this module.
    use_bias : bool
        Whether to add ``b`` first; when False ``b`` is not read.
    b : ndarray of shape (n,)
        Bias.
    Z : ndarray of shape (m, n)
        Pre-activations without the bias. Modified in place: on return holds ``Z + b``.
    A : ndarray of shape (m, n)
        Activations. Modified in place. May be the same array as ``Z``.

    Notes
    -----
    Unchecked preconditions: ``Z`` and ``A`` have the same shape and dtype, ``b`` has ``n`` entries. Sigmoid and
    softmax are written so that no ``exp`` overflows, for any finite ``Z``. ReLU keeps NaN (``z < 0`` is False for
    NaN) so that a diverging fit stays visible.
    """
    m, n = Z.shape
    for i in range(m):
        if use_bias:
            for j in range(n):
                Z[i, j] += b[j]
        if code == IDENTITY:
            for j in range(n):
                A[i, j] = Z[i, j]
        elif code == SIGMOID:
            for j in range(n):
                z = Z[i, j]
                if z >= 0:
                    A[i, j] = 1.0 / (1.0 + math.exp(-z))
                else:
                    e = math.exp(z)
                    A[i, j] = e / (1.0 + e)
        elif code == TANH:
            for j in range(n):
                A[i, j] = math.tanh(Z[i, j])
        elif code == RELU:
            for j in range(n):
                z = Z[i, j]
                A[i, j] = 0.0 if z < 0 else z
        elif code == LEAKY_RELU:
            for j in range(n):
                z = Z[i, j]
                A[i, j] = LEAKY_RELU_SLOPE * z if z < 0 else z
        elif code == SOFTMAX:
            # Subtracting the row maximum keeps every exp in (0, 1].
            z_max = Z[i, 0]
            for j in range(1, n):
                if Z[i, j] > z_max:
                    z_max = Z[i, j]
            total = 0.0
            for j in range(n):
                e = math.exp(Z[i, j] - z_max)
                A[i, j] = e
                total += e
            scale = 1.0 / total
            for j in range(n):
                A[i, j] *= scale


@jit
def multiply_by_derivative(code, Z, A, E):
    """Turn ``E = dJ/dA`` into the layer's delta ``E * g'(Z)``, elementwise.

    Parameters
    ----------
    code : int
        A hidden-layer activation code (not ``SOFTMAX``, whose Jacobian is not diagonal).
    Z : ndarray of shape (m, n)
        Pre-activations of the layer.
    A : ndarray of shape (m, n)
        Activations ``g(Z)`` of the layer.
    E : ndarray of shape (m, n)
        Modified in place: on return holds ``delta = g'(Z) * E``.

    Notes
    -----
    g' is written from the stored activation where that is cheaper: sigmoid ``A (1 - A)``, tanh ``1 - A**2``.
    At the ReLU kink (z = 0) the derivative is taken as 0, as scikit-learn and PyTorch do.
    """
    m, n = Z.shape
    if code == IDENTITY:
        return
    if code == SIGMOID:
        for i in range(m):
            for j in range(n):
                a = A[i, j]
                E[i, j] *= a * (1.0 - a)
    elif code == TANH:
        for i in range(m):
            for j in range(n):
                a = A[i, j]
                E[i, j] *= 1.0 - a * a
    elif code == RELU:
        for i in range(m):
            for j in range(n):
                if not Z[i, j] > 0:
                    E[i, j] = 0.0
    elif code == LEAKY_RELU:
        for i in range(m):
            for j in range(n):
                if not Z[i, j] > 0:
                    E[i, j] *= LEAKY_RELU_SLOPE
