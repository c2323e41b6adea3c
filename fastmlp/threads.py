"""Threads: fastmlp's own, and the BLAS's behind its kernels (which library it is, how many threads it may use).

Two kinds of threads run fastmlp's work:

- **fastmlp's row chunks.** A training batch (or a full-batch gradient, as L-BFGS takes) with at least 1,024 rows
  per thread, in a network no wider than 256 units (inputs included), is split into one contiguous chunk of rows per
  thread. Each thread runs forward and backward on its chunk into a gradient of its own, and the gradients are added
  in chunk order, so a fixed thread count gives the same bits on every run; results differ between thread counts by
  rounding only. While the chunks run, each makes its BLAS calls on one BLAS thread (with OpenBLAS, whose thread
  count is the whole process's, so do fastmlp's calls in other threads at that moment; their products can then round
  differently, as OpenBLAS's results on 1 thread and on several differ for some shapes; MKL is set per thread and
  leaves other threads alone). The count is 1 (off) unless set, by :func:`set_num_threads` or the environment
  variable ``FASTMLP_NUM_THREADS`` (read at import), so that by default results do not depend on the machine's core
  count.
- **The BLAS's own pool**, for matrix products: OpenBLAS from the ``scipy-openblas32`` wheel, or Intel MKL when
  installed on a processor that is not AMD's (see :func:`blas_info`), and NumPy's BLAS. They use every core unless
  limited.

Wider networks are left to the BLAS's threads, which parallelise their large products better. Forward plus
backward of one batch on 2 cores, as two chunks against one chunk over a 2-thread OpenBLAS: 4-32-16-4 at 10,000
rows 1.01-1.05 ms against 1.60-1.64 ms; 16-128-128-1 at 8,192 rows 7.8-8.0 against 11.1-11.4 ms; 16-256-256-1
23-28 against 30 ms; but 784-256-128-10 at 2,048 rows 15.3-15.9 against 14.4-14.9 ms.

Three ways to set the counts, from the most to the least global:

- environment variables read when the libraries load, before Python starts: ``FASTMLP_NUM_THREADS``,
  ``OPENBLAS_NUM_THREADS``, ``OMP_NUM_THREADS``, ``MKL_NUM_THREADS`` (and ``NUMBA_NUM_THREADS`` for Numba's own
  pool, which fastmlp does not use);
- :func:`set_num_threads` at run time, for the whole process (it also sets the variables above, for processes
  started later);
- ``threadpoolctl.threadpool_limits(n)`` as a context manager, for one block of code (the BLAS pools only).

The library is chosen when fastmlp is imported: MKL when its runtime loads (``pip install "fastmlp[mkl]"``) and the
processor is not AMD's (where MKL trained fastmlp's networks more slowly), else OpenBLAS; the environment variable
``FASTMLP_BLAS`` (``auto``, ``openblas`` or ``mkl``) overrides the choice.
"""

import os

from ._engine import MAX_THREADS
from ._engine import blas_info as _blas_info
from ._engine import chunk_threads as _chunk_threads
from ._engine import set_chunk_threads as _set_chunk_threads

__all__ = ["blas_info", "get_num_threads", "set_num_threads"]

_ENVIRONMENT = ("FASTMLP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def blas_info():
    """Describe the BLAS library that fastmlp's kernels call for their matrix products.

    Returns
    -------
    dict
        ``library``: ``"openblas"`` or ``"mkl"``; ``path``: the library file; ``version``: its version string;
        ``requested``: the ``FASTMLP_BLAS`` setting it was chosen by (``"auto"`` unless set); ``note``, only when
        ``auto`` passed over an installed MKL (on AMD processors, where MKL ran fastmlp's networks slower).
    """
    return _blas_info()


def set_num_threads(n):
    """Run fastmlp's row chunks on ``n`` threads and limit every BLAS pool to ``n``, here and in later processes.

    Numba's own thread pool is left alone, not even started: fastmlp's threads are its own.

    Parameters
    ----------
    n : int
        Threads, from 1 to 4096. Results are bit-identical for a fixed thread count; they may differ between
        counts.

    Returns
    -------
    dict
        The thread count each BLAS library had before, keyed by its file name, and fastmlp's own under
        ``"fastmlp"``.
    """
    from threadpoolctl import threadpool_info, threadpool_limits

    from ._validation import check_int

    n = check_int(n, "n", 1)
    if n > MAX_THREADS:
        raise ValueError(f"n must be an integer from 1 to {MAX_THREADS}; got {n}.")
    before = {info["filepath"].rsplit("/", 1)[-1]: info["num_threads"] for info in threadpool_info()}
    threadpool_limits(limits=n, user_api="blas")
    before["fastmlp"] = _set_chunk_threads(n)
    for name in _ENVIRONMENT:
        os.environ[name] = str(n)
    return before


def get_num_threads():
    """Return the thread count of every BLAS library loaded in this process, keyed by its file name.

    fastmlp's own count (its row-chunk threads) is under ``"fastmlp"``.
    """
    from threadpoolctl import threadpool_info

    pools = [info for info in threadpool_info() if info["user_api"] == "blas"]
    counts = {info["filepath"].rsplit("/", 1)[-1]: info["num_threads"] for info in pools}
    counts["fastmlp"] = _chunk_threads()
    return counts
