"""One epoch of training on DESIGN.md's W1, W2 and W3 (samples per second is rows / time)."""

import fastmlp as fm

from .workloads import WORKLOADS, gemm_flops_per_step, make_data, rows


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
        """DESIGN.md's flop count per step (6 * batch * sum n_in n_out) over the measured step time."""
        history = self._epoch()
        steps = -(-len(self.X) // self.batch)
        return steps * self.flops_per_step / history.seconds[0] / 1e9

    track_gflops.unit = "GFLOP/s"
