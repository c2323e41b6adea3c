"""A sparse first layer: inputs in CSR form (``data``, ``indices``, ``indptr``), the rest of the network dense.

Only the first layer touches ``X``: its pre-activations are ``X_rows @ W_0`` computed from the stored entries
alone, and its weight gradient ``X_rows.T @ delta_0`` is scattered from them, so a batch costs ``nnz * n_1`` there
instead of ``m * n_0 * n_1``, and ``X`` is never densified. Layers 1 and on run through the dense kernels, on a
"sub-network" whose layout (``subnet``) is the network's without its first layer: the same absolute offsets into
``params`` and the workspaces, so the dense kernels write exactly where the full network's layer views are.
"""

from ._config import jit
from .activations import add_bias_and_activate, multiply_by_derivative
from .backward import (
    backward,
    delta_times_weights_t,
    sum_rows,
)
from .checks import all_finite
from .forward import OUTPUT_NOT_FINITE, PREDICTED, forward, predict_into
from .layout import bias_view, flat_view, layer_view, matrix_view, unowned, weight_view
from .losses import loss_sum, output_delta, weight_sum
from .train import finish_step, gather_targets

_KERNEL_SALT = "95ae8010b7a9040c03630019dcd43a65fed4875d399efbbec15dc88c3c7e3004"


@jit(inline=True)
def _add_entry_products(data, indices, indptr, rows, source, target, transposed):
    """Add to ``target``, over the stored entries ``x`` at ``(i, c)`` of rows ``rows``, ``x`` times a row of ``source``.

    Entry ``(i, c)`` adds ``x * source[c]`` to ``target[i]`` (``X_rows @ source``), or, ``transposed``,
    ``x * source[i]`` to ``target[c]`` (``X_rows.T @ source``).
    """
    n = target.shape[1]
    for i in range(rows.shape[0]):
        r = rows[i]
        for p in range(indptr[r], indptr[r + 1]):
            x = data[p]
            c = indices[p]
            to, fro = (c, i) if transposed else (i, c)
            for j in range(n):
                target[to, j] += x * source[fro, j]


@jit
def sparse_times_dense(data, indices, indptr, rows, W, Z):
    """Write ``Z[i] = sum_p data[p] * W[indices[p]]`` over the stored entries ``p`` of CSR row ``rows[i]``.

    ``Z`` (shape ``(len(rows), W.shape[1])``) is modified in place.
    """
    Z[:, :] = 0.0
    _add_entry_products(data, indices, indptr, rows, W, Z, False)


@jit
def add_sparse_t_times_dense(data, indices, indptr, rows, D, G):
    """Add ``X_rows.T @ D`` to ``G``, scattering each stored entry's row of ``D``. ``G`` is modified in place.

    Only the rows of ``G`` named by the batch's stored entries change, so that a caller that keeps ``G`` zero
    elsewhere (see :func:`zero_touched_rows`) never clears all of it: at 50,000 inputs that is a 40 MB pass per
    step for a batch that touches a fifth of the rows.
    """
    _add_entry_products(data, indices, indptr, rows, D, G, True)


@jit
def zero_touched_rows(indices, indptr, rows, G):
    """Set to zero every row of ``G`` that a stored entry of CSR rows ``rows`` names. ``G`` is modified in place."""
    for i in range(rows.shape[0]):
        r = rows[i]
        for p in range(indptr[r], indptr[r + 1]):
            G[indices[p], :] = 0.0


@jit(inline=True)
def _first_bias(params, sizes, boff, use_bias):
    if use_bias:
        return bias_view(params, sizes, boff, 0)
    return params[:0]


@jit
def sparse_forward(csr, rows, params, net, subnet, use_bias, zs, acts):
    """The forward pass of CSR rows ``rows``, keeping every layer's Z and A (as :func:`forward.forward` does).

    Parameters
    ----------
    csr : tuple of ndarray
        ``(data, indices, indptr)`` of the input matrix, indices and indptr int64, data of the params' dtype.
    rows : ndarray of int64
        The rows of the batch.
    params, net, use_bias, zs, acts
        As for :func:`fastmlp._jit.forward.forward`.
    subnet : tuple of ndarray of int64
        ``net`` without its first layer (its ``aoff`` shifted to start at 0); unused for a one-layer network.
    """
    # Aliases without their owners: views of them take no references (see layout.unowned).
    rows, params, zs, acts = unowned((rows, params, zs, acts))
    csr, net, subnet = unowned(csr), unowned(net), unowned(subnet)
    data, indices, indptr = csr
    sizes, woff, boff, aoff, codes = net
    m = rows.shape[0]
    Z0 = layer_view(zs, sizes, aoff, m, 0)
    A0 = layer_view(acts, sizes, aoff, m, 0)
    sparse_times_dense(data, indices, indptr, rows, weight_view(params, sizes, woff, 0), Z0)
    add_bias_and_activate(codes[0], use_bias, _first_bias(params, sizes, boff, use_bias), Z0, A0)
    if sizes.shape[0] > 2:
        offset = m * aoff[1]
        forward(A0, params, subnet, use_bias, zs[offset:], acts[offset:])


@jit
def sparse_backward(csr, rows, Y, w, params, net, subnet, loss_code, use_bias, zs, acts, dlts, grads, wt):
    """Backpropagate CSR rows ``rows`` after :func:`sparse_forward`; return the batch's loss.

    As :func:`fastmlp._jit.backward.backward`, with the first layer's weight gradient scattered from the stored
    entries: that block of ``grads`` must be zero on entry, and is added to (only on the rows the batch's entries
    name). ``grads`` and ``dlts`` are modified in place.
    """
    # Aliases without their owners: views of them take no references (see layout.unowned).
    rows, Y, w, params, zs, acts, dlts, grads, wt = unowned((rows, Y, w, params, zs, acts, dlts, grads, wt))
    csr, net, subnet = unowned(csr), unowned(net), unowned(subnet)
    data, indices, indptr = csr
    sizes, woff, boff, aoff, codes = net
    m = rows.shape[0]
    delta0 = layer_view(dlts, sizes, aoff, m, 0)
    if sizes.shape[0] > 2:
        A0 = layer_view(acts, sizes, aoff, m, 0)
        offset = m * aoff[1]
        loss = backward(A0, Y, w, params, subnet, loss_code, use_bias, zs[offset:], acts[offset:], dlts[offset:],
                        grads, wt)  # fmt: skip
        delta_times_weights_t(layer_view(dlts, sizes, aoff, m, 1), weight_view(params, sizes, woff, 1), wt, delta0)
        multiply_by_derivative(codes[0], layer_view(zs, sizes, aoff, m, 0), A0, delta0)
    else:
        w_sum = weight_sum(w)
        Z_out = layer_view(zs, sizes, aoff, m, 0)
        A_out = layer_view(acts, sizes, aoff, m, 0)
        output_delta(A_out, Y, w, 1.0 / w_sum, delta0)
        loss = loss_sum(loss_code, Z_out, A_out, Y, w) / w_sum
    add_sparse_t_times_dense(data, indices, indptr, rows, delta0, weight_view(grads, sizes, woff, 0))
    if use_bias:
        sum_rows(delta0, bias_view(grads, sizes, boff, 0), 0.0)
    return loss


@jit
def sparse_predict_into(csr, rows, params, net, subnet, use_bias, first, hidden, out, check_first):
    """Write the outputs for CSR rows ``rows`` into ``out``; return PREDICTED or another status of ``predict_into``.

    ``first`` holds the first layer's activations (at least ``len(rows) * sizes[1]`` values; unused without hidden
    layers) and ``hidden`` the later hidden layers' (as :func:`fastmlp._jit.forward.predict_into`);
    ``check_first`` has ``predict_into`` check the first layer's activations for NaN and infinity. (An argument,
    not a literal: a literal would compile ``predict_into`` a second time.)
    """
    # Aliases without their owners: views of them take no references (see layout.unowned).
    rows, params, first, hidden, out = unowned((rows, params, first, hidden, out))
    csr, net, subnet = unowned(csr), unowned(net), unowned(subnet)
    data, indices, indptr = csr
    sizes, woff, boff, aoff, codes = net
    m = rows.shape[0]
    b0 = _first_bias(params, sizes, boff, use_bias)
    if sizes.shape[0] == 2:
        sparse_times_dense(data, indices, indptr, rows, weight_view(params, sizes, woff, 0), out)
        add_bias_and_activate(codes[0], use_bias, b0, out, out)
        return PREDICTED if all_finite(flat_view(out)) else OUTPUT_NOT_FINITE
    A0 = matrix_view(first, 0, m, sizes[1])
    sparse_times_dense(data, indices, indptr, rows, weight_view(params, sizes, woff, 0), A0)
    add_bias_and_activate(codes[0], use_bias, b0, A0, A0)
    return predict_into(A0, params, subnet, use_bias, hidden, out, check_first)


@jit
def train_epoch_sparse(
    csr, Y, w, order, batch_size, net, subnet, loss_code, use_bias, opt_code, hyper, vectors, step, workspace, batch,
    metric_code, record_norms, accumulators,
):  # fmt: skip
    """One training epoch over CSR input: :func:`fastmlp._jit.train.train_epoch` with a sparse first layer.

    The arguments are those of ``train_epoch`` but ``csr`` (``(data, indices, indptr)``, as for
    :func:`sparse_forward`) for ``X`` and ``subnet`` (as for :func:`sparse_forward`); the batch buffer for ``X``
    in ``batch`` is not used, since the rows are read in place through ``order``; ``accumulators`` is the pair
    ``(metric_acc, norms_acc)``.
    """
    # Aliases without their owners: views of them take no references (see layout.unowned).
    Y, w, order, hyper, step = unowned((Y, w, order, hyper, step))
    csr, net, subnet, vectors = unowned(csr), unowned(net), unowned(subnet), unowned(vectors)
    workspace, batch, accumulators = unowned(workspace), unowned(batch), unowned(accumulators)
    metric_acc, norms_acc = accumulators
    sizes, aoff = net[0], net[3]
    params = vectors[0]
    zs, acts, dlts, wt = workspace
    yb, wb = batch[1], batch[2]
    n_rows = order.shape[0]
    n_layers = sizes.shape[0] - 1
    G0 = weight_view(vectors[1], sizes, net[1], 0)
    G0[:, :] = 0.0  # once: each step then clears only the rows it touched (see sparse_backward)
    total = total_weight = 0.0
    for start in range(0, n_rows, batch_size):
        m = min(batch_size, n_rows - start)
        rows = order[start : start + m]
        Yb = matrix_view(yb, 0, m, sizes[n_layers])
        w_batch = wb[:m]
        batch_weight = gather_targets(Y, w, rows, Yb, w_batch)
        if batch_weight <= 0.0:
            continue
        sparse_forward(csr, rows, params, net, subnet, use_bias, zs, acts)
        loss = sparse_backward(csr, rows, Yb, w_batch, params, net, subnet, loss_code, use_bias, zs, acts, dlts,
                               vectors[1], wt)  # fmt: skip
        total += finish_step(
            loss, batch_weight, layer_view(acts, sizes, aoff, m, n_layers - 1), Yb, w_batch, net, opt_code, hyper,
            vectors, step, metric_code, record_norms, metric_acc, norms_acc,
        )  # fmt: skip
        zero_touched_rows(csr[1], csr[2], rows, G0)
        total_weight += batch_weight
    return total / total_weight if total_weight > 0.0 else 0.0
