"""Offsets of each layer in the flat parameter vector and in the flat workspaces, and the NumPy views.

``params`` holds, for each layer k in order, ``W_k`` (shape ``(sizes[k], sizes[k + 1])``, row-major) and then, when
the model has biases, ``b_k`` (length ``sizes[k + 1]``). The gradient and any optimizer state use the same layout.
"""

from dataclasses import dataclass

import numpy as np

__all__ = ["Layout"]


@dataclass(frozen=True)
class Layout:
    """Offsets derived from the layer widths.

    Attributes
    ----------
    sizes : ndarray of int64
        Layer widths ``(n_0, ..., n_L)``.
    woff : ndarray of int64, shape (L,)
        Start of ``W_k`` in ``params``.
    boff : ndarray of int64, shape (L,)
        Start of ``b_k`` in ``params``; -1 for every layer when the model has no biases.
    aoff : ndarray of int64, shape (L + 1,)
        Cumulative widths ``0, n_1, n_1 + n_2, ...``: layer k's block of a workspace for m rows is
        ``[m * aoff[k], m * aoff[k + 1])``.
    n_params : int
        Length of ``params``.
    """

    sizes: np.ndarray
    woff: np.ndarray
    boff: np.ndarray
    aoff: np.ndarray
    n_params: int

    @classmethod
    def build(cls, sizes, bias):
        """Lay out a model with layer widths ``sizes``, with or without biases."""
        n_layers = len(sizes) - 1
        woff = np.empty(n_layers, dtype=np.int64)
        boff = np.full(n_layers, -1, dtype=np.int64)
        offset = 0
        for k in range(n_layers):
            woff[k] = offset
            offset += sizes[k] * sizes[k + 1]
            if bias:
                boff[k] = offset
                offset += sizes[k + 1]
        aoff = np.concatenate(([0], np.cumsum(sizes[1:]))).astype(np.int64)
        return cls(np.asarray(sizes, dtype=np.int64), woff, boff, aoff, int(offset))

    @property
    def n_layers(self):
        """Number of weight layers L (hidden layers + 1)."""
        return len(self.woff)

    @property
    def width_sum(self):
        """Sum of the widths of all non-input layers: a workspace needs this many values per row."""
        return int(self.aoff[-1])

    def weight_views(self, flat):
        """Return ``[W_0, ..., W_{L-1}]`` as views into ``flat``."""
        s = self.sizes
        return [flat[w : w + s[k] * s[k + 1]].reshape(s[k], s[k + 1]) for k, w in enumerate(self.woff)]

    def bias_views(self, flat):
        """Return ``[b_0, ..., b_{L-1}]`` as views into ``flat``, or None when the model has no biases."""
        if self.boff[0] < 0:
            return None
        return [flat[b : b + self.sizes[k + 1]] for k, b in enumerate(self.boff)]

    def layer_blocks(self, buf, m):
        """Return each layer's ``(m, n_{k+1})`` block of a workspace buffer, as views."""
        aoff, sizes = self.aoff, self.sizes
        return [buf[m * aoff[k] : m * aoff[k + 1]].reshape(m, sizes[k + 1]) for k in range(self.n_layers)]
