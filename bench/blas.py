"""The BLAS behind fastmlp's kernels against NumPy's, at the training workloads' matrix-product shapes.

fastmlp's kernels call ``cblas_sgemm`` through :mod:`fastmlp._jit.blas`: OpenBLAS from the ``scipy-openblas32``
wheel, or MKL when installed on a processor that is not AMD's (``FASTMLP_BLAS`` chooses); NumPy calls its own
OpenBLAS. This prints, per shape and product (the forward ``A @ W``, the weight gradient ``A.T @ D`` and the input
delta ``D @ W.T``, each with its transposed operand read in place), the median time through each, measured in turn
in one process on one thread (``bench/__init__.py`` sets the thread variables before NumPy loads;
``FASTMLP_BENCH_THREADS`` changes it)::

    python -m bench.blas                      # the library fastmlp picked
    FASTMLP_BLAS=openblas python -m bench.blas
"""

import os
import statistics
import time

import numpy as np
from numba import njit

import fastmlp
from fastmlp._jit.blas import gemm

# (rows, n_in, n_out) of W2's layers (batch 128), W3's largest (batch 512) and W1's (batch 32)
SHAPES = [(128, 784, 256), (128, 256, 128), (128, 128, 10), (512, 2048, 2048), (32, 32, 32), (32, 16, 32)]
PRODUCTS = ("A @ W", "A.T @ D", "D @ W.T")


@njit(cache=True)
def _fastmlp_gemm(A, transpose_a, B, transpose_b, C, reps):
    for _ in range(reps):
        gemm(A, transpose_a, B, transpose_b, 1.0, 0.0, C)


def _operands(product, A, W, D):
    """``(left, transpose left, right, transpose right, out shape)`` of one product."""
    if product == "A @ W":
        return A, False, W, False, (A.shape[0], W.shape[1])
    if product == "A.T @ D":
        return A, True, D, False, (A.shape[1], D.shape[1])
    return D, False, W, True, (D.shape[0], W.shape[0])


def measure(shapes=SHAPES, rounds=7, seconds=0.05):
    """Median seconds per product through fastmlp's gemm and through NumPy, keyed by ``(m, k, n, product)``."""
    rng = np.random.default_rng(0)
    out = {}
    for m, k, n in shapes:
        A = rng.standard_normal((m, k)).astype(np.float32)
        W = rng.standard_normal((k, n)).astype(np.float32)
        D = rng.standard_normal((m, n)).astype(np.float32)
        for product in PRODUCTS:
            left, t_left, right, t_right, shape = _operands(product, A, W, D)
            C = np.empty(shape, np.float32)
            left_np, right_np = (left.T if t_left else left), (right.T if t_right else right)
            _fastmlp_gemm(left, t_left, right, t_right, C, 1)
            assert np.allclose(C, left_np @ right_np, rtol=1e-3, atol=1e-2)
            start = time.perf_counter()
            np.dot(left_np, right_np, out=C)
            reps = max(1, int(seconds / max(time.perf_counter() - start, 1e-7)))
            ours, theirs = [], []
            for _ in range(rounds):  # interleaved, so that a change in the machine's load touches both alike
                start = time.perf_counter()
                _fastmlp_gemm(left, t_left, right, t_right, C, reps)
                ours.append((time.perf_counter() - start) / reps)
                start = time.perf_counter()
                for _ in range(reps):
                    np.dot(left_np, right_np, out=C)
                theirs.append((time.perf_counter() - start) / reps)
            out[(m, k, n, product)] = (statistics.median(ours), statistics.median(theirs))
    return out


def main():
    """Print the table."""
    from threadpoolctl import threadpool_info

    info = fastmlp.blas_info()
    print(f"fastmlp's kernels: {info['library']} ({info['version']}); threads {os.environ.get('OMP_NUM_THREADS')}")
    numpy_blas = [f"{os.path.basename(i['filepath'])} {i.get('version')}" for i in threadpool_info()
                  if "openblas64" in i["filepath"] or "numpy" in i["filepath"]]  # fmt: skip
    print(f"NumPy's: {'; '.join(numpy_blas) or 'see numpy.show_config()'}")
    for (m, k, n, product), (ours, theirs) in measure().items():
        print(f"{m}x{k}x{n} {product:8s}: fastmlp {ours * 1e6:9.2f} us, NumPy {theirs * 1e6:9.2f} us "
              f"(fastmlp's time / NumPy's {ours / theirs:.3f}; NumPy's includes its Python call)")  # fmt: skip


if __name__ == "__main__":
    main()
