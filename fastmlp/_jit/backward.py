"""Backpropagation: the per-layer delta recurrence, writing the flat gradient.

With ``E = dJ/dA``:

- output layer: ``delta_L = g'(Z_L) * E_L``, which for the paired losses is ``(A_L - Y) / m``;
- ``dJ/dW_k = A_{k-1}^T delta_k`` and ``dJ/db_k = sum over rows of delta_k``;
- ``E_{k-1} = delta_k W_k^T`` and ``delta_{k-1} = g'(Z_{k-1}) * E_{k-1}``.

The input layer's ``E_0`` is never needed, so it is never computed.
"""


from ._config import jit
from .activations import NARROW_WIDTH, multiply_by_derivative
from .blas import gemm
from .layout import bias_view, flat_view, layer_view, matrix_view, unowned, weight_view
from .losses import loss_sum, output_delta, weight_sum

_KERNEL_SALT = "95ae8010b7a9040c03630019dcd43a65fed4875d399efbbec15dc88c3c7e3004"


@jit
def sum_rows(D, out, beta):
    """Write ``beta * out`` plus the column sums of ``D`` into ``out``; ``beta`` is 0 (overwrite) or 1 (add).

    ``out`` is modified in place; with ``beta = 0`` its old values are not read. Narrow ``D`` (fewer than
    NARROW_WIDTH columns) is summed in float64, wide ``D`` in its own dtype, four rows at a time.
    """
    m, n = D.shape
    if n >= NARROW_WIDTH:
        if beta == 0.0:
            for j in range(n):
                out[j] = 0.0
        # Four rows per pass over out: a quarter of the loads and stores of out (which the compiler cannot keep in
        # registers, as it might alias D), 2x faster at 32 x 32, and pairwise sums round less.
        i = 0
        while i + 4 <= m:
            for j in range(n):
                out[j] += (D[i, j] + D[i + 1, j]) + (D[i + 2, j] + D[i + 3, j])
            i += 4
        while i < m:
            for j in range(n):
                out[j] += D[i, j]
            i += 1
    else:
        for j in range(n):
            total = 0.0
            for i in range(m):
                total += D[i, j]
            out[j] = total if beta == 0.0 else out[j] + total


@jit
def weight_square_sum(params, sizes, woff):
    """Return the sum of squares of every weight (biases excluded), in float64.

    Four running sums, as :func:`fastmlp._jit.losses.weight_sum` keeps, so that the dependent additions do not set
    the pace: a model of millions of weights pays this every batch that has an L2 penalty. Each layer is read
    through a view from index 0, which LLVM vectorises (see ``optimizers._sgd_range``).
    """
    s0 = s1 = s2 = s3 = 0.0
    for k in range(woff.shape[0]):
        W = params[woff[k] : woff[k] + sizes[k] * sizes[k + 1]]
        i = 0
        while i + 4 <= W.shape[0]:
            s0 += W[i] * W[i]
            s1 += W[i + 1] * W[i + 1]
            s2 += W[i + 2] * W[i + 2]
            s3 += W[i + 3] * W[i + 3]
            i += 4
        while i < W.shape[0]:
            s0 += W[i] * W[i]
            i += 1
    return (s0 + s1) + (s2 + s3)


@jit
def add_weight_penalty_gradient(params, sizes, woff, coef, grads):
    """Add ``coef * W_k`` to the gradient of every layer's weights (biases excluded). ``grads`` is modified in place.

    This is the gradient of the L2 penalty ``coef / 2 * sum ||W_k||^2``.
    """
    for k in range(woff.shape[0]):
        stop = woff[k] + sizes[k] * sizes[k + 1]
        W = params[woff[k] : stop]
        G = grads[woff[k] : stop]
        for i in range(W.shape[0]):
            G[i] += coef * W[i]


# OpenBLAS multiplies by a transposed small matrix (``delta @ W.T``) up to 1.4x slower than by a plain one, and
# copying a small W transposed first costs less than the difference: measured for batches of 32 and 128 and
# layers of up to 2,560 weights, float32 and float64 alike. Larger layers take the transposed product directly.
SMALL_LAYER_WEIGHTS = 2560
_MIN_ROWS_TO_TRANSPOSE = 16


@jit
def delta_times_weights_t(delta, W, wt, E):
    """Write ``E = delta @ W.T`` (``E`` is modified in place), through a transposed copy of a small ``W``.

    Parameters
    ----------
    delta : ndarray of shape (m, n_out)
    W : ndarray of shape (n_in, n_out)
    wt : ndarray of shape (k,)
        Scratch for ``W.T``, used when ``n_in * n_out <= k`` and ``delta`` has at least 16 rows; otherwise (and
        with an empty ``wt``) the product is taken directly.
    E : ndarray of shape (m, n_in)
    """
    n_in, n_out = W.shape
    if delta.shape[0] >= _MIN_ROWS_TO_TRANSPOSE and n_in * n_out <= wt.shape[0]:
        W_t = matrix_view(wt, 0, n_out, n_in)
        w = flat_view(W)
        w_t = flat_view(W_t)
        # Written in order and read with a stride: for one output (n_out = 1) the copy is a plain sequential one.
        for b in range(n_out):
            for a in range(n_in):
                w_t[b * n_in + a] = w[a * n_out + b]
        gemm(delta, False, W_t, False, 1.0, 0.0, E)
    else:
        gemm(delta, False, W, True, 1.0, 0.0, E)


@jit(inline=True)
def backward_sum(X, Y, w, scale, params, net, loss_code, use_bias, zs, acts, dlts, grads, wt, beta):
    """The body of :func:`backward`, with the loss's weight scale given: return ``sum_i w_i loss_i``.

    ``grads`` becomes ``beta * grads`` plus the gradient of ``scale * sum_i w_i loss_i`` (``beta`` 0 or 1). A batch
    taken in blocks of rows gives each block the whole batch's ``scale = 1 / sum(w)``, and every block after the
    first ``beta = 1``, so that the blocks' gradients add up to the batch's.
    """
    sizes, woff, boff, aoff, codes = net
    m = X.shape[0]
    last = sizes.shape[0] - 2
    Z_out = layer_view(zs, sizes, aoff, m, last)
    A_out = layer_view(acts, sizes, aoff, m, last)
    output_delta(A_out, Y, w, scale, layer_view(dlts, sizes, aoff, m, last))
    for k in range(last, -1, -1):
        delta = layer_view(dlts, sizes, aoff, m, k)
        A_prev = X if k == 0 else layer_view(acts, sizes, aoff, m, k - 1)
        gemm(A_prev, True, delta, False, 1.0, beta, weight_view(grads, sizes, woff, k))
        if use_bias:
            sum_rows(delta, bias_view(grads, sizes, boff, k), beta)
        if k > 0:
            E_prev = layer_view(dlts, sizes, aoff, m, k - 1)
            delta_times_weights_t(delta, weight_view(params, sizes, woff, k), wt, E_prev)
            multiply_by_derivative(
                codes[k - 1], layer_view(zs, sizes, aoff, m, k - 1), layer_view(acts, sizes, aoff, m, k - 1), E_prev
            )
    return loss_sum(loss_code, Z_out, A_out, Y, w)


@jit
def backward(X, Y, w, params, net, loss_code, use_bias, zs, acts, dlts, grads, wt):
    """Backpropagate a batch whose forward pass is in ``zs`` and ``acts``; return the batch's loss J.

    J is the weighted mean ``sum_i w_i loss_i / sum(w)``: the plain mean when every weight is 1.

    Parameters
    ----------
    X : ndarray of shape (m, sizes[0])
        The input batch given to :func:`fastmlp._jit.forward.forward`.
    Y : ndarray of shape (m, sizes[-1])
        Targets in the output layer's encoding (one-hot rows for softmax).
    w : ndarray of shape (m,)
        Row weights, >= 0 with a positive sum.
    params, net, use_bias
        As for :func:`fastmlp._jit.forward.forward`.
    loss_code : int
        The loss paired with the output activation (:mod:`fastmlp._jit.losses`).
    zs, acts : ndarray
        The workspaces filled by the forward pass of ``X``.
    dlts : ndarray of shape (>= m * aoff[-1],)
        Workspace for every layer's delta. Modified in place.
    grads : ndarray of shape (n_params,)
        Flat gradient, laid out like ``params``. Modified in place.
    wt : ndarray of shape (SMALL_LAYER_WEIGHTS,)
        Scratch for transposed weights (see :func:`delta_times_weights_t`). Modified.

    Returns
    -------
    float
        The loss J over the batch, at the parameters used by the forward pass.
    """
    # Aliases without their owners: views of them take no references (see layout.unowned).
    X, Y, w, params, zs, acts, dlts, grads, wt = unowned((X, Y, w, params, zs, acts, dlts, grads, wt))
    net = unowned(net)
    w_sum = weight_sum(w)
    return backward_sum(X, Y, w, 1.0 / w_sum, params, net, loss_code, use_bias, zs, acts, dlts, grads, wt, 0.0) / w_sum
