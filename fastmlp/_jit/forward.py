"""The forward pass: ``Z_k = A_{k-1} W_k + b_k`` and ``A_k = g_k(Z_k)``, layer by layer, with ``A_0 = X``."""

import numpy as np

from ._config import jit
from .activations import add_bias_and_activate
from .checks import all_finite
from .layout import bias_view, flat_view, layer_view, weight_view

_KERNEL_SALT = "a1e07ad3604103003278c15b1a935e9e1f4f3e9951a13ed8a6a988368ec68de1"


@jit
def _bias_or_placeholder(params, sizes, boff, k, use_bias):
    """Return ``b_k``, or, for a model without biases, any array of the same type (it is not read)."""
    if use_bias:
        return bias_view(params, sizes, boff, k)
    return params[:0]


@jit
def forward(X, params, sizes, woff, boff, aoff, codes, use_bias, zs, acts):
    """Run the forward pass, keeping every layer's Z and A (what backpropagation needs).

    Parameters
    ----------
    X : ndarray of shape (m, sizes[0])
        Input batch, C-contiguous, the dtype of ``params``.
    params : ndarray of shape (n_params,)
        Flat parameter vector; see :mod:`fastmlp._jit.layout`.
    sizes, woff, boff, aoff : ndarray of int64
        Layer widths and offsets; see :mod:`fastmlp._jit.layout`.
    codes : ndarray of int64, shape (n_layers,)
        Activation code of each layer, the output activation last.
    use_bias : bool
        Whether layers have biases (``boff`` is ignored when False).
    zs, acts : ndarray of shape (>= m * aoff[-1],)
        Workspaces for the Z and A of every layer. Modified in place.

    Notes
    -----
    Unchecked preconditions: shapes agree with ``sizes``, all float arrays share one dtype, and ``X`` is finite.
    """
    m = X.shape[0]
    n_layers = sizes.shape[0] - 1
    A_prev = X
    for k in range(n_layers):
        Z = layer_view(zs, sizes, aoff, m, k)
        A = layer_view(acts, sizes, aoff, m, k)
        np.dot(A_prev, weight_view(params, sizes, woff, k), Z)
        add_bias_and_activate(codes[k], use_bias, _bias_or_placeholder(params, sizes, boff, k, use_bias), Z, A)
        A_prev = A


@jit
def predict_into(X, params, sizes, woff, boff, aoff, codes, use_bias, acts, out):
    """Run the forward pass keeping only what prediction needs, and write the output activations to ``out``.

    Each hidden layer's activation overwrites its Z in ``acts``; the output layer is computed straight into
    ``out``.

    Parameters
    ----------
    X : ndarray of shape (m, sizes[0])
        Input rows, C-contiguous, the dtype of ``params``.
    params, sizes, woff, boff, aoff, codes, use_bias
        As for :func:`forward`.
    acts : ndarray of shape (>= m * aoff[-2],)
        Workspace for the hidden layers. Modified in place.
    out : ndarray of shape (m, sizes[-1])
        C-contiguous output. Modified in place.

    Notes
    -----
    The workspace belongs to the caller: two threads must not share one (each call writes all of it).
    """
    m = X.shape[0]
    n_layers = sizes.shape[0] - 1
    A_prev = X
    for k in range(n_layers):
        A = out if k == n_layers - 1 else layer_view(acts, sizes, aoff, m, k)
        np.dot(A_prev, weight_view(params, sizes, woff, k), A)
        add_bias_and_activate(codes[k], use_bias, _bias_or_placeholder(params, sizes, boff, k, use_bias), A, A)
        A_prev = A


# What predict_checked found (0: outputs written and finite).
PREDICTED = 0
INPUT_NOT_FINITE = 1
OUTPUT_NOT_FINITE = 2


@jit
def predict_checked(X, params, sizes, woff, boff, aoff, codes, use_bias, acts, out):
    """:func:`predict_into` for inputs not yet checked for NaN or infinity, checks included, in one call.

    A one-row prediction of a mid-sized network takes about 10 us of arithmetic; checking the input and the
    output in the same compiled call saves two more calls from Python, a tenth of the total.

    Returns
    -------
    int
        PREDICTED; INPUT_NOT_FINITE (nothing computed) when ``X`` holds NaN or infinity; OUTPUT_NOT_FINITE when
        ``out`` does.
    """
    if not all_finite(flat_view(X)):
        return INPUT_NOT_FINITE
    predict_into(X, params, sizes, woff, boff, aoff, codes, use_bias, acts, out)
    if not all_finite(flat_view(out)):
        return OUTPUT_NOT_FINITE
    return PREDICTED
