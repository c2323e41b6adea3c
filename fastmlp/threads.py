"""Thread control: how many threads the BLAS behind fastmlp's kernels (and NumPy's) may use.

fastmlp's own kernels are serial; the threads come from the BLAS that ``np.dot`` calls inside them (SciPy's
OpenBLAS) and from NumPy's BLAS. Three ways to limit them, from the most to the least global:

- environment variables read when the libraries load, before Python starts: ``OPENBLAS_NUM_THREADS``,
  ``OMP_NUM_THREADS``, ``MKL_NUM_THREADS`` (and ``NUMBA_NUM_THREADS`` for Numba's own pool, which fastmlp's serial
  kernels do not use);
- :func:`set_num_threads` at run time, for the whole process (it also sets the variables above, for processes
  started later);
- ``threadpoolctl.threadpool_limits(n)`` as a context manager, for one block of code.
"""

import os

__all__ = ["get_num_threads", "set_num_threads"]

_ENVIRONMENT = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def _load_kernel_blas():
    # Numba's np.dot calls SciPy's BLAS, which loads only on first use; load it now so that its pool is limited too.
    import scipy.linalg.cython_blas  # noqa: F401


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
    _load_kernel_blas()
    before = {info["filepath"].rsplit("/", 1)[-1]: info["num_threads"] for info in threadpool_info()}
    threadpool_limits(limits=n, user_api="blas")
    for name in _ENVIRONMENT:
        os.environ[name] = str(n)
    return before


def get_num_threads():
    """Return the thread count of every BLAS library loaded in this process, keyed by its file name."""
    from threadpoolctl import threadpool_info

    _load_kernel_blas()
    pools = [info for info in threadpool_info() if info["user_api"] == "blas"]
    return {info["filepath"].rsplit("/", 1)[-1]: info["num_threads"] for info in pools}
