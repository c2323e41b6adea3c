"""The one compilation policy shared by every kernel in :mod:`fastmlp._jit`.

Every kernel is declared with :func:`jit`, never with ``numba.njit`` directly, so that caching, fastmath and the
error model are decided here once.

Environment toggles (read at import):

``FASTMLP_CACHE``
    ``1`` (default) caches compiled kernels on disk (Numba's ``cache=True``); ``0`` compiles in memory.
``FASTMLP_FASTMATH``
    ``0`` (default) keeps IEEE semantics; ``1`` allows the LLVM flags that keep NaN/inf checks working
    (``nsz``, ``arcp``, ``contract``, ``afn``, ``reassoc``). Full ``fastmath=True`` is never used: it lets LLVM
    assume no NaN exists and so hides a diverging fit. Numba's cache does not tell the two apart, so with
    ``FASTMLP_FASTMATH=1`` kernels are compiled in memory, never cached.

When the on-disk cache cannot be used (a read-only install with no writable home and no ``NUMBA_CACHE_DIR``),
Numba raises at decoration time, that is during ``import fastmlp``; :func:`jit` then compiles in memory and warns
once instead of failing.
"""

import os
import warnings

import numba

_KERNEL_SALT = "95ae8010b7a9040c03630019dcd43a65fed4875d399efbbec15dc88c3c7e3004"

_SAFE_FASTMATH = frozenset({"nsz", "arcp", "contract", "afn", "reassoc"})


def _read_flag(name, default):
    value = os.environ.get(name, default).strip().lower()
    if value not in {"0", "1", "false", "true", "no", "yes", "off", "on"}:
        raise ValueError(f"environment variable {name} must be 0 or 1, got {value!r}.")
    return value in {"1", "true", "yes", "on"}


CACHE = _read_flag("FASTMLP_CACHE", "1")
FASTMATH = set(_SAFE_FASTMATH) if _read_flag("FASTMLP_FASTMATH", "0") else False

# nogil lets callers run kernels from several Python threads; error_model="numpy" turns a division by zero into
# inf/NaN (caught by the finiteness checks at the Python boundary) instead of a Python exception from the kernel.
OPTIONS = {"fastmath": FASTMATH, "error_model": "numpy", "nogil": True}

_cache_warning_shown = False


def jit(func=None, *, inline=False):
    """Compile ``func`` with fastmlp's kernel policy (see the module docstring).

    Parameters
    ----------
    func : callable
        A Python function written in Numba's nopython subset.
    inline : bool, default False
        Inline the function's Numba IR into every kernel that calls it (``inline="always"``) instead of compiling
        it as a function of its own. Meant for helpers of a few lines, and for glue called from one or two places:
        Numba spends about 0.1 s on every function it compiles, however small, but it copies an inlined function's
        IR at every call site, at a cost that grows with the function, and a function of its own is optimised
        again by LLVM inside every kernel that calls it. Code reached from many sites is better called (the
        matrix product's set-up, :func:`fastmlp._jit.blas.gemm`); ``python -m fastmlp demo`` with an empty
        ``NUMBA_CACHE_DIR`` shows the effect of a change.

    Returns
    -------
    numba.core.registry.CPUDispatcher
        The lazily compiled kernel.
    """
    if func is None:
        return lambda f: jit(f, inline=inline)
    options = dict(OPTIONS, inline="always") if inline else OPTIONS
    global _cache_warning_shown
    # Numba's cache key ignores fastmath: a cached kernel compiled under one setting would be loaded under the other,
    # so kernels compiled with the relaxed flags are never cached.
    if CACHE and not FASTMATH:
        try:
            return numba.njit(cache=True, **options)(func)
        except RuntimeError as exc:  # "cannot cache function ...: no locator available for file ..."
            if not _cache_warning_shown:
                _cache_warning_shown = True
                current = os.environ.get("NUMBA_CACHE_DIR")
                where = f"NUMBA_CACHE_DIR={current!r} is not writable" if current else "NUMBA_CACHE_DIR is not set"
                warnings.warn(
                    f"fastmlp: the on-disk compile cache is unavailable ({exc}); compiling in memory instead, "
                    f"which costs a few seconds per process. {where}: set NUMBA_CACHE_DIR to a private writable "
                    "directory.",
                    RuntimeWarning,
                    stacklevel=2,
                )
    return numba.njit(cache=False, **options)(func)


def subroutine_flags():
    """Numba's compiler flags for :mod:`fastmlp._jit.vecmath`'s scalar functions: this policy's error model, fastmath.

    A function compiled during lowering with ``context.compile_subroutine`` does not inherit the calling kernel's
    options, and Numba's defaults differ from :data:`OPTIONS`: the Python error model would make a division by zero
    raise. Only these two are set (no NRT, no bounds checks: the functions take and return scalars). Numba caches
    such a function per process by its code and signature, not by these flags, which is right because both are
    fixed at import.
    """
    from numba.core import compiler

    flags = compiler.Flags()
    flags.error_model = OPTIONS["error_model"]
    if OPTIONS["fastmath"]:
        flags.fastmath = OPTIONS["fastmath"]
    return flags
