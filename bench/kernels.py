"""Forward pass, gradients and predict at the W1 and W2 sizes (``bench/workloads.py``), fastmlp beside NumPy.

W1 is a 16-32-32-1 regression net (batch 32), W2 a 784-256-128-10 classifier (batch 128). ``PredictOneRow`` is
the one-row latency on W2's net with each hidden activation, against the few-line NumPy forward (three products
and the activations, then the softmax).
"""


import fastmlp as fm

from . import peers
from .workloads import ACTIVATIONS, WORKLOADS, NumpyMLP, make_data


class Batch:
    """One batch of the workload's size through the forward pass, and through forward + backward."""

    params = (["W1", "W2"], ["fastmlp", "numpy"])
    param_names = ["workload", "implementation"]

    def setup(self, workload, implementation):
        sizes, hidden, output, batch, _ = WORKLOADS[workload]
        self.model = fm.Model(sizes, hidden=hidden, output=output, seed=0)
        self.X, self.y = make_data(workload, batch)
        self.Y = self.model._targets(self.y, batch)
        self.numpy = NumpyMLP(self.model.weights, self.model.biases, output)
        # Compile (or load from the cache) outside the timed region.
        self.model.forward(self.X)
        self.model.gradients(self.X, self.y)
        self.impl = implementation

    def time_forward(self, workload, implementation):
        if self.impl == "fastmlp":
            self.model.forward(self.X)
        else:
            self.numpy.forward(self.X)

    def time_gradients(self, workload, implementation):
        if self.impl == "fastmlp":
            self.model.gradients(self.X, self.y)
        else:
            self.numpy.gradients(self.X, self.Y)


class Predict:
    """Predict 10,000 rows in chunks."""

    params = (["W1", "W2"], ["fastmlp", "numpy"])
    param_names = ["workload", "implementation"]

    def setup(self, workload, implementation):
        sizes, hidden, output, _, _ = WORKLOADS[workload]
        self.model = fm.Model(sizes, hidden=hidden, output=output, seed=0)
        self.X, _ = make_data(workload, 10_000)
        self.numpy = NumpyMLP(self.model.weights, self.model.biases, output)
        self.model.predict(self.X[:2])
        self.impl = implementation

    def time_predict(self, workload, implementation):
        if self.impl == "fastmlp":
            self.model.predict(self.X)
        else:
            self.numpy.forward(self.X)

    def peakmem_predict(self, workload, implementation):
        self.time_predict(workload, implementation)


class PredictOneRow:
    """One row through W2's net (softmax output) with each hidden activation: the latency of a single call."""

    params = (list(ACTIVATIONS), ["fastmlp", "numpy"])
    param_names = ["activation", "implementation"]

    def setup(self, activation, implementation):
        spec = peers.spec_for("P1", activation)
        X, _ = make_data("W2", 1)
        self.predict = peers.PREDICTORS[implementation](spec, peers.initial_params(spec), X)
        self.predict()  # compile (or load from the cache) outside the timed region

    def time_predict_one_row(self, activation, implementation):
        self.predict()
