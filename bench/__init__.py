"""asv benchmarks for fastmlp.

The BLAS and fastmlp's own row chunks run on one thread unless ``FASTMLP_BENCH_THREADS`` says otherwise: fastmlp's
kernels call their own BLAS (``fastmlp.blas_info()``) and the NumPy baseline calls NumPy's, and two multi-threaded
pools in one process slow each other down, which would turn a comparison into a measure of that contention. The
variables must be set before NumPy loads.
"""

import os

_threads = os.environ.get("FASTMLP_BENCH_THREADS", "1")
_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS", "FASTMLP_NUM_THREADS")
for _name in _VARIABLES:
    os.environ[_name] = _threads

try:  # asv may have loaded NumPy (and its BLAS) before this package: limit the pools that are already running too.
    from threadpoolctl import threadpool_limits
except ImportError:  # pragma: no cover - threadpoolctl comes with the bench extra
    pass
else:
    threadpool_limits(int(_threads))
