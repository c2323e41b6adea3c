"""The benchmark workloads and a plain NumPy MLP to compare against, shared by the benchmark suites.

Every workload is a float32 MLP trained on random data (``make_data``), inputs drawn from N(0, 1):

- W1: 16-32-32-1, identity output, mean squared error, batch 32, 65,536 rows: a small net, where the per-step
  overhead of a framework shows;
- W2: 784-256-128-10 (an MNIST-shaped classifier), softmax output, cross-entropy, batch 128, 60,000 rows;
- W3: 1024-2048-2048-10, softmax output, batch 512, 16,384 rows: large products, where the BLAS decides;
- W4: 4-32-16-4, identity output, mean squared error, full batch (all 10,000 rows in one step per epoch, no
  shuffling), trained with Adam: tiny matrices over many rows, where the elementwise passes (activations, their
  derivatives, the optimizer) are most of an epoch.

The hidden layers are relu unless a suite picks another of ``ACTIVATIONS``. ``FASTMLP_BENCH_PROFILE=fast`` shrinks
the data sets (not the networks) for smoke runs.
"""

import os

import numpy as np

PROFILE = os.environ.get("FASTMLP_BENCH_PROFILE", "full")

# id: (sizes, hidden, output, batch, training rows)
WORKLOADS = {
    "W1": ((16, 32, 32, 1), "relu", "identity", 32, 65_536),
    "W2": ((784, 256, 128, 10), "relu", "softmax", 128, 60_000),
    "W3": ((1024, 2048, 2048, 10), "relu", "softmax", 512, 16_384),
    "W4": ((4, 32, 16, 4), "relu", "identity", 10_000, 10_000),
}

# The hidden activations the suites cover; relu is every workload's default.
ACTIVATIONS = ("relu", "tanh", "sigmoid")

# W4's optimizer: Adam with its usual constants, as fastmlp.Adam(lr=..., beta1=..., beta2=..., eps=...).
ADAM = {"lr": 1e-3, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8}


def rows(workload):
    """Training rows of a workload under the current profile.

    Parameters
    ----------
    workload : str
        A key of ``WORKLOADS``.

    Returns
    -------
    int
        The full row count, or under ``FASTMLP_BENCH_PROFILE=fast`` at most four batches (all of W4's rows, its
        batch being the whole data set).
    """
    n = WORKLOADS[workload][4]
    return min(n, 4 * WORKLOADS[workload][3]) if PROFILE == "fast" else n


def make_data(workload, n_rows, seed=0, dtype=np.float32):
    """Random inputs and targets for ``workload``.

    Parameters
    ----------
    workload : str
        A key of ``WORKLOADS``.
    n_rows : int
        Rows to draw.
    seed : int, default=0
        Seed of the generator.
    dtype : numpy dtype, default=numpy.float32
        Of the inputs and of regression targets.

    Returns
    -------
    X : ndarray of shape (n_rows, n_inputs)
    y : ndarray
        Integer labels for a softmax output; for an identity output, shape (n_rows,) with one output and
        (n_rows, n_outputs) with several.
    """
    sizes, _, output, _, _ = WORKLOADS[workload]
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_rows, sizes[0])).astype(dtype)
    if output == "softmax":
        return X, rng.integers(0, sizes[-1], size=n_rows)
    shape = n_rows if sizes[-1] == 1 else (n_rows, sizes[-1])
    return X, rng.normal(size=shape).astype(dtype)


def gemm_flops_per_step(sizes, batch):
    """Flops of the matrix products of one training step: 6 * batch * sum(n_in * n_out).

    Two flops per multiply-add, three products per layer (forward, weight gradient, delta), the first layer's
    delta counted although no step needs it.

    Parameters
    ----------
    sizes : sequence of int
        Layer widths, input first.
    batch : int
        Rows per step.

    Returns
    -------
    int
    """
    return 6 * batch * sum(a * b for a, b in zip(sizes[:-1], sizes[1:], strict=True))


def activate(hidden, z):
    """A hidden activation in NumPy, as a new array.

    Parameters
    ----------
    hidden : {"relu", "tanh", "sigmoid"}
    z : ndarray

    Returns
    -------
    ndarray
    """
    if hidden == "relu":
        return np.maximum(z, 0)
    if hidden == "tanh":
        return np.tanh(z)
    if hidden == "sigmoid":
        # The same function as 1 / (1 + exp(-z)), without exp's overflow (and its warning) for z < -88 in float32.
        a = np.tanh(z * 0.5)
        a *= 0.5
        a += 0.5
        return a
    raise ValueError(f"unknown hidden activation {hidden!r}")


def derivative(hidden, z, a):
    """The derivative of a hidden activation at ``z``, from ``z`` and its activation ``a``.

    Parameters
    ----------
    hidden : {"relu", "tanh", "sigmoid"}
    z, a : ndarray
        The layer's pre-activations and activations.

    Returns
    -------
    ndarray
    """
    if hidden == "relu":
        return z > 0
    if hidden == "tanh":
        return 1 - a * a
    if hidden == "sigmoid":
        return a * (1 - a)
    raise ValueError(f"unknown hidden activation {hidden!r}")


class NumpyMLP:
    """A direct NumPy implementation of the same network: the baseline every suite reports a ratio against.

    Parameters
    ----------
    weights, biases : sequence of ndarray
        Copied.
    output : {"identity", "softmax"}
        Output activation (mean squared error, halved and summed over outputs, or cross-entropy).
    hidden : {"relu", "tanh", "sigmoid"}, default="relu"
        Hidden activation.
    """

    def __init__(self, weights, biases, output, hidden="relu"):
        self.weights = [np.array(W) for W in weights]
        self.biases = [np.array(b) for b in biases]
        self.output = output
        self.hidden = hidden

    def forward(self, X):
        """Return the lists of Z and A (A[0] = X)."""
        A, Z = [X], []
        for k, (W, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            z = A[-1] @ W + b
            Z.append(z)
            if k < len(self.weights) - 1:
                A.append(activate(self.hidden, z))
            elif self.output == "softmax":
                e = np.exp(z - z.max(axis=1, keepdims=True))
                A.append(e / e.sum(axis=1, keepdims=True))
            else:
                A.append(z)
        return Z, A

    def gradients(self, X, Y):
        """Backpropagation: return the lists dW and db."""
        Z, A = self.forward(X)
        delta = (A[-1] - Y) / X.shape[0]
        dW, db = [], []
        for k in range(len(self.weights) - 1, -1, -1):
            dW.append(A[k].T @ delta)
            db.append(delta.sum(axis=0))
            if k > 0:
                delta = (delta @ self.weights[k].T) * derivative(self.hidden, Z[k - 1], A[k])
        return dW[::-1], db[::-1]
