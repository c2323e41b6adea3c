"""In-place parameter updates over the flat parameter, gradient and optimizer-state vectors.

Hyperparameters reach the kernels in one float64 array indexed by the constants below, so that adding one never
changes a kernel's signature.
"""

import math

import numpy as np

from ._config import jit

_KERNEL_SALT = "ae7e6801045e2f5ec1cc4054bbb3e1e56f188a79f02afd6f0cd6270aa596cc19"

OPT_SGD = 0
OPT_ADAM = 1
OPT_ADAMW = 2

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


@jit
def optimizer_step(code, hyper, sizes, woff, grads, params, state1, state2, step):
    """Apply one update of optimizer ``code`` to ``params`` from ``grads``.

    - SGD (``state1`` = velocity v): ``v <- momentum v - lr g``; then ``p <- p + v``, or with Nesterov
      ``p <- p + momentum v - lr g``. With momentum 0 this is exactly ``p <- p - lr g``.
    - Adam (``state1`` = m, ``state2`` = v, ``step[0]`` = t): ``t <- t + 1``;
      ``m <- beta1 m + (1 - beta1) g``; ``v <- beta2 v + (1 - beta2) g^2``;
      ``p <- p - lr * (m / (1 - beta1^t)) / (sqrt(v / (1 - beta2^t)) + eps)``.
    - AdamW: first ``W <- W - lr * weight_decay * W`` on the weights (not the biases), then the Adam update.

    Parameters
    ----------
    code : int
        OPT_SGD, OPT_ADAM or OPT_ADAMW.
    hyper : ndarray of float64, shape (N_HYPER,)
        Hyperparameters, indexed by the constants of this module.
    sizes, woff : ndarray of int64
        Layer widths and weight offsets (:mod:`fastmlp._jit.layout`), to find the weights for AdamW's decay.
    grads : ndarray of shape (n_params,)
        The gradient.
    params, state1, state2 : ndarray of shape (n_params,)
        Parameters and optimizer state. Modified in place. Unused states may be any array.
    step : ndarray of int64, shape (1,)
        Adam's step count t. Modified in place.
    """
    lr = hyper[HYPER_LR]
    n = params.shape[0]
    if code == OPT_SGD:
        # In the parameters' dtype, as PyTorch does: a float64 factor would convert every float32 element to
        # float64 and back, and made the update 3x slower at float32 (0.29 vs 0.10 us for 1,633 parameters).
        lr = params.dtype.type(lr)
        momentum = params.dtype.type(hyper[HYPER_MOMENTUM])
        if momentum >= 1.0:  # a momentum in [0, 1) within float32's rounding of 1: keep the velocity decaying
            momentum = np.nextafter(params.dtype.type(1.0), params.dtype.type(0.0))
        if momentum == 0.0:
            for i in range(n):
                params[i] -= lr * grads[i]
        elif hyper[HYPER_NESTEROV] != 0.0:
            for i in range(n):
                v = momentum * state1[i] - lr * grads[i]
                state1[i] = v
                params[i] += momentum * v - lr * grads[i]
        else:
            for i in range(n):
                v = momentum * state1[i] - lr * grads[i]
                state1[i] = v
                params[i] += v
        return
    if code == OPT_ADAMW:
        decay = 1.0 - lr * hyper[HYPER_WEIGHT_DECAY]
        for k in range(woff.shape[0]):
            start = woff[k]
            for i in range(start, start + sizes[k] * sizes[k + 1]):
                params[i] *= decay
    beta1 = hyper[HYPER_BETA1]
    beta2 = hyper[HYPER_BETA2]
    eps = hyper[HYPER_EPS]
    step[0] += 1
    t = step[0]
    correction1 = 1.0 - beta1**t
    correction2 = 1.0 - beta2**t
    for i in range(n):
        g = grads[i]
        m = beta1 * state1[i] + (1.0 - beta1) * g
        v = beta2 * state2[i] + (1.0 - beta2) * g * g
        state1[i] = m
        state2[i] = v
        params[i] -= lr * (m / correction1) / (math.sqrt(v / correction2) + eps)
