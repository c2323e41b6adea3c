"""The workloads of DESIGN.md and a plain NumPy MLP to compare against, shared by the benchmark suites.

``FASTMLP_BENCH_PROFILE=fast`` shrinks the data sets (not the networks) for smoke runs.
"""

import os

import numpy as np

PROFILE = os.environ.get("FASTMLP_BENCH_PROFILE", "full")

# id: (sizes, hidden, output, batch, training rows)
WORKLOADS = {
    "W1": ((16, 32, 32, 1), "relu", "identity", 32, 65_536),
    "W2": ((784, 256, 128, 10), "relu", "softmax", 128, 60_000),
    "W3": ((1024, 2048, 2048, 10), "relu", "softmax", 512, 16_384),
}


def rows(workload):
    """Training rows of a workload under the current profile."""
    n = WORKLOADS[workload][4]
    return min(n, 4 * WORKLOADS[workload][3]) if PROFILE == "fast" else n


def make_data(workload, n_rows, seed=0, dtype=np.float32):
    """Random inputs and targets for ``workload``: (X, y) with integer labels for classification."""
    sizes, _, output, _, _ = WORKLOADS[workload]
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_rows, sizes[0])).astype(dtype)
    if output == "softmax":
        return X, rng.integers(0, sizes[-1], size=n_rows)
    return X, rng.normal(size=n_rows).astype(dtype)


def gemm_flops_per_step(sizes, batch):
    """Flops of one training step by DESIGN.md's rule: 6 * batch * sum(n_in * n_out)."""
    return 6 * batch * sum(a * b for a, b in zip(sizes[:-1], sizes[1:], strict=True))


class NumpyMLP:
    """A direct NumPy implementation of the same network: the baseline every suite reports a ratio against."""

    def __init__(self, weights, biases, output):
        self.weights = [np.array(W) for W in weights]
        self.biases = [np.array(b) for b in biases]
        self.output = output

    def forward(self, X):
        """Return the lists of Z and A (A[0] = X)."""
        A, Z = [X], []
        for k, (W, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            z = A[-1] @ W + b
            Z.append(z)
            if k < len(self.weights) - 1:
                A.append(np.maximum(z, 0))
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
                delta = (delta @ self.weights[k].T) * (Z[k - 1] > 0)
        return dW[::-1], db[::-1]
