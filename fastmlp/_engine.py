"""The network engine: the one place where Python calls the compiled kernels of :mod:`fastmlp._jit`.

An :class:`Engine` holds what the kernels need to know about one network (its layout, the activation and loss
codes) and makes every kernel call: the forward pass, the loss, the loss and its gradient (sample weights and the
L2 penalty included), one training epoch and the prediction into a caller's buffer. :class:`~fastmlp.Model`, the
training loop, the estimators' L-BFGS and the command line all compute through it.

The engine trusts its inputs, as the kernels do: arrays are C-contiguous, writable, of the parameters' dtype and of
the right shapes, and inputs are finite. Checking them is the job of :mod:`fastmlp._validation`, once, at the
public API.
"""

from typing import NamedTuple

import numpy as np

from . import _codes
from ._jit import backward as _backward
from ._jit import blas as _blas
from ._jit import forward as _forward
from ._jit import losses as _losses
from ._jit import sparse as _sparse
from ._jit import train as _train
from ._jit.checks import all_finite as _all_finite
from ._jit.checks import is_permutation as _is_permutation
from ._layout import Layout

__all__ = ["CSR", "INPUT_NOT_FINITE", "PREDICTED", "Engine", "Workspace", "all_finite", "blas_info", "is_permutation"]

PREDICTED = _forward.PREDICTED
"""What :meth:`Engine.predict_into` returns when it wrote finite outputs."""

INPUT_NOT_FINITE = _forward.INPUT_NOT_FINITE
"""What :meth:`Engine.predict_into` returns when it was asked to check the input and found NaN or infinity."""


def blas_info():
    """Return the BLAS the kernels call (see :func:`fastmlp.blas_info`)."""
    return dict(_blas.INFO)


def is_permutation(order, n):
    """Return True when the 1-D int64 array ``order`` holds every integer of ``range(n)`` exactly once."""
    return bool(_is_permutation(order, n))


def all_finite(flat):
    """Return True when the 1-D, C-contiguous float32/float64 array ``flat`` holds no NaN and no +-inf."""
    return bool(_all_finite(flat))


class CSR(NamedTuple):
    """A sparse input matrix in the kernels' form: CSR arrays of the model's dtype and int64 indices.

    Attributes
    ----------
    data : ndarray
        The stored values, finite.
    indices : ndarray of int64
        Their columns.
    indptr : ndarray of int64
        Row ``i``'s entries are ``data[indptr[i]:indptr[i + 1]]``.
    shape : tuple of int
        ``(n_rows, n_features)``.
    """

    data: np.ndarray
    indices: np.ndarray
    indptr: np.ndarray
    shape: tuple

    @property
    def arrays(self):
        """``(data, indices, indptr)``, as the kernels take them."""
        return (self.data, self.indices, self.indptr)

    def take(self, rows):
        """Return the matrix of rows ``rows`` (an int array), in that order."""
        starts, ends = self.indptr[rows], self.indptr[rows + 1]
        lengths = ends - starts
        indptr = np.concatenate(([0], np.cumsum(lengths))).astype(np.int64)
        entries = np.repeat(starts - indptr[:-1], lengths) + np.arange(indptr[-1], dtype=np.int64)
        return CSR(self.data[entries], self.indices[entries], indptr, (len(rows), self.shape[1]))


class Workspace(NamedTuple):
    """Buffers for one batch size, reused by every batch of a fit and every chunk of a prediction.

    Attributes
    ----------
    zs, acts : ndarray of shape (rows * sum of the layer widths,)
        Every layer's Z and A, laid out by :meth:`fastmlp._layout.Layout.layer_blocks`.
    dlts : ndarray
        Every layer's delta (as ``zs``); empty in a forward-only workspace.
    wt : ndarray
        Scratch for the transposed weights of small layers (used by backpropagation).
    """

    zs: np.ndarray
    acts: np.ndarray
    dlts: np.ndarray
    wt: np.ndarray


class Engine:
    """The compiled network of one configuration.

    Parameters
    ----------
    sizes : sequence of int
        Layer widths, validated.
    hidden : sequence of str
        Canonical hidden activation names, one per hidden layer.
    output : str
        Canonical output activation name.
    bias : bool
        Whether the layers have biases.

    Attributes
    ----------
    layout : Layout
        Offsets of each layer in ``params`` and in the workspaces.
    loss_name : str
        The loss paired with ``output``.
    metric_code : int
        What the epoch kernel accumulates for the training metric (an ``_codes.METRIC_*`` value).
    """

    def __init__(self, sizes, hidden, output, bias):
        self.layout = Layout.build(tuple(sizes), bias)
        self.bias = bool(bias)
        self.loss_name = _codes.OUTPUT_LOSSES[output]
        self.loss_code = _codes.LOSS_CODES[self.loss_name]
        codes = [_codes.HIDDEN_ACTIVATIONS[name] for name in hidden] + [_codes.OUTPUT_ACTIVATIONS[output]]
        lay = self.layout
        self.net = (lay.sizes, lay.woff, lay.boff, lay.aoff, np.array(codes, dtype=np.int64))
        if output == "softmax":
            self.metric_code = _codes.METRIC_ACCURACY_ARGMAX
        elif output == "sigmoid":
            self.metric_code = _codes.METRIC_ACCURACY_THRESHOLD
        else:
            self.metric_code = _codes.METRIC_SQUARED_ERROR
        self.hidden_width = int(lay.aoff[-2])
        if lay.n_layers > 1:
            # The network without its first layer, for the dense layers after a sparse first one: the same
            # absolute offsets into params, and workspace offsets that start after the first layer's block.
            sizes_, woff, boff, aoff, codes = self.net
            self.subnet = tuple(np.ascontiguousarray(a) for a in (sizes_[1:], woff[1:], boff[1:], aoff[1:] - aoff[1],
                                                                   codes[1:]))  # fmt: skip
        else:
            self.subnet = self.net  # not read by the kernels, which need a tuple of this type all the same

    # ----------------------------------------------------------------------------------------------------------
    # Buffers
    def workspace(self, rows, dtype, *, backward=True):
        """Return a :class:`Workspace` for batches of up to ``rows`` rows (forward-only when not ``backward``)."""
        size = rows * self.layout.width_sum
        return Workspace(
            zs=np.empty(size, dtype=dtype),
            acts=np.empty(size, dtype=dtype),
            dlts=np.empty(size if backward else 0, dtype=dtype),
            wt=np.empty(_backward.SMALL_LAYER_WEIGHTS if backward else 0, dtype=dtype),
        )

    def hidden_buffer(self, rows, dtype):
        """Return the workspace :meth:`predict_into` needs for up to ``rows`` rows."""
        return np.empty(rows * self.hidden_width, dtype=dtype)

    def output_block(self, buf, rows):
        """The output layer's ``(rows, n_out)`` block of a workspace buffer, as a view."""
        lay = self.layout
        return buf[rows * lay.aoff[-2] : rows * lay.aoff[-1]].reshape(rows, int(lay.sizes[-1]))

    # ----------------------------------------------------------------------------------------------------------
    # Kernel calls
    def forward(self, params, X, ws):
        """Run the forward pass of ``X``, keeping every layer's Z and A in ``ws``."""
        _forward.forward(X, params, self.net, self.bias, ws.zs, ws.acts)

    def predict_into(self, params, X, hidden, out, check_input):
        """Write the outputs for ``X`` into ``out``; return PREDICTED, INPUT_NOT_FINITE or another status.

        ``hidden`` is a buffer from :meth:`hidden_buffer`; ``check_input`` has the kernel check ``X`` first.
        """
        return _forward.predict_into(X, params, self.net, self.bias, hidden, out, check_input)

    def forward_loss(self, params, X, Y, w, ws):
        """Forward ``X``; return the output block (a view into ``ws``) and ``sum_i w_i loss_i`` (no penalty)."""
        self.forward(params, X, ws)
        m = X.shape[0]
        A_out = self.output_block(ws.acts, m)
        total = _losses.loss_sum(self.loss_code, self.output_block(ws.zs, m), A_out, Y, w)
        return A_out, float(total)

    def penalty(self, params, alpha, weight_total):
        """The L2 penalty ``alpha / 2 * sum_k ||W_k||^2 / weight_total`` (biases are not penalised)."""
        if not alpha:
            return 0.0
        lay = self.layout
        return 0.5 * alpha * _backward.weight_square_sum(params, lay.sizes, lay.woff) / weight_total

    def loss_and_gradient(self, params, X, Y, w, alpha, ws, grads):
        """Return the loss J at ``params`` (the L2 penalty included) and write dJ/dparams into ``grads``.

        The forward pass, the deltas and the gradient are left in ``ws`` and ``grads``. J is the weighted mean
        ``sum_i w_i loss_i / sum_i w_i`` plus :meth:`penalty`, whose gradient ``alpha * W_k / sum_i w_i`` is
        added to ``grads``.
        """
        self.forward(params, X, ws)
        loss = _backward.backward(
            X, Y, w, params, self.net, self.loss_code, self.bias, ws.zs, ws.acts, ws.dlts, grads, ws.wt
        )
        return self._with_penalty(loss, params, w, alpha, grads)

    def _with_penalty(self, loss, params, w, alpha, grads):
        """``loss`` plus the L2 penalty, whose gradient is added to ``grads`` (nothing when ``alpha`` is 0)."""
        if alpha:
            weight_total = float(np.sum(w, dtype=np.float64))
            lay = self.layout
            loss += self.penalty(params, alpha, weight_total)
            _backward.add_weight_penalty_gradient(params, lay.sizes, lay.woff, alpha / weight_total, grads)
        return float(loss)

    # ----------------------------------------------------------------------------------------------------------
    # A sparse first layer (CSR input)
    def sparse_forward_loss(self, params, X, rows, Y, w, ws):
        """As :meth:`forward_loss`, for the rows ``rows`` of the :class:`CSR` matrix ``X``."""
        _sparse.sparse_forward(X.arrays, rows, params, self.net, self.subnet, self.bias, ws.zs, ws.acts)
        m = rows.shape[0]
        A_out = self.output_block(ws.acts, m)
        total = _losses.loss_sum(self.loss_code, self.output_block(ws.zs, m), A_out, Y, w)
        return A_out, float(total)

    def sparse_predict_into(self, params, X, rows, first, hidden, out):
        """As :meth:`predict_into`, for the rows ``rows`` of the :class:`CSR` matrix ``X`` (inputs checked)."""
        return _sparse.sparse_predict_into(
            X.arrays, rows, params, self.net, self.subnet, self.bias, first, hidden, out, False
        )

    def first_buffer(self, rows, dtype):
        """The buffer :meth:`sparse_predict_into` needs for the first layer's activations."""
        return np.empty(rows * int(self.layout.sizes[1]), dtype=dtype)

    def sparse_loss_and_gradient(self, params, X, Y, w, alpha, ws, grads):
        """As :meth:`loss_and_gradient`, for every row of the :class:`CSR` matrix ``X``."""
        rows = np.arange(X.shape[0], dtype=np.int64)
        _sparse.sparse_forward(X.arrays, rows, params, self.net, self.subnet, self.bias, ws.zs, ws.acts)
        lay = self.layout
        grads[lay.woff[0] : lay.woff[0] + lay.sizes[0] * lay.sizes[1]] = 0.0  # the kernel adds to this block
        loss = _sparse.sparse_backward(
            X.arrays, rows, Y, w, params, self.net, self.subnet, self.loss_code, self.bias, ws.zs, ws.acts, ws.dlts,
            grads, ws.wt,
        )  # fmt: skip
        return self._with_penalty(loss, params, w, alpha, grads)

    def train_epoch(self, X, Y, w, order, batch_size, optimizer, vectors, step, ws, batch, accumulators, norms):
        """Run one training epoch in one compiled call; return its loss (see ``fastmlp._jit.train.train_epoch``).

        Parameters
        ----------
        X, Y, w, order, batch_size
            The data in the kernels' form (``X`` an array or a :class:`CSR` matrix), the rows to visit in order,
            and the rows per step.
        optimizer : tuple
            ``(code, hyper)``: the optimizer's kernel code and its float64 hyperparameter array.
        vectors : tuple of ndarray
            ``(params, grads, state1, state2)``, modified in place.
        step : ndarray of int64, shape (1,)
            Adam's step count, modified in place.
        ws : Workspace
            For ``batch_size`` rows.
        batch : tuple of ndarray
            ``(xb, yb, wb)`` buffers for a gathered batch.
        accumulators : tuple of ndarray
            ``(metric_acc, norms_acc)``, added to in place.
        norms : bool
            Whether to accumulate per-layer gradient norms.
        """
        code, hyper = optimizer
        metric_acc, norms_acc = accumulators
        if isinstance(X, CSR):
            loss = _sparse.train_epoch_sparse(
                X.arrays, Y, w, order, batch_size, self.net, self.subnet, self.loss_code, self.bias, code, hyper,
                vectors, step, tuple(ws), batch, self.metric_code, norms, (metric_acc, norms_acc),
            )  # fmt: skip
            return float(loss)
        loss = _train.train_epoch(
            X, Y, w, order, batch_size, self.net, self.loss_code, self.bias, code, hyper, vectors, step, tuple(ws),
            batch, self.metric_code, norms, metric_acc, norms_acc,
        )  # fmt: skip
        return float(loss)
