"""One whole training epoch in one compiled call: no Python runs between batches."""

import math

from ._config import jit
from .backward import backward_sum, weight_square_sum
from .forward import forward
from .layout import layer_view, matrix_view, unowned
from .losses import weight_sum
from .optimizers import HYPER_ALPHA, optimizer_step

_KERNEL_SALT = "95ae8010b7a9040c03630019dcd43a65fed4875d399efbbec15dc88c3c7e3004"

# What the epoch accumulates for the training metric (the batch outputs before each update, as Keras does).
METRIC_ACCURACY_ARGMAX = 0  # softmax: weighted count of rows whose largest output is the target's class
METRIC_ACCURACY_THRESHOLD = 1  # sigmoid: weighted count of rows whose every output is on the target's side of 0.5
METRIC_SQUARED_ERROR = 2  # identity: weighted sum of squared errors, per output (for R^2)


@jit
def gather_rows(src, rows, dst):
    """Copy ``src[rows[i]]`` into ``dst[i]`` for every ``i``. ``dst`` is modified in place."""
    n = src.shape[1]
    for i in range(rows.shape[0]):
        r = rows[i]
        for j in range(n):
            dst[i, j] = src[r, j]


@jit(inline=True)
def gather_targets(Y, w, rows, Yb, wb):
    """Copy the targets and weights of ``rows`` into ``Yb`` and ``wb`` (in place); return their weight sum."""
    gather_rows(Y, rows, Yb)
    for i in range(rows.shape[0]):
        wb[i] = w[rows[i]]
    return weight_sum(wb)


@jit
def is_run(rows):
    """Whether ``rows`` is a run of consecutive indices, ``rows[i] == rows[0] + i``."""
    for i in range(1, rows.shape[0]):
        if rows[i] != rows[0] + i:
            return False
    return True


@jit(inline=True)
def batch_rows(X, Y, w, rows, batch):
    """The rows ``rows`` of the data as ``(Xb, Yb, w_batch)``.

    Views of ``X``, ``Y`` and ``w`` when the rows are consecutive, else the rows gathered into the ``batch``
    buffers ``(xb, yb, wb)`` (modified).
    """
    xb, yb, wb = batch
    m = rows.shape[0]
    if is_run(rows):
        # Unshuffled epochs visit consecutive rows: the batch is a view of the data, with nothing to copy.
        first = rows[0]
        return X[first : first + m], Y[first : first + m], w[first : first + m]
    Xb = matrix_view(xb, 0, m, X.shape[1])
    Yb = matrix_view(yb, 0, m, Y.shape[1])
    w_batch = wb[:m]
    gather_rows(X, rows, Xb)
    gather_targets(Y, w, rows, Yb, w_batch)
    return Xb, Yb, w_batch


@jit
def accumulate_metric(metric_code, A, Y, w, acc):
    """Add one batch's contribution to the training metric's accumulator ``acc`` (modified in place).

    Parameters
    ----------
    metric_code : int
        METRIC_ACCURACY_ARGMAX, METRIC_ACCURACY_THRESHOLD or METRIC_SQUARED_ERROR.
    A, Y : ndarray of shape (m, n_out)
        Outputs and targets of the batch.
    w : ndarray of shape (m,)
        Row weights.
    acc : ndarray of float64
        ``acc[0]`` the weighted count of correct rows (accuracies), or ``acc[j]`` the weighted squared error of
        output j.
    """
    m, n = A.shape
    if metric_code == METRIC_SQUARED_ERROR:
        # Per output, two rows at a time into two running sums (see losses.weight_sum for why).
        for j in range(n):
            even = odd = 0.0
            i = 0
            while i + 2 <= m:
                r = A[i, j] - Y[i, j]
                even += w[i] * r * r
                r = A[i + 1, j] - Y[i + 1, j]
                odd += w[i + 1] * r * r
                i += 2
            if i < m:
                r = A[i, j] - Y[i, j]
                even += w[i] * r * r
            acc[j] += even + odd
        return
    for i in range(m):
        if metric_code == METRIC_ACCURACY_ARGMAX:
            # The first largest output and the first largest target, kept with selects rather than branches: on
            # rows whose largest output falls in any column the branches mispredict (1,680 x 4: 13 -> 8.5 us).
            best_a = best_y = 0
            top_a, top_y = A[i, 0], Y[i, 0]
            for j in range(1, n):
                a, y = A[i, j], Y[i, j]
                more_a, more_y = a > top_a, y > top_y
                best_a = j if more_a else best_a
                top_a = a if more_a else top_a
                best_y = j if more_y else best_y
                top_y = y if more_y else top_y
            acc[0] += w[i] if best_a == best_y else 0.0
        elif metric_code == METRIC_ACCURACY_THRESHOLD:
            right = True
            for j in range(n):
                right &= (A[i, j] >= 0.5) == (Y[i, j] >= 0.5)
            if right:
                acc[0] += w[i]


@jit
def accumulate_norms(grads, params, sizes, woff, penalty, norms_acc):
    """Add each layer's weight-gradient norm ``||dJ/dW_k + penalty * W_k||`` to ``norms_acc[k]`` (in place)."""
    for k in range(woff.shape[0]):
        stop = woff[k] + sizes[k] * sizes[k + 1]
        W = params[woff[k] : stop]
        G = grads[woff[k] : stop]
        squares = 0.0
        for i in range(W.shape[0]):
            g = G[i] + penalty * W[i]
            squares += g * g
        norms_acc[k] += math.sqrt(squares)


# A large batch runs forward and backward in blocks of rows whose Z, A and delta fit in a core's L2 cache together
# (1 MiB of this machine's 2 MiB), the blocks' gradients added up. Forward plus backward of one 10,000-row batch of
# 4-32-16-4 (tanh): float32 1.47-1.62 ms -> 1.00-1.10 ms in blocks of 1,680 rows, float64 3.3-4.4 ms -> 1.9-2.0 ms;
# 16-128-128-1 at 8,192 rows 12.3-16.2 ms -> 10.7-12.6 ms; 784-256-128-10 at 2,048 rows 17.4-20.7 ms ->
# 16.7-19.6 ms. Blocks from 480 to 1,680 rows timed alike, 3,200 rows slower. Blocks keep at least MIN_TILE_ROWS
# rows, so that wide layers' products stay large.
TILE_BYTES = 2**20
MIN_TILE_ROWS = 512


@jit(inline=True)
def tile_rows(sizes, aoff, itemsize):
    """Rows per block of a large batch: as many as keep the block's Z, A and delta within TILE_BYTES."""
    return max(MIN_TILE_ROWS, TILE_BYTES // (3 * itemsize * aoff[sizes.shape[0] - 1]))


@jit(inline=True)
def batch_gradient(Xb, Yb, w_batch, scale, params, net, loss_code, use_bias, workspace, grads, metric_code, metric_acc):
    """Forward and backward of a batch, in blocks of :func:`tile_rows` rows; return ``sum_i w_i loss_i``.

    ``grads`` is overwritten with the gradient of ``scale * sum_i w_i loss_i``; each block's outputs are added to
    the training metric ``metric_acc`` (see :func:`accumulate_metric`).
    """
    sizes, _, _, aoff, _ = net
    zs, acts, dlts, wt = workspace
    m = Xb.shape[0]
    last = sizes.shape[0] - 2
    tile = tile_rows(sizes, aoff, params.itemsize)
    total = 0.0
    for lo in range(0, m, tile):
        hi = min(lo + tile, m)
        X_t, Y_t, w_t = Xb[lo:hi], Yb[lo:hi], w_batch[lo:hi]
        forward(X_t, params, net, use_bias, zs, acts)
        beta = 0.0 if lo == 0 else 1.0
        total += backward_sum(X_t, Y_t, w_t, scale, params, net, loss_code, use_bias, zs, acts, dlts, grads, wt, beta)
        accumulate_metric(metric_code, layer_view(acts, sizes, aoff, hi - lo, last), Y_t, w_t, metric_acc)
    return total


@jit(inline=True)
def penalty_and_step(loss, batch_weight, net, opt_code, hyper, vectors, step, record_norms, norms_acc):
    """The end of one training step once its gradient is in ``vectors[1]``: the norms and the optimizer step.

    Returns the batch's part of the epoch's loss total: ``loss * batch_weight`` plus the L2 penalty
    ``alpha / 2 * sum ||W||^2`` at the parameters the batch was measured with (``hyper[HYPER_ALPHA]``).
    """
    sizes, woff = net[0], net[1]
    params, grads, state1, state2 = vectors
    alpha = hyper[HYPER_ALPHA]
    part = loss * batch_weight
    penalty = 0.0
    if alpha != 0.0:
        # The penalty's gradient is added inside the optimizer step, as it reads each gradient.
        part += 0.5 * alpha * weight_square_sum(params, sizes, woff)
        penalty = alpha / batch_weight
    if record_norms:
        accumulate_norms(grads, params, sizes, woff, penalty, norms_acc)
    optimizer_step(opt_code, hyper, sizes, woff, grads, params, state1, state2, step, penalty)
    return part


@jit(inline=True)
def finish_step(
    loss, batch_weight, A_out, Yb, w_batch, net, opt_code, hyper, vectors, step, metric_code, record_norms, metric_acc,
    norms_acc,
):  # fmt: skip
    """The end of one training step after its backward pass: the metric, then :func:`penalty_and_step`."""
    accumulate_metric(metric_code, A_out, Yb, w_batch, metric_acc)
    return penalty_and_step(loss, batch_weight, net, opt_code, hyper, vectors, step, record_norms, norms_acc)


@jit
def train_epoch(
    X, Y, w, order, batch_size, net, loss_code, use_bias, opt_code, hyper, vectors, step, workspace, batch,
    metric_code, record_norms, metric_acc, norms_acc,
):  # fmt: skip
    """Run one epoch of minibatch training and return the epoch's loss.

    Batches are consecutive runs of ``batch_size`` indices from ``order`` (the last one may be shorter). Each is
    gathered into the ``batch`` buffers, then: forward, backward and the training metric (in blocks of
    :func:`tile_rows` rows for a large batch), the L2 penalty's gradient, the gradient norms (on request), and one
    optimizer step.

    Parameters
    ----------
    X : ndarray of shape (n, sizes[0])
        Training inputs, C-contiguous.
    Y : ndarray of shape (n, sizes[-1])
        Targets in the output layer's encoding, C-contiguous.
    w : ndarray of shape (n,)
        Row weights (ones without sample weights).
    order : ndarray of int64, shape (n_used,)
        Row indices into ``X`` in the order to visit them (a permutation when shuffling).
    batch_size : int
        Rows per gradient step, >= 1.
    net, loss_code, use_bias
        As for :func:`fastmlp._jit.backward.backward`.
    opt_code, hyper
        As for :func:`fastmlp._jit.optimizers.optimizer_step`; ``hyper[HYPER_ALPHA]`` is the L2 penalty.
    vectors : tuple of ndarray of shape (n_params,)
        ``(params, grads, state1, state2)``: the parameters, the gradient buffer and the optimizer state, as for
        :func:`fastmlp._jit.optimizers.optimizer_step`. All modified in place.
    step : ndarray of int64, shape (1,)
        Adam's step count. Modified in place.
    workspace : tuple of ndarray
        ``(zs, acts, dlts, wt)``: the layer workspaces of at least ``batch_size * aoff[-1]`` values each, and the
        scratch for transposed weights, as for :func:`fastmlp._jit.backward.backward`.
    batch : tuple of ndarray
        ``(xb, yb, wb)``: flat buffers for a shuffled batch's rows, of at least ``batch_size`` rows each.
    metric_code : int
        What to accumulate in ``metric_acc`` (see :func:`accumulate_metric`).
    record_norms : bool
        Whether to add each batch's per-layer weight-gradient norm to ``norms_acc``.
    metric_acc : ndarray of float64
        Metric accumulator. Modified in place (added to).
    norms_acc : ndarray of float64, shape (n_layers,)
        Gradient-norm accumulator. Modified in place (added to) when ``record_norms``.

    Returns
    -------
    float
        The epoch's loss: the weighted mean over its rows of the loss, each batch measured before its update, plus
        each batch's L2 penalty ``alpha / 2 * sum ||W||^2`` spread over the epoch's weight (scikit-learn's
        definition of ``loss_``). 0 when every row has weight 0.

    Notes
    -----
    Unchecked preconditions: every index in ``order`` is a valid row; weights are >= 0; workspaces are large
    enough. A batch whose weights are all 0 contributes nothing and makes no step.
    """
    # Aliases without their owners: the views of every step take no references (see layout.unowned).
    X, Y, w, order, hyper, step, metric_acc, norms_acc = unowned((X, Y, w, order, hyper, step, metric_acc, norms_acc))
    net, vectors, workspace, batch = unowned(net), unowned(vectors), unowned(workspace), unowned(batch)
    params, grads = vectors[0], vectors[1]
    n = order.shape[0]
    total = 0.0
    total_weight = 0.0
    for start in range(0, n, batch_size):
        m = min(batch_size, n - start)
        Xb, Yb, w_batch = batch_rows(X, Y, w, order[start : start + m], batch)
        batch_weight = weight_sum(w_batch)
        if batch_weight <= 0.0:
            continue
        loss = batch_gradient(Xb, Yb, w_batch, 1.0 / batch_weight, params, net, loss_code, use_bias, workspace, grads,
                              metric_code, metric_acc) / batch_weight  # fmt: skip
        total += penalty_and_step(loss, batch_weight, net, opt_code, hyper, vectors, step, record_norms, norms_acc)
        total_weight += batch_weight
    return total / total_weight if total_weight > 0.0 else 0.0


# ------------------------------------------------------------------------------------------------------------------
# One batch split into row chunks, one chunk per thread (fastmlp._engine runs them). Each chunk's gradient goes to
# its own buffer; the buffers are added in a fixed order, so a fixed thread count gives the same bits every run.


@jit
def rows_weight(w, rows):
    """Return ``sum(w[rows])`` in float64, in the order :func:`fastmlp._jit.losses.weight_sum` adds."""
    s0 = s1 = s2 = s3 = 0.0
    m = rows.shape[0]
    i = 0
    while i + 4 <= m:
        s0 += w[rows[i]]
        s1 += w[rows[i + 1]]
        s2 += w[rows[i + 2]]
        s3 += w[rows[i + 3]]
        i += 4
    while i < m:
        s0 += w[rows[i]]
        i += 1
    return (s0 + s1) + (s2 + s3)


@jit
def chunk_gradient(
    X, Y, w, rows, scale, net, loss_code, use_bias, params, grads, workspace, batch, metric_code, metric_acc
):  # fmt: skip
    """Forward and backward of the rows ``rows`` of a batch; write ``scale * d(sum_i w_i loss_i)/dparams``.

    Parameters
    ----------
    X, Y, w
        The whole data set, as for :func:`train_epoch`.
    rows : ndarray of int64
        The chunk's rows (gathered into ``batch`` unless they are consecutive).
    scale : float
        ``1 / sum(w)`` over the whole batch the chunk belongs to.
    net, loss_code, use_bias, params
        As for :func:`fastmlp._jit.backward.backward`.
    grads : ndarray of shape (n_params,)
        The chunk's gradient. Modified in place (overwritten).
    workspace, batch
        As for :func:`train_epoch`, for at least ``len(rows)`` rows: each chunk has its own.
    metric_code, metric_acc
        As for :func:`accumulate_metric`; ``metric_acc`` is added to.

    Returns
    -------
    float
        ``sum_i w_i loss_i`` over the chunk.
    """
    # Aliases without their owners: views of them take no references (see layout.unowned).
    X, Y, w, rows, params, grads, metric_acc = unowned((X, Y, w, rows, params, grads, metric_acc))
    net, workspace, batch = unowned(net), unowned(workspace), unowned(batch)
    Xb, Yb, w_chunk = batch_rows(X, Y, w, rows, batch)
    return batch_gradient(Xb, Yb, w_chunk, scale, params, net, loss_code, use_bias, workspace, grads, metric_code,
                          metric_acc)  # fmt: skip


@jit
def add_parts(grads, parts):
    """Add the rows of ``parts`` into ``grads``, first row first. ``grads`` is modified in place."""
    for t in range(parts.shape[0]):
        part = parts[t]
        for i in range(grads.shape[0]):
            grads[i] += part[i]


@jit
def chunked_step(loss, batch_weight, parts, net, opt_code, hyper, vectors, step, record_norms, norms_acc):
    """Add the other chunks' gradients ``parts`` into ``vectors[1]``, then :func:`penalty_and_step`."""
    # Aliases without their owners: views of them take no references (see layout.unowned).
    hyper, step, norms_acc = unowned((hyper, step, norms_acc))
    parts, net, vectors = unowned(parts), unowned(net), unowned(vectors)
    add_parts(vectors[1], parts)
    return penalty_and_step(loss, batch_weight, net, opt_code, hyper, vectors, step, record_norms, norms_acc)
