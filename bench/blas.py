"""The BLAS behind fastmlp's kernels against NumPy's, at the training workloads' GEMM shapes.

Numba's ``np.dot`` calls the OpenBLAS that SciPy ships, NumPy its own; the two can be different OpenBLAS versions.
This prints, per shape, the median time of the same float32 product through each, in one process, on one thread
(``bench/__init__.py`` sets the thread variables before NumPy loads; ``FASTMLP_BENCH_THREADS`` changes it)::

    python -m bench.blas
"""

import os
import statistics
import time

import numpy as np
from numba import njit

# (rows, n_in, n_out) of W2's forward and weight-gradient products, and W1's largest
SHAPES = [(128, 784, 256), (128, 256, 128), (128, 128, 10), (32, 32, 32), (32, 16, 32)]


@njit(cache=True)
def _numba_dot(A, W, Z, reps):
    for _ in range(reps):
        np.dot(A, W, Z)


def _versions():
    try:
        from threadpoolctl import threadpool_info
    except ImportError:  # pragma: no cover - threadpoolctl is a dependency of fastmlp
        return []
    import scipy.linalg  # noqa: F401 - loads SciPy's BLAS so that it is listed

    return [f"{os.path.basename(i['filepath'])} {i.get('version')}" for i in threadpool_info()]


def measure(shapes=SHAPES, rounds=7, seconds=0.05):
    """Median seconds per product through Numba and through NumPy, for each ``(m, k, n)`` in ``shapes``."""
    rng = np.random.default_rng(0)
    out = {}
    for m, k, n in shapes:
        A = rng.standard_normal((m, k)).astype(np.float32)
        W = rng.standard_normal((k, n)).astype(np.float32)
        Z = np.empty((m, n), np.float32)
        _numba_dot(A, W, Z, 1)
        start = time.perf_counter()
        np.dot(A, W, out=Z)
        reps = max(1, int(seconds / max(time.perf_counter() - start, 1e-7)))
        numba_times, numpy_times = [], []
        for _ in range(rounds):  # interleaved, so that a change in the machine's load touches both alike
            start = time.perf_counter()
            _numba_dot(A, W, Z, reps)
            numba_times.append((time.perf_counter() - start) / reps)
            start = time.perf_counter()
            for _ in range(reps):
                np.dot(A, W, out=Z)
            numpy_times.append((time.perf_counter() - start) / reps)
        out[(m, k, n)] = (statistics.median(numba_times), statistics.median(numpy_times))
    return out


def main():
    print("BLAS libraries loaded:", "; ".join(_versions()))
    for (m, k, n), (via_numba, via_numpy) in measure().items():
        print(f"{m}x{k} @ {k}x{n}: Numba {via_numba * 1e6:8.2f} us, NumPy {via_numpy * 1e6:8.2f} us "
              f"(Numba's time / NumPy's {via_numba / via_numpy:.3f}; NumPy's includes its Python call)")  # fmt: skip


if __name__ == "__main__":
    main()
