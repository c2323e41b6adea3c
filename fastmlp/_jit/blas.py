"""Matrix products through a BLAS that fastmlp chooses at import, called as ``cblas_sgemm``/``cblas_dgemm``.

The kernels call :func:`gemm`, which takes transpose flags, ``alpha`` and ``beta``: ``C <- alpha op(A) op(B) +
beta C``. A transposed operand is read in place (no copy) and ``beta = 1`` accumulates into ``C``.

The library is reached through two symbols, ``fastmlp_sgemm`` and ``fastmlp_dgemm``, that this module registers
with LLVM (``llvmlite.binding.add_symbol``) as the chosen library's functions before any kernel is compiled or
loaded. Compiled code names the symbols, never an address, so a kernel that Numba loads from its on-disk cache is
linked against this process's library: an address saved by another process would not be valid here.

The environment variable ``FASTMLP_BLAS`` chooses, read once at import:

``auto`` (default)
    Intel MKL when its runtime library loads (``pip install "fastmlp[mkl]"``) and the processor is not AMD's (nor
    Hygon's, whose are AMD's design), else OpenBLAS. On an AMD EPYC (Zen 4) MKL 2026.2 trained each network measured
    slower than OpenBLAS 0.3.34 (W4's epoch in 1.45x the time, W2's in 1.1-1.3x, W1's in 1.1-1.6x), and ran their
    small products 1.5-3x slower.
``openblas``
    OpenBLAS from the ``scipy-openblas32`` wheel, a dependency of fastmlp.
``mkl``
    Intel MKL; an error at import when its runtime does not load.
"""

import contextlib
import ctypes
import glob
import os
import sys
import threading

import numpy as np
from llvmlite import binding as _llvm
from numba import types

from ._config import jit

_KERNEL_SALT = "95ae8010b7a9040c03630019dcd43a65fed4875d399efbbec15dc88c3c7e3004"

CHOICES = ("auto", "openblas", "mkl")

# CBLAS enumerations (cblas.h): the kernels' arrays are row-major.
_ROW_MAJOR = np.int32(101)
_NO_TRANS = np.int32(111)
_TRANS = np.int32(112)


def _mkl_candidates():
    """Where the ``mkl`` wheel (and conda) put MKL's single dynamic library, newest names first."""
    roots = [os.path.join(sys.prefix, "lib"), os.path.join(sys.prefix, "Library", "bin")]
    patterns = ["libmkl_rt.so*", "libmkl_rt*.dylib", "mkl_rt*.dll"]
    found = [path for root in roots for pattern in patterns for path in glob.glob(os.path.join(root, pattern))]
    return sorted(found, reverse=True)


def _load_mkl():
    """``(library, info)`` for MKL, or None when its runtime is not installed or does not load."""
    for path in _mkl_candidates():
        try:
            library = ctypes.CDLL(path)
            sgemm, dgemm = library.cblas_sgemm, library.cblas_dgemm
        except (OSError, AttributeError):
            continue
        buffer = ctypes.create_string_buffer(256)
        version = ""
        try:
            library.MKL_Get_Version_String(buffer, ctypes.c_int(len(buffer)))
            version = buffer.value.decode("ascii", "replace").strip()
        except (AttributeError, OSError):  # pragma: no cover - every MKL runtime since 2017 has it
            pass
        return (sgemm, dgemm), {"library": "mkl", "path": path, "version": version}, library
    return None


def _load_openblas():
    """``(library, info)`` for OpenBLAS from the ``scipy-openblas32`` wheel (imported, so its library is loaded)."""
    import scipy_openblas32

    library = scipy_openblas32.dll
    path = os.path.join(scipy_openblas32.get_lib_dir(), scipy_openblas32.get_library(fullname=True))
    version = scipy_openblas32.get_openblas_config().strip()
    return (library.scipy_cblas_sgemm, library.scipy_cblas_dgemm), {
        "library": "openblas", "path": path, "version": version,
    }, library  # fmt: skip


# The vendor strings of AMD's processors and of Hygon's (AMD's design), as CPUID gives them.
_AMD_VENDORS = ("AuthenticAMD", "HygonGenuine")
# LLVM's names for AMD's x86 processors (``llvmlite.binding.get_host_cpu_name()``), for where no vendor string can be
# read. LLVM calls an AMD or Hygon processor it does not know "generic", as it does any other vendor's.
_AMD_CPU_PREFIXES = ("znver", "bdver", "btver", "amdfam", "barcelona", "k8", "athlon", "opteron")


def _cpu_vendor():
    """The processor's CPUID vendor string where the platform shows it (Linux, Windows), else ``""``."""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("vendor_id"):
                    return line.partition(":")[2].strip()
    except OSError:
        pass
    import platform

    described = platform.processor()  # Windows: "AMD64 Family 25 Model 17 Stepping 1, AuthenticAMD"
    return next((vendor for vendor in _AMD_VENDORS + ("GenuineIntel",) if vendor in described), "")


def cpu_is_amd(cpu_name=None, vendor=None):
    """Whether the processor is AMD's (or Hygon's): by its vendor string, else by LLVM's name for it.

    Both default to the host's; ``vendor=""`` stands for a platform that shows no vendor string.
    """
    vendor = _cpu_vendor() if vendor is None else vendor
    if vendor:
        return vendor in _AMD_VENDORS
    name = _llvm.get_host_cpu_name() if cpu_name is None else cpu_name
    return name.startswith(_AMD_CPU_PREFIXES)


def _auto_passes_over_mkl(choice):
    """Whether ``choice`` is ``auto`` on a processor where MKL is not taken even when it is installed."""
    return choice == "auto" and cpu_is_amd()


def _choose(choice):
    """The functions, the description and the handle of the library ``choice`` names (see the module docstring)."""
    if choice not in CHOICES:
        raise ValueError(f"environment variable FASTMLP_BLAS must be one of {', '.join(CHOICES)}; got {choice!r}.")
    if choice == "mkl" or (choice == "auto" and not _auto_passes_over_mkl(choice)):
        loaded = _load_mkl()
        if loaded is not None:
            return loaded
        if choice == "mkl":
            raise ImportError(
                "FASTMLP_BLAS=mkl, but MKL's runtime library was not found or did not load; install it with "
                "pip install 'fastmlp[mkl]', or unset FASTMLP_BLAS."
            )
    return _load_openblas()


_REQUESTED = os.environ.get("FASTMLP_BLAS", "auto").strip().lower() or "auto"
_functions, INFO, _library = _choose(_REQUESTED)
INFO["requested"] = _REQUESTED
if _auto_passes_over_mkl(_REQUESTED) and _mkl_candidates():
    INFO["note"] = "MKL is installed but not chosen on an AMD processor, where it ran slower; FASTMLP_BLAS=mkl picks it"
for _name, _function in zip(("fastmlp_sgemm", "fastmlp_dgemm"), _functions, strict=True):
    _llvm.add_symbol(_name, ctypes.cast(_function, ctypes.c_void_p).value)
_functions = None  # the symbols hold the addresses; the libraries stay loaded for the life of the process


# ------------------------------------------------------------------------------------------------------------------
# Threads. When fastmlp runs row chunks of one batch on several threads, each chunk's products must run on one BLAS
# thread: a W4-sized net (4-32-16-4, 10,000 rows) took 1.07 ms per step on two chunk threads over a 1-thread
# OpenBLAS, and 2.11 ms over a 2-thread one, slower than one chunk (1.97 ms), as the two callers fight over the
# BLAS's own pool.
if INFO["library"] == "mkl":
    _mkl_local = _library.MKL_Set_Num_Threads_Local
    _mkl_local.argtypes, _mkl_local.restype = [ctypes.c_int], ctypes.c_int
else:
    _openblas_get = _library.scipy_openblas_get_num_threads
    _openblas_set = _library.scipy_openblas_set_num_threads
    _openblas_get.argtypes, _openblas_get.restype = [], ctypes.c_int
    _openblas_set.argtypes, _openblas_set.restype = [ctypes.c_int], None

_sections_lock = threading.Lock()
_open_sections = 0
_threads_before = 1


def serial_in_this_thread():
    """Make this thread's BLAS calls use one thread from now on, where the library allows it per thread (MKL).

    Called once by each of fastmlp's chunk threads; OpenBLAS has no per-thread setting, see :func:`serial_section`.
    """
    if INFO["library"] == "mkl":
        _mkl_local(1)


@contextlib.contextmanager
def serial_section():
    """Within the block, the kernels' BLAS runs every call on one thread, whichever thread makes it.

    MKL is set per thread (this one; the chunk threads call :func:`serial_in_this_thread`). OpenBLAS's setting is
    the library's, shared by the whole process: the first section to open sets it to 1 and the last to close puts
    the count back, so sections in several threads at once nest. Other fastmlp calls that run in other threads
    while a section is open also get one BLAS thread, and OpenBLAS's products can round differently on 1 thread
    than on several (some shapes of sgemm and dgemm do, checked on 0.3.34): their last bits can change.
    """
    global _open_sections, _threads_before
    if INFO["library"] == "mkl":
        before = _mkl_local(1)
        try:
            yield
        finally:
            _mkl_local(before)
        return
    with _sections_lock:
        if _open_sections == 0:
            _threads_before = _openblas_get()
            if _threads_before != 1:
                _openblas_set(1)
        _open_sections += 1
    try:
        yield
    finally:
        with _sections_lock:
            _open_sections -= 1
            if _open_sections == 0 and _threads_before != 1:
                _openblas_set(_threads_before)


_i32 = types.int32


def _gemm_signature(scalar):
    # cblas_?gemm(layout, trans_a, trans_b, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc). The pointers are passed
    # as integers, which the x86-64 and AArch64 calling conventions pass exactly as pointers.
    pointer = types.uintp
    return types.void(_i32, _i32, _i32, _i32, _i32, _i32, scalar, pointer, _i32, pointer, _i32, scalar, pointer, _i32)


_sgemm = types.ExternalFunction("fastmlp_sgemm", _gemm_signature(types.float32))
_dgemm = types.ExternalFunction("fastmlp_dgemm", _gemm_signature(types.float64))


@jit(inline=True)
def _operand(M, transpose):
    """``(trans flag, leading dimension)`` of ``M`` read as op(M): row-major storage, or column-major read flipped."""
    item = M.itemsize
    if M.strides[1] == item or M.shape[1] <= 1:
        return (_TRANS if transpose else _NO_TRANS), max(M.strides[0] // item, M.shape[1], 1)
    # a column-major M (a transposed view) is its transpose in row-major storage
    return (_NO_TRANS if transpose else _TRANS), max(M.strides[1] // item, M.shape[0], 1)


# The BLAS takes 32-bit sizes: a product with more rows (or a longer inner dimension) than this runs in blocks.
MAX_BLOCK = 2**30


@jit(inline=True)
def _call_blas(C, flag_a, flag_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc):
    """One BLAS call on the addresses ``a``, ``b`` and ``c``, in ``C``'s dtype; sizes fit in 32 bits, none is 0."""
    if C.itemsize == 4:
        _sgemm(_ROW_MAJOR, flag_a, flag_b, np.int32(m), np.int32(n), np.int32(k), np.float32(alpha), a, np.int32(lda),
               b, np.int32(ldb), np.float32(beta), c, np.int32(ldc))  # fmt: skip
    else:
        _dgemm(_ROW_MAJOR, flag_a, flag_b, np.int32(m), np.int32(n), np.int32(k), np.float64(alpha), a, np.int32(lda),
               b, np.int32(ldb), np.float64(beta), c, np.int32(ldc))  # fmt: skip


@jit(inline=True)
def gemm_in_blocks(A, transpose_a, B, transpose_b, alpha, beta, C, block):
    """:func:`gemm`, with C's rows and the inner dimension taken ``block`` at a time.

    The later inner blocks accumulate into ``C``. ``block`` is :data:`MAX_BLOCK` in the kernels, smaller in the
    tests. Each block is passed to the BLAS as addresses inside the whole operands, with the whole operands' flags
    and leading dimensions: slices would be non-contiguous arrays, a type more for Numba to compile the call for.
    """
    m, n = C.shape
    k = A.shape[0] if transpose_a else A.shape[1]
    if m == 0 or n == 0:
        return
    if k == 0:  # BLAS would still scale C, but some builds reject the zero leading dimensions of empty operands
        # Loops, not ``C[:, :] *= beta``: an array expression makes Numba compile its shape-mismatch error message
        # (string formatting), some 5 s of a first run's compile time.
        for i in range(m):
            for j in range(n):
                C[i, j] = 0.0 if beta == 0.0 else beta * C[i, j]
        return
    flag_a, lda = _operand(A, transpose_a)
    flag_b, ldb = _operand(B, transpose_b)
    ldc = max(C.strides[0] // C.itemsize, n, 1)
    a_row, a_inner = (A.strides[1], A.strides[0]) if transpose_a else (A.strides[0], A.strides[1])
    b_inner = B.strides[1] if transpose_b else B.strides[0]
    for row in range(0, m, block):
        rows = min(block, m - row)
        for inner in range(0, k, block):
            depth = min(block, k - inner)
            a = A.ctypes.data + np.uintp(row * a_row + inner * a_inner)
            b = B.ctypes.data + np.uintp(inner * b_inner)
            c = C.ctypes.data + np.uintp(row * C.strides[0])
            _call_blas(C, flag_a, flag_b, rows, n, depth, alpha, a, lda, b, ldb, beta if inner == 0 else 1.0, c, ldc)


@jit
def _gemm_call(A, transpose_a, B, transpose_b, alpha, beta, C):
    """:func:`gemm`'s body, compiled as a function of its own (see there)."""
    gemm_in_blocks(A, transpose_a, B, transpose_b, alpha, beta, C, MAX_BLOCK)


@jit(inline=True)
def gemm(A, transpose_a, B, transpose_b, alpha, beta, C):
    """``C <- alpha * op(A) @ op(B) + beta * C``, where op transposes when its flag is set. ``C`` is modified.

    Parameters
    ----------
    A, B : ndarray, 2-D
        Of ``C``'s dtype, each with one unit stride (row- or column-major); op(A) is (m, k), op(B) is (k, n).
        ``n`` (a layer's width) and the operands' row strides must fit in 32 bits; ``m`` and ``k`` (a batch's
        rows, in the forward and the weight-gradient products) may not, and are then taken in blocks.
    transpose_a, transpose_b : bool
        Whether to transpose ``A`` and ``B``.
    alpha, beta : float
        The scalars; ``beta = 0`` ignores ``C``'s values (NaN included), as BLAS specifies.
    C : ndarray of shape (m, n)
        Row-major (C-contiguous rows), written in place.

    Notes
    -----
    The product's set-up (blocks, flags, leading dimensions) is one compiled function per array type, called from
    every product site. Inlined by Numba into each site, or compiled once for each combination of literal flags,
    it cost a first run (an empty compile cache) 5-10 s of compiling; the call costs nothing measurable (a 1 x 1
    product in a compiled loop: 116 ns, against 150-154 ns inlined). ``bool()`` turns literal flags into runtime
    values.
    """
    _gemm_call(A, bool(transpose_a), B, bool(transpose_b), alpha, beta, C)
