"""The BLAS behind fastmlp's kernels: which library it is, and how many threads it may use.

fastmlp's own kernels are serial; the threads come from the BLAS they call for matrix products (OpenBLAS from the
``scipy-openblas32`` wheel, or Intel MKL when installed: see :func:`blas_info`) and from NumPy's BLAS. Three ways
to limit them, from the most to the least global:

- environment variables read when the libraries load, before Python starts: ``OPENBLAS_NUM_THREADS``,
  ``OMP_NUM_THREADS``, ``MKL_NUM_THREADS`` (and ``NUMBA_NUM_THREADS`` for Numba's own pool, which fastmlp's serial
  kernels do not use);
- :func:`set_num_threads` at run time, for the whole process (it also sets the variables above, for processes
  started later);
- ``threadpoolctl.threadpool_limits(n)`` as a context manager, for one block of code.

The library is chosen when fastmlp is imported: MKL when its runtime loads (``pip install "fastmlp[mkl]"``), else
OpenBLAS; the environment variable ``FASTMLP_BLAS`` (``auto``, ``openblas`` or ``mkl``) overrides the choice.
"""

import os

from ._engine import blas_info as _blas_info

__all__ = ["blas_info", "get_num_threads", "set_num_threads"]

_ENVIRONMENT = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def blas_info():
    """Describe the BLAS library that fastmlp's kernels call for their matrix products.

    Returns
    -------
    dict
        ``library``: ``"openblas"`` or ``"mkl"``; ``path``: the library file; ``version``: its version string;
        ``requested``: the ``FASTMLP_BLAS`` setting it was chosen by (``"auto"`` unless set).
    """
    return _blas_info()


def set_num_threads(n):
    """Limit every BLAS thread pool of this process, and of processes it starts later, to ``n`` threads.

    Numba's own thread pool is left alone, not even started: the kernels are serial.

    Parameters
    ----------
    n : int
        Threads, >= 1. Results are bit-identical for a fixed thread count; they may differ between counts.

    Returns
    -------
    dict
        The thread count each BLAS library had before, keyed by its file name.
    """
    from threadpoolctl import threadpool_info, threadpool_limits

    from ._validation import check_int

    n = check_int(n, "n", 1)
    before = {info["filepath"].rsplit("/", 1)[-1]: info["num_threads"] for info in threadpool_info()}
    threadpool_limits(limits=n, user_api="blas")
    for name in _ENVIRONMENT:
        os.environ[name] = str(n)
    return before


def get_num_threads():
    """Return the thread count of every BLAS library loaded in this process, keyed by its file name."""
    from threadpoolctl import threadpool_info

    pools = [info for info in threadpool_info() if info["user_api"] == "blas"]
    return {info["filepath"].rsplit("/", 1)[-1]: info["num_threads"] for info in pools}
