"""Losses paired with their output activation, and the output layer's delta.

Each output activation comes with the loss whose gradient makes the output delta simply ``A - Y``:

=========  ====================  ===================================================
output     loss                  per-row loss, z the logits of the output layer
=========  ====================  ===================================================
identity   mean squared error    ``1/2 * sum_j (a_j - y_j)**2``
sigmoid    binary cross-entropy  ``sum_j max(z_j, 0) - z_j*y_j + log(1 + exp(-|z_j|))``
softmax    cross-entropy         ``sum_j y_j * (logsumexp(z) - z_j)``
=========  ====================  ===================================================

Binary cross-entropy is computed from the logits. Cross-entropy reads ``-log(a)`` of each target class from the
softmax output where that probability is a normal number, and takes the logits for the rows where it is not (a
probability rounded to 0, or subnormal), so both stay finite and exact at logits of +-1000 where ``a`` rounds to 0
or 1. Their exp, log and log1p come from :mod:`fastmlp._jit.vecmath`, as the output activations' do; the sums are
float64.
"""

from . import vecmath
from ._config import jit
from .layout import flat_view

_KERNEL_SALT = "95ae8010b7a9040c03630019dcd43a65fed4875d399efbbec15dc88c3c7e3004"

LOSS_MSE = 0
LOSS_BINARY_CROSSENTROPY = 1
LOSS_CROSSENTROPY = 2
LOSS_POISSON = 3

# The smallest normal float32 and float64: below it a softmax probability has fewer significant bits than its log
# needs.
_SMALLEST_NORMAL_32 = 1.1754943508222875e-38
_SMALLEST_NORMAL_64 = 2.2250738585072014e-308


@jit
def weight_sum(w):
    """Return ``sum(w)`` in float64.

    Four running sums instead of one: a single float64 sum is a chain of dependent additions (4 cycles each),
    which for a batch of 32 rows cost as much as the ReLU of a 32 x 32 layer.
    """
    m = w.shape[0]
    s0 = s1 = s2 = s3 = 0.0
    i = 0
    while i + 4 <= m:
        s0 += w[i]
        s1 += w[i + 1]
        s2 += w[i + 2]
        s3 += w[i + 3]
        i += 4
    while i < m:
        s0 += w[i]
        i += 1
    return (s0 + s1) + (s2 + s3)


@jit(inline=True)
def _binary_crossentropy(z, y):
    """``-(y log(a) + (1 - y) log(1 - a))`` for ``a = sigmoid(z)``, as ``max(z, 0) - z y + log(1 + exp(-|z|))``."""
    return max(z, 0.0) - z * y + vecmath.log1p(vecmath.exp(-abs(z)))


@jit(inline=True)
def _all_equal(w):
    """Whether every entry of ``w`` equals the first (always so without sample weights)."""
    for i in range(1, w.shape[0]):
        if w[i] != w[0]:
            return False
    return True


@jit
def loss_sum(code, Z, A, Y, w):
    """Weighted sum over rows of the per-row loss, ``sum_i w_i * loss_i`` (divide by ``sum(w)`` for J).

    Parameters
    ----------
    code : int
        One of the loss codes of this module.
    Z : ndarray of shape (m, n_out)
        Output-layer pre-activations (logits).
    A : ndarray of shape (m, n_out)
        Output-layer activations.
    Y : ndarray of shape (m, n_out)
        Targets: real values (mse), probabilities in [0, 1] (binary cross-entropy) or rows of class probabilities,
        usually one-hot (cross-entropy).
    w : ndarray of shape (m,)
        Row weights (all ones for the plain mean).

    Returns
    -------
    float
        The summed loss, accumulated in float64 whatever the dtype of the arrays.
    """
    m, n = Z.shape
    if code == LOSS_MSE:
        # Two rows at a time into two running sums: the float64 sum is otherwise one long chain of dependent adds.
        even = odd = 0.0
        i = 0
        while i + 2 <= m:
            row_even = row_odd = 0.0
            for j in range(n):
                r = A[i, j] - Y[i, j]
                row_even += 0.5 * r * r
                r = A[i + 1, j] - Y[i + 1, j]
                row_odd += 0.5 * r * r
            even += w[i] * row_even
            odd += w[i + 1] * row_odd
            i += 2
        if i < m:
            row_even = 0.0
            for j in range(n):
                r = A[i, j] - Y[i, j]
                row_even += 0.5 * r * r
            even += w[i] * row_even
        return even + odd
    vecmath.prefer_wide_vectors()
    total = 0.0
    if code == LOSS_POISSON:
        # Half the Poisson deviance, y log(y / a) - y + a with a = exp(z): from the logit, a - y z + y log y - y,
        # so that it stays exact where a rounds to 0 or overflows less early (the last two terms are 0 for y = 0).
        for i in range(m):
            row = 0.0
            for j in range(n):
                y = Y[i, j]
                term = A[i, j] - y * Z[i, j]
                if y > 0:
                    term += y * vecmath.log(y) - y
                row += term
            total += w[i] * row
        return total
    if code == LOSS_BINARY_CROSSENTROPY:
        z = flat_view(Z)
        y = flat_view(Y)
        if n == 1:
            for i in range(m):
                total = vecmath.add_reassociable(total, w[i] * _binary_crossentropy(z[i], y[i]))
        elif _all_equal(w):
            # One flat loop over every element, vectorised whatever the width; the common weight applied once.
            for t in range(z.shape[0]):
                total = vecmath.add_reassociable(total, _binary_crossentropy(z[t], y[t]))
            total *= w[0]
        else:
            for i in range(m):
                row = 0.0
                for j in range(n):
                    row = vecmath.add_reassociable(row, _binary_crossentropy(Z[i, j], Y[i, j]))
                total += w[i] * row
        return total
    # The loss is read from the softmax already computed: log-sum-exp(z) - z_j is -log(a_j), as accurate as a is (a
    # few units of 1e-16 in float64 and 1e-7 in float32, of the loss or absolute, whichever is larger), for one log
    # per element in the dtype instead of an exp per output and a log per row (float64, a 200 x 10 batch: 21.5 ->
    # 3.3 us; float32 rows of 4 outputs, about a third of the logits' time). The flat loop below took 6.8 us where
    # the row loop took 15.5 (1,680 x 4 float32). A probability that is subnormal or 0 has lost its relative
    # accuracy: its row takes the logits.
    smallest_accurate = _SMALLEST_NORMAL_64 if A.itemsize == 8 else _SMALLEST_NORMAL_32
    if _all_equal(w):
        # One flat loop over every element, vectorised however narrow the layer, the common weight applied once.
        # Any inaccurate target probability sends the whole batch to the rows below.
        a = flat_view(A)
        y = flat_view(Y)
        inaccurate = 0
        for t in range(a.shape[0]):
            target = y[t] != 0
            inaccurate += 1 if target & (a[t] < smallest_accurate) else 0
            total = vecmath.add_reassociable(total, -y[t] * vecmath.log(a[t]) if target else y[t])
        if inaccurate == 0:
            return total * w[0]
        total = 0.0
    for i in range(m):
        row = 0.0
        exact = True
        for j in range(n):
            y = Y[i, j]
            if y != 0:
                a = A[i, j]
                if a < smallest_accurate:
                    exact = False
                row += y * -vecmath.log(a)
        if exact:
            total += w[i] * row
            continue
        # The log-sum-exp of the row, its maximum subtracted so that every exp lies in (0, 1].
        z_max = Z[i, 0]
        for j in range(1, n):
            if Z[i, j] > z_max:
                z_max = Z[i, j]
        exp_sum = 0.0
        for j in range(n):
            exp_sum = vecmath.add_reassociable(exp_sum, vecmath.exp(Z[i, j] - z_max))
        log_sum_exp = z_max + vecmath.log(exp_sum)
        row = 0.0
        for j in range(n):
            y = Y[i, j]
            if y != 0:
                row = vecmath.add_reassociable(row, y * (log_sum_exp - Z[i, j]))
        total += w[i] * row
    return total


@jit
def output_delta(A, Y, w, scale, D):
    """Write the output layer's delta ``D[i] = scale * w[i] * (A[i] - Y[i])``.

    For each pairing of output activation and loss in this module, ``g'(Z) * dJ/dA`` of the weighted mean loss
    ``J = sum_i w_i loss_i / sum(w)`` simplifies to ``w_i (A_i - Y_i) / sum(w)``, so ``scale`` is ``1 / sum(w)``
    (``1 / m`` without weights).

    Parameters
    ----------
    A : ndarray of shape (m, n_out)
        Output activations.
    Y : ndarray of shape (m, n_out)
        Targets.
    w : ndarray of shape (m,)
        Row weights.
    scale : float
        Factor applied to every entry, ``1 / sum(w)``.
    D : ndarray of shape (m, n_out)
        Modified in place.
    """
    m, n = A.shape
    for i in range(m):
        row_scale = scale * w[i]
        for j in range(n):
            D[i, j] = row_scale * (A[i, j] - Y[i, j])
