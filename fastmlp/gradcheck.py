"""Backpropagation checked against central finite differences."""

from dataclasses import dataclass

import numpy as np

from ._layout import Layout
from ._validation import check_step
from .model import Model

__all__ = ["GradientCheck", "check_gradients"]


@dataclass
class GradientCheck:
    """Result of :func:`check_gradients`.

    Attributes
    ----------
    max_rel_error : float
        Worst of the per-layer errors below.
    rel_error : float
        The same measure over the whole gradient vector at once.
    weights : list of float
        For each layer k, ``||a - n|| / (||a|| + ||n||)`` between the backprop (a) and finite-difference (n)
        gradients of ``W_k`` (0 when both are 0).
    biases : list of float or None
        The same for ``b_k``; None when the model has no biases.
    analytic, numeric : ndarray of shape (n_params,)
        The two gradients, flat, in float64.
    """

    max_rel_error: float
    rel_error: float
    weights: list
    biases: list | None
    analytic: np.ndarray
    numeric: np.ndarray


_CUBE_ROOT_EPS = float(np.finfo(np.float64).eps) ** (1 / 3)


def _relative_error(a, n):
    scale = np.linalg.norm(a) + np.linalg.norm(n)
    return 0.0 if scale == 0 else float(np.linalg.norm(a - n) / scale)


def check_gradients(model, X, y, *, sample_weight=None, alpha=0.0, eps=None):
    """Compare backpropagation's gradient with central finite differences of the loss.

    The check runs on a float64 copy of ``model`` (finite differences in float32 are meaningless), perturbing each
    parameter in turn by +-h: ``n_i = (J(p + h e_i) - J(p - h e_i)) / (2 h)``. It costs ``2 * n_params`` loss
    evaluations, so use it on small models and batches.

    Parameters
    ----------
    model : Model
        The model whose gradients to check; it is not modified.
    X : array-like of shape (n_samples, sizes[0])
    y : array-like
        Targets, as for :meth:`Model.loss`.
    sample_weight : array-like of shape (n_samples,), optional
        Row weights, as for :meth:`Model.loss`.
    alpha : float, default=0.0
        L2 penalty, as for :meth:`Model.loss`.
    eps : float, optional
        Finite-difference step h. By default each parameter gets ``h = cbrt(2.2e-16) * max(1, |p_i|)``
        (about 6e-6), which balances the O(h^2) truncation error of central differences against the O(1/h)
        rounding error of the loss: a step of 1e-6 makes rounding dominate for small gradients.

    Returns
    -------
    GradientCheck
        ``max_rel_error`` and the error of each layer's weights and biases. Around 1e-8 or below means agreement.
        Two things make it larger without any error in backpropagation: ReLU units whose pre-activation lies within
        the step of 0 (the kink), and a layer whose gradient is tiny next to the loss, where the finite
        differences' rounding error (about 1e-16 * J / h per entry) is no longer small against the gradient;
        ``rel_error`` over the whole vector is the less sensitive figure.
    """
    if not isinstance(model, Model):
        raise TypeError(f"model must be a fastmlp.Model; got {type(model).__name__}.")
    eps = None if eps is None else check_step(eps, "eps")
    probe = model.astype("float64")
    analytic = probe.gradients(X, y, sample_weight=sample_weight, alpha=alpha).flat.copy()
    params = probe.params
    numeric = np.empty_like(params)
    for i in range(params.size):
        original = params[i]
        step = _CUBE_ROOT_EPS * max(1.0, abs(original)) if eps is None else eps
        params[i] = original + step
        loss_plus = probe.loss(X, y, sample_weight=sample_weight, alpha=alpha)
        params[i] = original - step
        loss_minus = probe.loss(X, y, sample_weight=sample_weight, alpha=alpha)
        params[i] = original
        numeric[i] = (loss_plus - loss_minus) / (2 * step)
    lay = Layout.build(probe.sizes, probe.bias)
    pairs = zip(lay.weight_views(analytic), lay.weight_views(numeric), strict=True)
    weights = [_relative_error(a, n) for a, n in pairs]
    biases = None
    if probe.bias:
        biases = [_relative_error(a, n) for a, n in zip(lay.bias_views(analytic), lay.bias_views(numeric), strict=True)]
    return GradientCheck(
        max_rel_error=max(weights + (biases or [])),
        rel_error=_relative_error(analytic, numeric),
        weights=weights,
        biases=biases,
        analytic=analytic,
        numeric=numeric,
    )
