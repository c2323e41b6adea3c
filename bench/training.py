"""Training epochs of the benchmark workloads (``bench/workloads.py``); samples per second is rows / time.

``Epoch`` runs W1 (16-32-32-1, batch 32), W2 (784-256-128-10, batch 128) and W3 (1024-2048-2048-10, batch 512)
with relu hidden layers on their full row counts. ``ActivationEpoch`` runs W1 and W2 with relu, tanh and sigmoid
hidden layers on fewer rows, so that each asv sample stays well under a second; ``W4Epoch`` runs W4 (4-32-16-4,
Adam, all 10,000 rows in one step per epoch, no shuffling) with each activation, in ms per epoch, and
``OutputEpoch`` the same network with each output (identity, sigmoid, softmax) in float32 and float64.
"""

import time

import fastmlp as fm

from .workloads import ACTIVATIONS, ADAM, WORKLOADS, gemm_flops_per_step, make_data, rows

# Rows of ActivationEpoch's epochs: about 20-100 ms each for fastmlp on one core.
ACTIVATION_ROWS = {"W1": 16_384, "W2": 6_144}

W4_EPOCHS = 20  # per W4Epoch sample: one epoch is a few ms, short next to the call's own overhead


class Epoch:
    """One whole epoch of plain SGD (and of Adam), one compiled call."""

    params = (["W1", "W2", "W3"], ["sgd", "adam"])
    param_names = ["workload", "optimizer"]
    number = 1
    repeat = (1, 5, 20.0)
    timeout = 600

    def setup(self, workload, optimizer):
        sizes, hidden, output, batch, _ = WORKLOADS[workload]
        self.batch = batch
        self.optimizer = fm.SGD(lr=1e-3) if optimizer == "sgd" else fm.Adam(lr=1e-4)
        self.model = fm.Model(sizes, hidden=hidden, output=output, seed=0)
        self.X, self.y = make_data(workload, rows(workload))
        self.flops_per_step = gemm_flops_per_step(sizes, batch)
        self.model.copy().fit(self.X[: 2 * batch], self.y[: 2 * batch], epochs=1, batch_size=batch)

    def _epoch(self):
        return self.model.fit(self.X, self.y, epochs=1, batch_size=self.batch, optimizer=self.optimizer)

    def time_epoch(self, workload, optimizer):
        self._epoch()

    def track_samples_per_second(self, workload, optimizer):
        return len(self.X) / self._epoch().seconds[0]

    track_samples_per_second.unit = "samples/s"

    def track_gflops(self, workload, optimizer):
        """The matrix products' flops per step (6 * batch * sum n_in n_out) over the measured step time."""
        history = self._epoch()
        steps = -(-len(self.X) // self.batch)
        return steps * self.flops_per_step / history.seconds[0] / 1e9

    track_gflops.unit = "GFLOP/s"


class ActivationEpoch:
    """One epoch of plain SGD (lr 1e-3, no shuffling) on W1 and W2 with each hidden activation."""

    params = (["W1", "W2"], list(ACTIVATIONS))
    param_names = ["workload", "activation"]
    number = 1
    repeat = (1, 10, 10.0)

    def setup(self, workload, activation):
        sizes, _, output, batch, _ = WORKLOADS[workload]
        self.batch = batch
        self.optimizer = fm.SGD(lr=1e-3)
        self.model = fm.Model(sizes, hidden=activation, output=output, seed=0)
        self.X, self.y = make_data(workload, min(ACTIVATION_ROWS[workload], rows(workload)))
        # Compile (or load from the cache) outside the timed region.
        self.model.copy().fit(self.X[: 2 * batch], self.y[: 2 * batch], epochs=1, batch_size=batch, shuffle=False)

    def _epoch(self):
        return self.model.fit(self.X, self.y, epochs=1, batch_size=self.batch, optimizer=self.optimizer,
                              shuffle=False)  # fmt: skip

    def time_epoch(self, workload, activation):
        self._epoch()

    def track_samples_per_second(self, workload, activation):
        return len(self.X) / self._epoch().seconds[0]

    track_samples_per_second.unit = "samples/s"


class W4Epoch:
    """W4 with each hidden activation: Adam (lr 1e-3, betas 0.9/0.999, eps 1e-8), one full-batch step per epoch."""

    params = list(ACTIVATIONS)
    param_names = ["activation"]
    number = 1
    repeat = (1, 10, 10.0)

    def setup(self, activation):
        sizes, _, output, batch, _ = WORKLOADS["W4"]
        self.batch = batch
        self.model = fm.Model(sizes, hidden=activation, output=output, seed=0)
        self.X, self.y = make_data("W4", rows("W4"))
        self.optimizer = fm.Adam(lr=ADAM["lr"], beta1=ADAM["beta1"], beta2=ADAM["beta2"], eps=ADAM["eps"])
        self._fit(1)  # compile (or load from the cache) outside the timed region

    def _fit(self, epochs):
        return self.model.fit(self.X, self.y, epochs=epochs, batch_size=self.batch, optimizer=self.optimizer,
                              shuffle=False)  # fmt: skip

    def time_epochs(self, activation):
        """``W4_EPOCHS`` epochs in one ``fit``, as a training run calls it."""
        self._fit(W4_EPOCHS)

    def track_ms_per_epoch(self, activation):
        """Wall time of one ``fit`` of ``W4_EPOCHS`` epochs, per epoch: ``fit``'s own work included."""
        start = time.perf_counter()
        self._fit(W4_EPOCHS)
        return (time.perf_counter() - start) / W4_EPOCHS * 1e3

    track_ms_per_epoch.unit = "ms"


class OutputEpoch:
    """W4's network (tanh hidden layers, Adam, one full-batch step per epoch) with each output and loss, per dtype.

    identity with mean squared error on W4's targets, sigmoid with binary cross-entropy on four labels, softmax
    with cross-entropy on four classes, all drawn from the same normal values: the output layer's own passes (the
    loss, its delta, the training metric) are what differs.
    """

    params = (["identity", "sigmoid", "softmax"], ["float32", "float64"])
    param_names = ["output", "dtype"]
    number = 1
    repeat = (1, 10, 10.0)

    def setup(self, output, dtype):
        sizes, _, _, batch, _ = WORKLOADS["W4"]
        self.batch = batch
        self.model = fm.Model(sizes, hidden="tanh", output=output, dtype=dtype, seed=0)
        X, Y = make_data("W4", rows("W4"), dtype=dtype)
        self.X = X
        self.y = {"identity": Y, "sigmoid": (Y > 0).astype(dtype), "softmax": Y.argmax(axis=1)}[output]
        self.optimizer = fm.Adam(lr=ADAM["lr"], beta1=ADAM["beta1"], beta2=ADAM["beta2"], eps=ADAM["eps"])
        self._fit(1)  # compile (or load from the cache) outside the timed region

    def _fit(self, epochs):
        return self.model.fit(self.X, self.y, epochs=epochs, batch_size=self.batch, optimizer=self.optimizer,
                              shuffle=False)  # fmt: skip

    def time_epochs(self, output, dtype):
        """``W4_EPOCHS`` epochs in one ``fit``."""
        self._fit(W4_EPOCHS)
