"""In-place parameter updates over the flat parameter, gradient and optimizer-state vectors.

Hyperparameters reach the kernels in one float64 array indexed by the constants below, so that adding one never
changes a kernel's signature.
"""

import math

import numpy as np

from ._config import jit

_KERNEL_SALT = "95ae8010b7a9040c03630019dcd43a65fed4875d399efbbec15dc88c3c7e3004"

OPT_SGD = 0
OPT_ADAM = 1
OPT_ADAMW = 2
OPT_ADAM_FOLDED = 3  # scikit-learn's Adam: the bias corrections folded into the step size

# Indices into the hyperparameter array.
HYPER_LR = 0
HYPER_MOMENTUM = 1
HYPER_NESTEROV = 2
HYPER_BETA1 = 3
HYPER_BETA2 = 4
HYPER_EPS = 5
HYPER_WEIGHT_DECAY = 6
HYPER_ALPHA = 7
N_HYPER = 8


@jit(inline=True)
def _sgd_range(lr, momentum, nesterov, grads, params, velocity, coef):
    """SGD over the whole of ``params`` (a segment's view), with ``coef * params`` added to the gradient.

    Everything in the parameters' dtype, ``coef`` included: a float64 factor would turn a float32 loop into a
    float64 one (see :func:`optimizer_step`). The callers pass views of a segment, never a start and stop: an index
    that does not start at 0 keeps Numba's negative-index check in the loop, and that check stops LLVM from
    vectorising it (Adam over 5 million float64 parameters took 40 ms from ``woff[k]``, 13 ms over a view).
    """
    coef = params.dtype.type(coef)
    if momentum == 0.0:
        for i in range(params.shape[0]):
            params[i] -= lr * (grads[i] + coef * params[i])
    elif nesterov:
        for i in range(params.shape[0]):
            g = grads[i] + coef * params[i]
            v = momentum * velocity[i] - lr * g
            velocity[i] = v
            params[i] += momentum * v - lr * g
    else:
        for i in range(params.shape[0]):
            v = momentum * velocity[i] - lr * (grads[i] + coef * params[i])
            velocity[i] = v
            params[i] += v


@jit(inline=True)
def _adam_range(folded, lr, beta1, beta2, eps, correction1, correction2, grads, params, m1, m2, coef, decay):
    """Adam over the whole of ``params`` (scikit-learn's form when ``folded``), the gradient as for ``_sgd_range``.

    Each parameter is first multiplied by ``decay`` (AdamW's decoupled decay; 1 for none), after its penalty
    gradient is read. Each step's scalars are worked out in float64, then the loop runs in the parameters' dtype, as
    PyTorch's Adam does (scikit-learn keeps float32 moments but works its step out in float64): float64 factors made
    float32 Adam convert every element to float64 and back. The bias corrections are folded into two factors, so
    that an element costs one square root and one division: with a division by each correction, float32 Adam took
    3.4 ns a parameter (SGD 0.15).
    """
    cast = params.dtype.type
    b1, b2 = cast(beta1), cast(beta2)
    keep1, keep2 = cast(1.0 - beta1), cast(1.0 - beta2)
    eps, coef, decay = cast(eps), cast(coef), cast(decay)
    if folded:  # p - lr sqrt(c2) / c1 * m / (sqrt(v) + eps)
        step_size = cast(lr * math.sqrt(correction2) / correction1)
        v_scale = cast(1.0)
    else:  # p - lr / c1 * m / (sqrt(v) / sqrt(c2) + eps), as lr * m_hat / (sqrt(v_hat) + eps)
        step_size = cast(lr / correction1)
        v_scale = cast(1.0 / math.sqrt(correction2))
    for i in range(params.shape[0]):
        p = params[i]
        g = grads[i] + coef * p
        m = b1 * m1[i] + keep1 * g
        v = b2 * m2[i] + keep2 * g * g
        m1[i] = m
        m2[i] = v
        # The branches do not depend on i: the compiler takes them out of the loop.
        if decay != 1.0:
            p = p * decay
        if folded:
            params[i] = p - step_size * m / (math.sqrt(v) + eps)
        else:
            params[i] = p - step_size * m / (math.sqrt(v) * v_scale + eps)


@jit
def optimizer_step(code, hyper, sizes, woff, grads, params, state1, state2, step, penalty):
    """Apply one update of optimizer ``code`` to ``params`` from ``grads`` plus the L2 penalty's gradient.

    The gradient used is ``g = grads + penalty * W`` on the weights (``grads`` on the biases), the gradient of
    ``penalty / 2 * sum ||W_k||^2``, added as each element is read instead of in a pass of its own.

    - SGD (``state1`` = velocity v): ``v <- momentum v - lr g``; then ``p <- p + v``, or with Nesterov
      ``p <- p + momentum v - lr g``. With momentum 0 this is exactly ``p <- p - lr g``.
    - Adam (``state1`` = m, ``state2`` = v, ``step[0]`` = t): ``t <- t + 1``;
      ``m <- beta1 m + (1 - beta1) g``; ``v <- beta2 v + (1 - beta2) g^2``;
      ``p <- p - lr * (m / (1 - beta1^t)) / (sqrt(v / (1 - beta2^t)) + eps)``.
    - AdamW: first ``W <- W - lr * weight_decay * W`` on the weights (not the biases), then the Adam update, with
      the penalty's gradient taken at the weights before the decay.
    - Adam with folded corrections (scikit-learn's form): the same moments, then
      ``p <- p - lr * sqrt(1 - beta2^t) / (1 - beta1^t) * m / (sqrt(v) + eps)``; it differs from Adam only in how
      ``eps`` is scaled.

    Parameters
    ----------
    code : int
        OPT_SGD, OPT_ADAM, OPT_ADAMW or OPT_ADAM_FOLDED.
    hyper : ndarray of float64, shape (N_HYPER,)
        Hyperparameters, indexed by the constants of this module.
    sizes, woff : ndarray of int64
        Layer widths and weight offsets (:mod:`fastmlp._jit.layout`), to find the weights.
    grads : ndarray of shape (n_params,)
        The gradient of the loss (without the penalty). Not modified.
    params, state1, state2 : ndarray of shape (n_params,)
        Parameters and optimizer state. Modified in place. Unused states may be any array.
    step : ndarray of int64, shape (1,)
        Adam's step count t. Modified in place.
    penalty : float
        The L2 penalty's coefficient for this step (``alpha / sum of the batch's weights``), 0 for none.
    """
    lr = hyper[HYPER_LR]
    n = params.shape[0]
    n_layers = woff.shape[0]
    if code == OPT_SGD:
        # In the parameters' dtype, as PyTorch does: a float64 factor would convert every float32 element to
        # float64 and back, and made the update 3x slower at float32 (0.29 vs 0.10 us for 1,633 parameters).
        lr_p = params.dtype.type(lr)
        momentum = params.dtype.type(hyper[HYPER_MOMENTUM])
        if momentum >= 1.0:  # a momentum in [0, 1) within float32's rounding of 1: keep the velocity decaying
            momentum = np.nextafter(params.dtype.type(1.0), params.dtype.type(0.0))
        nesterov = hyper[HYPER_NESTEROV] != 0.0
        if penalty == 0.0:  # one pass over the whole vector: small networks have short segments
            _sgd_range(lr_p, momentum, nesterov, grads, params, state1, 0.0)
            return
        for k in range(n_layers):
            start = woff[k]
            w_stop = start + sizes[k] * sizes[k + 1]
            stop = woff[k + 1] if k + 1 < n_layers else n  # the layer's bias (if any) lies between
            _sgd_range(lr_p, momentum, nesterov, grads[start:w_stop], params[start:w_stop], state1[start:w_stop],
                       penalty)  # fmt: skip
            _sgd_range(lr_p, momentum, nesterov, grads[w_stop:stop], params[w_stop:stop], state1[w_stop:stop], 0.0)
        return
    beta1 = hyper[HYPER_BETA1]
    beta2 = hyper[HYPER_BETA2]
    eps = hyper[HYPER_EPS]
    step[0] += 1
    t = step[0]
    correction1 = 1.0 - beta1**t
    correction2 = 1.0 - beta2**t
    folded = code == OPT_ADAM_FOLDED
    # AdamW decays the weights (not the biases) after reading their penalty gradient, in the same pass.
    decay = 1.0 - lr * hyper[HYPER_WEIGHT_DECAY] if code == OPT_ADAMW else 1.0
    if penalty == 0.0 and decay == 1.0:
        _adam_range(folded, lr, beta1, beta2, eps, correction1, correction2, grads, params, state1, state2, 0.0, 1.0)
        return
    for k in range(n_layers):
        start = woff[k]
        w_stop = start + sizes[k] * sizes[k + 1]
        stop = woff[k + 1] if k + 1 < n_layers else n
        _adam_range(folded, lr, beta1, beta2, eps, correction1, correction2, grads[start:w_stop],
                    params[start:w_stop], state1[start:w_stop], state2[start:w_stop], penalty, decay)  # fmt: skip
        _adam_range(folded, lr, beta1, beta2, eps, correction1, correction2, grads[w_stop:stop], params[w_stop:stop],
                    state1[w_stop:stop], state2[w_stop:stop], 0.0, 1.0)  # fmt: skip
