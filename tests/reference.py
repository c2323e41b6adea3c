"""A slow, obviously correct NumPy MLP: the oracle the compiled kernels are tested against.

Written straight from the notes' equations, in float64 whatever the inputs, with no shared code from fastmlp.
"""

import numpy as np

LEAKY_SLOPE = 0.01


def ref_activation(name, Z):
    """g(Z)."""
    if name == "identity":
        return Z.copy()
    if name == "sigmoid":
        return 1.0 / (1.0 + np.exp(-Z))
    if name == "tanh":
        return np.tanh(Z)
    if name == "relu":
        return np.maximum(Z, 0.0)
    if name == "leaky_relu":
        return np.where(Z > 0, Z, LEAKY_SLOPE * Z)
    if name == "softmax":
        E = np.exp(Z - Z.max(axis=1, keepdims=True))
        return E / E.sum(axis=1, keepdims=True)
    raise ValueError(name)


def ref_derivative(name, Z):
    """g'(Z), elementwise (hidden activations only)."""
    if name == "identity":
        return np.ones_like(Z)
    if name == "sigmoid":
        s = 1.0 / (1.0 + np.exp(-Z))
        return s * (1 - s)
    if name == "tanh":
        return 1 - np.tanh(Z) ** 2
    if name == "relu":
        return (Z > 0).astype(float)
    if name == "leaky_relu":
        return np.where(Z > 0, 1.0, LEAKY_SLOPE)
    raise ValueError(name)


def ref_forward(X, weights, biases, activations):
    """Return the lists Z[k] and A[k] (A[0] = X) of the forward pass, in float64."""
    A = [np.asarray(X, dtype=np.float64)]
    Z = []
    for k, W in enumerate(weights):
        z = A[-1] @ np.asarray(W, dtype=np.float64)
        if biases is not None:
            z = z + np.asarray(biases[k], dtype=np.float64)
        Z.append(z)
        A.append(ref_activation(activations[k], z))
    return Z, A


def ref_loss(output, Z_out, A_out, Y):
    """Mean loss over rows: mse 1/2 sum (a - y)^2 / m, binary cross-entropy, or cross-entropy."""
    m = Y.shape[0]
    if output == "identity":
        return 0.5 * np.sum((A_out - Y) ** 2) / m
    if output == "sigmoid":
        # log(sigmoid(z)) = -logaddexp(0, -z); log(1 - sigmoid(z)) = -logaddexp(0, z)
        return np.sum(Y * np.logaddexp(0, -Z_out) + (1 - Y) * np.logaddexp(0, Z_out)) / m
    if output == "softmax":
        log_p = Z_out - np.logaddexp.reduce(Z_out, axis=1, keepdims=True)
        return -np.sum(Y * log_p) / m
    raise ValueError(output)


def ref_gradients(X, Y, weights, biases, activations):
    """Backpropagation in float64: return (loss, dW list, db list or None, delta list)."""
    Z, A = ref_forward(X, weights, biases, activations)
    m = X.shape[0]
    L = len(weights)
    loss = ref_loss(activations[-1], Z[-1], A[-1], Y)
    delta = [None] * L
    delta[L - 1] = (A[-1] - Y) / m  # the paired output/loss: g'(Z_L) * dJ/dA_L
    for k in range(L - 1, 0, -1):
        E = delta[k] @ np.asarray(weights[k], dtype=np.float64).T
        delta[k - 1] = ref_derivative(activations[k - 1], Z[k - 1]) * E
    dW = [A[k].T @ delta[k] for k in range(L)]
    db = None if biases is None else [delta[k].sum(axis=0) for k in range(L)]
    return loss, dW, db, delta


def ref_one_hot(labels, n_classes):
    """One-hot rows for integer labels."""
    Y = np.zeros((len(labels), n_classes))
    Y[np.arange(len(labels)), labels] = 1
    return Y
