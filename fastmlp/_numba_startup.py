"""Numba's start-up, without the SciPy import it does not need for fastmlp.

The first compiled call in a process, cached or not, sets up Numba's compiler, and that set-up imports
``numba.np.arraymath``. That module checks once, at import, whether SciPy's BLAS is there (its ``np.convolve``
and ``np.correlate`` use it when it is; ``np.dot`` and ``np.linalg`` check again when a call of them compiles),
by importing ``scipy.linalg.cython_blas``. Importing it imports the whole ``scipy.linalg`` package, and with it
SciPy's array-API layer and ``numpy.f2py``: about 0.2 s of a 0.8 s process that loads a model and predicts one
row (``python -m bench.startup``). fastmlp's kernels use none of these: their products go through its own BLAS
layer (:mod:`fastmlp._jit.blas`).

:func:`import_arraymath` imports ``numba.np.arraymath`` with that check answered from the files SciPy installs
where it finds SciPy's BLAS among them (a wheel's layout), and by Numba's own check, which imports SciPy, where it
does not (an editable or zipped SciPy, say); then it gives Numba its own check back. The answer differs from
Numba's only where the extension module is there but cannot be loaded, and then ``np.dot`` still fails at its
first compile, with Numba's error.
"""

import importlib.machinery
import importlib.util
import os
import sys


def _scipy_cython_blas_installed():
    """Whether SciPy's ``scipy/linalg/cython_blas`` extension module is installed, found without importing SciPy."""
    try:
        spec = importlib.util.find_spec("scipy")
    except (ImportError, ValueError):
        return False
    if spec is None or not spec.submodule_search_locations:
        return False
    for package_dir in spec.submodule_search_locations:
        linalg_dir = os.path.join(package_dir, "linalg")
        for suffix in importlib.machinery.EXTENSION_SUFFIXES:
            if os.path.isfile(os.path.join(linalg_dir, "cython_blas" + suffix)):
                return True
    return False


def _check_from_files(ensure_blas, check_int_width):
    """Numba's ``ensure_blas``, answered from SciPy's files when they show its BLAS, else by ``ensure_blas`` itself.

    Where the file is found, the integer-width check Numba runs after its import still runs (``check_int_width``,
    which reads ``scipy.__config__``, a small module; None for a Numba without it).
    """

    def ensure_blas_from_files():
        if not _scipy_cython_blas_installed():
            ensure_blas()  # another layout, or no SciPy: Numba's own answer (ImportError where it is missing)
            return
        if check_int_width is not None:
            check_int_width()

    return ensure_blas_from_files


def import_arraymath():
    """Import ``numba.np.arraymath`` without importing ``scipy.linalg``; a no-op when it is already imported.

    Falls back to the plain import whenever this Numba's layout differs from the one this was written against
    (``numba.np.linalg.ensure_blas``, called by ``numba.np.arraymath`` at import).
    """
    if "numba.np.arraymath" in sys.modules or "scipy.linalg" in sys.modules:
        return
    import numba.np.linalg as numba_linalg

    ensure_blas = getattr(numba_linalg, "ensure_blas", None)
    if ensure_blas is None:
        import numba.np.arraymath  # noqa: F401

        return
    check_int_width = getattr(numba_linalg, "_check_lapack_int_width", None)

    ensure_blas_from_files = _check_from_files(ensure_blas, check_int_width)
    numba_linalg.ensure_blas = ensure_blas_from_files
    try:
        import numba.np.arraymath as arraymath
    finally:
        numba_linalg.ensure_blas = ensure_blas
    if getattr(arraymath, "ensure_blas", None) is ensure_blas_from_files:
        arraymath.ensure_blas = ensure_blas


import_arraymath()
