"""Prediction over Dask arrays: ``fastmlp.dask.predict(model, X)``.

A :class:`fastmlp.Model` pickles small (its configuration and flat parameters; compiled code is rebuilt, or loaded
from the worker's cache, on first use) and ``predict`` is NumPy in, NumPy out, so it maps over the row blocks of a
Dask array. This module sets the chunks, dtype and ``meta`` that ``map_blocks`` needs and ships the model to each
worker once, not once per block. Needs ``pip install "fastmlp[dask]"``.

Threads: Dask workers cap the BLAS thread pools but not Numba's (``NUMBA_NUM_THREADS``); fastmlp's kernels are
serial, so that matters only for your own parallel Numba code.
"""

import numpy as np

from . import _validation as v
from .model import Model

__all__ = ["predict"]


def predict(model, X, *, chunk_size=None):
    """Predict every row of the Dask array ``X``, lazily, block by block.

    Parameters
    ----------
    model : Model
        The model (a fitted :class:`~fastmlp.MLPRegressor`/:class:`~fastmlp.MLPClassifier` exposes one as
        ``model_``; their own ``predict`` maps too: ``X.map_blocks(estimator.predict, ...)``).
    X : dask.array.Array or array-like of shape (n_samples, sizes[0])
        Inputs; a NumPy array is wrapped with one chunk. Feature columns split over several chunks are joined.
    chunk_size : int, optional
        Rows per kernel call inside each block (see :meth:`Model.predict`).

    Returns
    -------
    dask.array.Array of shape (n_samples, sizes[-1])
        In the model's dtype, chunked along rows like ``X``. Call ``.compute()`` (or store it) to run it.

    Notes
    -----
    The graph holds a copy of the model taken by this call, so training the model further before ``.compute()``
    does not change what the graph computes.
    """
    try:
        import dask
        import dask.array as da
    except ImportError as exc:  # pragma: no cover - exercised only without dask
        raise ImportError("fastmlp.dask needs dask: pip install 'fastmlp[dask]'") from exc
    if not isinstance(model, Model):
        raise TypeError(f"model must be a fastmlp.Model; got {type(model).__name__}.")
    if chunk_size is not None:
        chunk_size = v.check_int(chunk_size, "chunk_size", 1)
    X = da.asarray(X)
    if X.ndim != 2:
        raise ValueError(f"X must be 2-D of shape (n_samples, {model.sizes[0]}); got {X.ndim}-D.")
    if not np.isnan(X.shape[1]) and X.shape[1] != model.sizes[0]:
        raise ValueError(f"X has {X.shape[1]} features, but the model expects {model.sizes[0]} (sizes[0]).")
    if len(X.chunks[1]) > 1:
        X = X.rechunk({1: -1})
    n_out = model.sizes[-1]
    # One graph node holds a copy of the model as it is now (the graph runs later, and the model may be trained
    # meanwhile); every block task refers to that node instead of carrying a copy of its own.
    shared = dask.delayed(model.copy(), pure=True)
    return da.map_blocks(
        _predict_block,
        X,
        shared,
        chunk_size,
        dtype=model.dtype,
        chunks=(X.chunks[0], (n_out,)),
        meta=np.empty((0, n_out), dtype=model.dtype),
    )


def _predict_block(block, model, chunk_size):
    if block.shape[0] == 0:
        return np.empty((0, model.sizes[-1]), dtype=model.dtype)
    return model.predict(block, chunk_size=chunk_size)
