"""Forward pass and gradients on one batch at DESIGN.md's W1 and W2 sizes, fastmlp beside plain NumPy."""


import fastmlp as fm

from .workloads import WORKLOADS, NumpyMLP, make_data


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
