"""One epoch of minibatch SGD on DESIGN.md's W1 and W2 (samples per second is rows / time)."""

import fastmlp as fm

from .workloads import WORKLOADS, make_data, rows


class Epoch:
    """One whole epoch of plain SGD, one compiled call."""

    params = ["W1", "W2"]
    param_names = ["workload"]
    timeout = 300

    def setup(self, workload):
        sizes, hidden, output, batch, _ = WORKLOADS[workload]
        self.batch = batch
        self.model = fm.Model(sizes, hidden=hidden, output=output, seed=0)
        self.X, self.y = make_data(workload, rows(workload))
        self.model.copy().fit(self.X[: 2 * batch], self.y[: 2 * batch], epochs=1, batch_size=batch)

    def time_epoch(self, workload):
        self.model.fit(self.X, self.y, epochs=1, batch_size=self.batch, optimizer=fm.SGD(lr=1e-3))

    def track_samples_per_second(self, workload):
        history = self.model.fit(self.X, self.y, epochs=1, batch_size=self.batch, optimizer=fm.SGD(lr=1e-3))
        return len(self.X) / history.seconds[0]

    track_samples_per_second.unit = "samples/s"
