"""The network engine: the one place where Python calls the compiled kernels of :mod:`fastmlp._jit`.

An :class:`Engine` holds what the kernels need to know about one network (its layout, the activation and loss
codes) and makes every kernel call: the forward pass, the loss, the loss and its gradient (sample weights and the
L2 penalty included), one training epoch and the prediction into a caller's buffer. :class:`~fastmlp.Model`, the
training loop, the estimators' L-BFGS and the command line all compute through it.

The engine trusts its inputs, as the kernels do: arrays are C-contiguous, writable, of the parameters' dtype and of
the right shapes, and inputs are finite. Checking them is the job of :mod:`fastmlp._validation`, once, at the
public API.
"""

import contextlib
import os
import threading
from concurrent.futures import ThreadPoolExecutor
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


# ------------------------------------------------------------------------------------------------------------------
# Row chunks on several threads (see fastmlp.threads for the rule and its measurements). A batch of at least
# MIN_CHUNK_ROWS rows per thread, in a network no wider than MAX_CHUNK_WIDTH, is split into one contiguous chunk
# per thread; each runs forward and backward into its own gradient buffer (the kernels release the GIL), and the
# buffers are added in chunk order, so a fixed thread count gives the same bits every run. The Python around the
# chunks is serial: on W4 (one 10,000-row batch, 2 threads) 80-90 us passed before the chunks' kernels started and
# 85-130 us after they ended (a hand-off to a pool thread and back alone takes 30-40 us here), hence the row minimum.
MIN_CHUNK_ROWS = 1024
MAX_CHUNK_WIDTH = 256


MAX_THREADS = 4096  # far above any machine's cores; a count beyond it is a mistake, and C's ints overflow


def _read_threads():
    value = os.environ.get("FASTMLP_NUM_THREADS", "1").strip() or "1"
    # ASCII digits only: str.isdigit() also accepts superscripts and other scripts' digits
    if not (value.isascii() and value.isdigit()) or not 1 <= int(value) <= MAX_THREADS:
        raise ValueError(
            f"environment variable FASTMLP_NUM_THREADS must be an integer from 1 to {MAX_THREADS}, got {value!r}."
        )
    return int(value)


_chunk_threads = _read_threads()
_pool = None
_pool_key = None
_pool_lock = threading.Lock()


def chunk_threads():
    """The number of threads that run a large batch's row chunks (1: every batch in the calling thread)."""
    return _chunk_threads


def set_chunk_threads(n):
    """Set :func:`chunk_threads` to ``n`` (an int >= 1, validated by the caller); return the previous count."""
    global _chunk_threads
    before, _chunk_threads = _chunk_threads, int(n)
    return before


def _chunk_pool(workers):
    """The process's pool of ``workers`` chunk threads (besides the caller's), made on first use."""
    global _pool, _pool_key
    key = (workers, os.getpid())
    with _pool_lock:
        if _pool_key != key:
            # A pool made before a fork has no threads in the child, and would wait for ever: never reuse one.
            if _pool is not None and _pool_key[1] == key[1]:
                _pool.shutdown(wait=False)
            _pool = ThreadPoolExecutor(workers, "fastmlp-chunk", initializer=_blas.serial_in_this_thread)
            _pool_key = key
        return _pool


def _chunks(m, threads):
    """Bounds of the contiguous chunks of ``m`` rows for up to ``threads`` threads: ``m * t // threads``."""
    used = max(1, min(threads, m))
    return [m * t // used for t in range(used + 1)]


def _run_chunks(job, n_chunks):
    """Run ``job(t)`` for every chunk, chunk 0 in this thread; return the results in chunk order."""
    futures = [_chunk_pool(n_chunks - 1).submit(job, t) for t in range(1, n_chunks)] if n_chunks > 1 else []
    try:
        first = job(0)
    finally:
        rest = [future.result() for future in futures]  # the workers write our buffers: always wait for them
    return [first, *rest]


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
        self._last_chunk_buffers = None

    def _threads_for(self, rows):
        """How many row chunks a batch of ``rows`` rows is split into (1: not split)."""
        threads = _chunk_threads
        if threads > 1 and rows >= threads * MIN_CHUNK_ROWS and int(self.layout.sizes.max()) <= MAX_CHUNK_WIDTH:
            return threads
        return 1

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

    def chunked_loss_and_gradient(self, params, X, Y, w, alpha, ws, grads):
        """As :meth:`loss_and_gradient`, faster for many rows: in blocks of rows, and in row chunks on threads.

        What ``ws`` holds afterwards is not defined (the blocks reuse it). The rows run in blocks of
        ``fastmlp._jit.train.tile_rows`` rows and, with more than one thread set (:func:`chunk_threads`) and a
        network narrow enough, as one chunk per thread.
        """
        threads = self._threads_for(X.shape[0])
        if threads == 1 and X.shape[0] <= 2 * _train.MIN_TILE_ROWS:  # one block: the plain call costs less Python
            return self.loss_and_gradient(params, X, Y, w, alpha, ws, grads)
        rows = np.arange(X.shape[0], dtype=np.int64)
        weight = float(_train.rows_weight(w, rows))
        parts, wts = self._chunk_buffers(threads, grads, ws.wt)
        unused_metric = np.zeros(int(self.layout.sizes[-1]))
        with _blas.serial_section() if threads > 1 else contextlib.nullcontext():
            total, used = self._chunked_gradient(X, Y, w, rows, 1.0 / weight, params, grads, ws, None, (parts, wts),
                                                 (self.metric_code, unused_metric))  # fmt: skip
        _train.add_parts(grads, parts[: used - 1])
        return self._with_penalty(total / weight, params, w, alpha, grads)

    def _chunk_buffers(self, threads, grads, wt):
        """The extra buffers of :meth:`_chunked_gradient`: a gradient and a transposed-weight scratch per chunk.

        The last ones made are kept and given again for the same ``threads``, ``grads`` and ``wt``: a full-batch
        fit asks every epoch, and making them took about 9 us of the serial Python around W4's chunks.
        """
        cached = self._last_chunk_buffers
        if cached is not None and cached[0] == threads and cached[1] is grads and cached[2] is wt:
            return cached[3]
        buffers = np.empty((threads - 1, grads.shape[0]), dtype=grads.dtype), [wt] + [
            np.empty_like(wt) for _ in range(threads - 1)
        ]
        self._last_chunk_buffers = (threads, grads, wt, buffers)
        return buffers

    def _chunked_gradient(self, X, Y, w, rows, scale, params, grads, ws, batch, buffers, metric):
        """Write ``scale * d(sum_i w_i loss_i)/dparams`` over ``rows``, one row chunk per thread.

        Chunk 0's gradient goes to ``grads`` and chunk t's to ``parts[t - 1]``, where ``(parts, wts) = buffers``
        (from :meth:`_chunk_buffers`); the caller adds them. Returns ``(sum_i w_i loss_i, chunks used)``. ``ws``
        (and ``batch``, when the rows are to be gathered) hold at least ``len(rows)`` rows, shared out between the
        chunks. ``metric`` is ``(code, accumulator)``, added to. With more than one chunk, call it inside
        ``_blas.serial_section()``.
        """
        parts, wts = buffers
        bounds = _chunks(rows.shape[0], len(wts))
        n_chunks = len(bounds) - 1
        width = self.layout.width_sum
        n_in, n_out = int(self.layout.sizes[0]), int(self.layout.sizes[-1])
        metric_code, metric_acc = metric
        metric_parts = np.zeros((n_chunks, metric_acc.shape[0]))
        xb, yb, wb = batch if batch is not None else (ws.zs[:0],) * 3  # consecutive rows are read in place

        def job(t):
            lo, hi = bounds[t], bounds[t + 1]
            workspace = (ws.zs[lo * width : hi * width], ws.acts[lo * width : hi * width],
                         ws.dlts[lo * width : hi * width], wts[t])  # fmt: skip
            chunk_batch = (xb[lo * n_in : hi * n_in], yb[lo * n_out : hi * n_out], wb[lo:hi])
            return _train.chunk_gradient(
                X, Y, w, rows[lo:hi], scale, self.net, self.loss_code, self.bias, params,
                grads if t == 0 else parts[t - 1], workspace, chunk_batch, metric_code, metric_parts[t],
            )  # fmt: skip

        total = 0.0
        for part in _run_chunks(job, n_chunks):
            total += part
        for t in range(n_chunks):
            metric_acc += metric_parts[t]
        return total, n_chunks

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

    def train_epoch(self, X, Y, w, order, batch_size, optimizer, vectors, step, ws, batch, accumulators, norms,
                    weight_total=None):  # fmt: skip
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
        weight_total : float, optional
            ``sum(w)``, when the caller has it: a batch of every row then needs no sum of its own.
        """
        code, hyper = optimizer
        metric_acc, norms_acc = accumulators
        if isinstance(X, CSR):
            loss = _sparse.train_epoch_sparse(
                X.arrays, Y, w, order, batch_size, self.net, self.subnet, self.loss_code, self.bias, code, hyper,
                vectors, step, tuple(ws), batch, self.metric_code, norms, (metric_acc, norms_acc),
            )  # fmt: skip
            return float(loss)
        threads = self._threads_for(batch_size)
        if threads > 1:
            return self._chunked_epoch(threads, X, Y, w, order, batch_size, optimizer, vectors, step, ws, batch,
                                       accumulators, norms, weight_total)  # fmt: skip
        loss = _train.train_epoch(
            X, Y, w, order, batch_size, self.net, self.loss_code, self.bias, code, hyper, vectors, step, tuple(ws),
            batch, self.metric_code, norms, metric_acc, norms_acc,
        )  # fmt: skip
        return float(loss)

    def _chunked_epoch(self, threads, X, Y, w, order, batch_size, optimizer, vectors, step, ws, batch, accumulators,
                       norms, weight_total):  # fmt: skip
        """:meth:`train_epoch` with each batch's rows split into one chunk per thread (the same steps)."""
        code, hyper = optimizer
        metric_acc, norms_acc = accumulators
        params, grads = vectors[0], vectors[1]
        total = total_weight = 0.0
        buffers = self._chunk_buffers(threads, grads, ws.wt)
        with _blas.serial_section():
            for start in range(0, order.shape[0], batch_size):
                rows = order[start : start + batch_size]
                if weight_total is not None and rows.shape[0] == w.shape[0]:  # every row (a full-batch epoch)
                    batch_weight = weight_total
                else:
                    batch_weight = float(_train.rows_weight(w, rows))
                if batch_weight <= 0.0:
                    continue
                loss, used = self._chunked_gradient(X, Y, w, rows, 1.0 / batch_weight, params, grads, ws, batch,
                                                    buffers, (self.metric_code, metric_acc))  # fmt: skip
                total += _train.chunked_step(loss / batch_weight, batch_weight, buffers[0][: used - 1], self.net, code,
                                             hyper, vectors, step, norms, norms_acc)  # fmt: skip
                total_weight += batch_weight
        return total / total_weight if total_weight > 0.0 else 0.0
