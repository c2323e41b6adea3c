"""Losses paired with their output activation, and the output layer's delta.

Each output activation comes with the loss whose gradient makes the output delta simply ``A - Y``:

=========  ====================  ===================================================
output     loss                  per-row loss, from the logits z of the output layer
=========  ====================  ===================================================
identity   mean squared error    ``1/2 * sum_j (a_j - y_j)**2``
sigmoid    binary cross-entropy  ``sum_j max(z_j, 0) - z_j*y_j + log(1 + exp(-|z_j|))``
softmax    cross-entropy         ``sum_j y_j * (logsumexp(z) - z_j)``
=========  ====================  ===================================================

The cross-entropies are computed from the logits, never from ``log(a)``, so they stay finite and exact at logits
of +-1000 where ``a`` rounds to 0 or 1.
"""

import math

from ._config import jit

_KERNEL_SALT = "94469ad3774148d95992af0e3dbc2f397aeb690973f0faf244e6e8ce76961454"

MSE = 0
BINARY_CROSSENTROPY = 1
CROSSENTROPY = 2


@jit
def loss_sum(code, Z, A, Y):
    """Sum over rows of the per-row loss (divide by the row count for J).

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

    Returns
    -------
    float
        The summed loss, accumulated in float64 whatever the dtype of the arrays.
    """
    m, n = Z.shape
    total = 0.0
    if code == MSE:
        for i in range(m):
            for j in range(n):
                r = A[i, j] - Y[i, j]
                total += 0.5 * r * r
    elif code == BINARY_CROSSENTROPY:
        for i in range(m):
            for j in range(n):
                z = float(Z[i, j])
                total += max(z, 0.0) - z * Y[i, j] + math.log1p(math.exp(-abs(z)))
    elif code == CROSSENTROPY:
        for i in range(m):
            z_max = float(Z[i, 0])
            for j in range(1, n):
                if Z[i, j] > z_max:
                    z_max = float(Z[i, j])
            exp_sum = 0.0
            for j in range(n):
                exp_sum += math.exp(Z[i, j] - z_max)
            log_sum_exp = z_max + math.log(exp_sum)
            for j in range(n):
                y = Y[i, j]
                if y != 0:
                    total += y * (log_sum_exp - Z[i, j])
    return total


@jit
def output_delta(A, Y, scale, D):
    """Write the output layer's delta ``D = scale * (A - Y)``.

    For each pairing of output activation and loss in this module, ``g'(Z) * dJ/dA`` simplifies to
    ``(A - Y) / m``, so ``scale`` is ``1 / m`` for a batch of ``m`` rows.

    Parameters
    ----------
    A : ndarray of shape (m, n_out)
        Output activations.
    Y : ndarray of shape (m, n_out)
        Targets.
    scale : float
        Factor applied to every entry, ``1 / m`` for the mean loss.
    D : ndarray of shape (m, n_out)
        Modified in place.
    """
    m, n = A.shape
    for i in range(m):
        for j in range(n):
            D[i, j] = scale * (A[i, j] - Y[i, j])
