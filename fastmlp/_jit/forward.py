"""The forward pass: ``Z_k = A_{k-1} W_k + b_k`` and ``A_k = g_k(Z_k)``, layer by layer, with ``A_0 = X``."""


from ._config import jit
from .activations import add_bias_and_activate
from .blas import gemm
from .checks import all_finite
from .layout import bias_view, flat_view, layer_view, unowned, weight_view

_KERNEL_SALT = "95ae8010b7a9040c03630019dcd43a65fed4875d399efbbec15dc88c3c7e3004"


@jit(inline=True)
def _bias_or_placeholder(params, sizes, boff, k, use_bias):
    """Return ``b_k``, or, for a model without biases, any array of the same type (it is not read)."""
    if use_bias:
        return bias_view(params, sizes, boff, k)
    return params[:0]


@jit(inline=True)
def forward(X, params, net, use_bias, zs, acts):
    """Run the forward pass, keeping every layer's Z and A (what backpropagation needs).

    Parameters
    ----------
    X : ndarray of shape (m, sizes[0])
        Input batch, C-contiguous, the dtype of ``params``.
    params : ndarray of shape (n_params,)
        Flat parameter vector; see :mod:`fastmlp._jit.layout`.
    net : tuple of ndarray of int64
        The network's layout ``(sizes, woff, boff, aoff, codes)``: layer widths and offsets (see
        :mod:`fastmlp._jit.layout`), and the activation code of each layer, the output activation last.
    use_bias : bool
        Whether layers have biases (``boff`` is ignored when False).
    zs, acts : ndarray of shape (>= m * aoff[-1],)
        Workspaces for the Z and A of every layer. Modified in place.

    Notes
    -----
    Unchecked preconditions: shapes agree with ``sizes``, all float arrays share one dtype, and ``X`` is finite.
    """
    sizes, woff, boff, aoff, codes = net
    m = X.shape[0]
    n_layers = sizes.shape[0] - 1
    A_prev = X
    for k in range(n_layers):
        Z = layer_view(zs, sizes, aoff, m, k)
        A = layer_view(acts, sizes, aoff, m, k)
        gemm(A_prev, False, weight_view(params, sizes, woff, k), False, 1.0, 0.0, Z)
        add_bias_and_activate(codes[k], use_bias, _bias_or_placeholder(params, sizes, boff, k, use_bias), Z, A)
        A_prev = A


# One row through a large layer (a one-row predict of a wide network): OpenBLAS's sgemm and dgemm read such a weight
# matrix at about a third of the memory bandwidth (1,024 x 2,048 float32: 1,083 us on a 2-core VM), while a loop that
# adds up its rows, scaled by the row's values, reads it at full speed (382 us, as MKL's sgemm: 380 us). In cache
# (below a few MiB) the BLAS is as fast or faster.
ROW_LOOP_BYTES = 4 * 2**20


@jit
def row_times_matrix(x, W, y):
    """Write ``y = x @ W`` (modified in place) for one row ``x`` of shape (k,) and ``W`` of shape (k, n).

    ``W``'s rows are added up, scaled by the values of ``x``, four at a time: no reduction, so the loop over a row
    of ``W`` vectorises as written, and ``y`` is read and written once per four rows of ``W``.
    """
    k, n = W.shape
    for j in range(n):
        y[j] = 0.0
    p = 0
    while p + 4 <= k:
        x0, x1, x2, x3 = x[p], x[p + 1], x[p + 2], x[p + 3]
        for j in range(n):
            y[j] += (x0 * W[p, j] + x1 * W[p + 1, j]) + (x2 * W[p + 2, j] + x3 * W[p + 3, j])
        p += 4
    while p < k:
        x0 = x[p]
        for j in range(n):
            y[j] += x0 * W[p, j]
        p += 1


# What predict_into found.
PREDICTED = 0  # outputs written, all finite
INPUT_NOT_FINITE = 1  # X holds NaN or infinity: nothing computed
OUTPUT_NOT_FINITE = 2  # outputs written, some NaN or infinite


@jit
def predict_into(X, params, net, use_bias, acts, out, check_input):
    """Run the forward pass into ``out``, keeping only what prediction needs, and check the outputs are finite.

    Each hidden layer's activation overwrites its Z in ``acts``; the output layer is computed straight into
    ``out``.

    Parameters
    ----------
    X : ndarray of shape (m, sizes[0])
        Input rows, C-contiguous, the dtype of ``params``.
    params, net, use_bias
        As for :func:`forward`.
    acts : ndarray of shape (>= m * aoff[-2],)
        Workspace for the hidden layers. Modified in place.
    out : ndarray of shape (m, sizes[-1])
        C-contiguous output. Modified in place.
    check_input : bool
        Whether to check ``X`` for NaN and infinity first. A one-row prediction of a mid-sized network takes
        about 10 us of arithmetic; checking in the same compiled call saves a call from Python.

    Returns
    -------
    int
        PREDICTED, INPUT_NOT_FINITE or OUTPUT_NOT_FINITE.

    Notes
    -----
    The workspace belongs to the caller: two threads must not share one (each call writes all of it).
    """
    # Aliases without their owners: views of them take no references (see layout.unowned).
    X, params, acts, out = unowned((X, params, acts, out))
    net = unowned(net)
    if check_input and not all_finite(flat_view(X)):
        return INPUT_NOT_FINITE
    sizes, woff, boff, aoff, codes = net
    m = X.shape[0]
    n_layers = sizes.shape[0] - 1
    A_prev = X
    for k in range(n_layers):
        A = out if k == n_layers - 1 else layer_view(acts, sizes, aoff, m, k)
        W = weight_view(params, sizes, woff, k)
        if m == 1 and W.size * W.itemsize >= ROW_LOOP_BYTES:
            row_times_matrix(A_prev[0], W, A[0])
        else:
            gemm(A_prev, False, W, False, 1.0, 0.0, A)
        add_bias_and_activate(codes[k], use_bias, _bias_or_placeholder(params, sizes, boff, k, use_bias), A, A)
        A_prev = A
    if not all_finite(flat_view(out)):
        return OUTPUT_NOT_FINITE
    return PREDICTED
