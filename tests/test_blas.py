"""The kernels' BLAS layer: gemm against NumPy for every flag, dtype, scalar and layout; the library choice."""

import os
import subprocess
import sys

import numpy as np
import pytest
from numba import njit
from numpy.testing import assert_allclose

import fastmlp as fm
from fastmlp._jit.blas import gemm, gemm_in_blocks


@njit
def _gemm(A, transpose_a, B, transpose_b, alpha, beta, C):
    gemm(A, transpose_a, B, transpose_b, alpha, beta, C)


def _operand(rng, rows, cols, dtype, transposed, column_major):
    """A (rows, cols) operand as stored: transposed storage when the flag is set, in either memory order."""
    shape = (cols, rows) if transposed else (rows, cols)
    M = rng.normal(size=shape).astype(dtype)
    return np.asfortranarray(M) if column_major else M


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("transpose_a", [False, True])
@pytest.mark.parametrize("transpose_b", [False, True])
@pytest.mark.parametrize("column_major", [False, True], ids=["row-major", "column-major"])
@pytest.mark.parametrize(("alpha", "beta"), [(1.0, 0.0), (-0.5, 1.0), (2.0, 0.25)])
def test_gemm_matches_numpy(dtype, transpose_a, transpose_b, column_major, alpha, beta):
    rng = np.random.default_rng(0)
    m, k, n = 7, 5, 3
    A = _operand(rng, m, k, dtype, transpose_a, column_major)
    B = _operand(rng, k, n, dtype, transpose_b, column_major)
    C = rng.normal(size=(m, n)).astype(dtype)
    op_a = A.T if transpose_a else A
    op_b = B.T if transpose_b else B
    expected = alpha * (op_a.astype(np.float64) @ op_b) + beta * C
    _gemm(A, transpose_a, B, transpose_b, alpha, beta, C)
    # entries are sums of a few O(1) products: an absolute bound at the dtype's rounding, for sums near zero
    tol = 1e-5 if dtype == np.float32 else 1e-13
    assert_allclose(C, expected, rtol=tol, atol=tol)


@njit
def _gemm_in_blocks(A, transpose_a, B, transpose_b, alpha, beta, C, block):
    gemm_in_blocks(A, transpose_a, B, transpose_b, alpha, beta, C, block)


@pytest.mark.parametrize("transpose_a", [False, True])
@pytest.mark.parametrize("transpose_b", [False, True])
def test_gemm_in_blocks_matches_one_call(transpose_a, transpose_b):
    """Products beyond the BLAS's 32-bit sizes run in blocks of rows and of the inner dimension: blocks of 3 here."""
    rng = np.random.default_rng(2)
    m, k, n = 8, 7, 4
    A = _operand(rng, m, k, np.float64, transpose_a, False)
    B = _operand(rng, k, n, np.float64, transpose_b, False)
    C = rng.normal(size=(m, n))
    expected = 0.5 * ((A.T if transpose_a else A) @ (B.T if transpose_b else B)) + 2.0 * C
    _gemm_in_blocks(A, transpose_a, B, transpose_b, 0.5, 2.0, C, 3)
    assert_allclose(C, expected, rtol=1e-13, atol=1e-13)


def test_gemm_with_beta_zero_ignores_nan_in_c():
    A, B = np.ones((2, 3)), np.ones((3, 4))
    C = np.full((2, 4), np.nan)
    _gemm(A, False, B, False, 1.0, 0.0, C)
    assert_allclose(C, 3.0)


def test_gemm_on_row_slices_and_single_columns():
    """Views as the kernels pass them: a block of rows of a wider matrix, and one-column operands."""
    rng = np.random.default_rng(1)
    big = rng.normal(size=(10, 6))
    A = big[2:7, 1:5]  # row stride 6, not 4
    B = rng.normal(size=(4, 1))
    C = np.zeros((5, 1))
    _gemm(A, False, B, False, 1.0, 0.0, C)
    assert_allclose(C, A @ B, rtol=1e-12)
    D = np.zeros((4, 1))
    _gemm(A, True, C, False, 1.0, 0.0, D)  # A.T @ C, A read in place
    assert_allclose(D, A.T @ C, rtol=1e-12)


@pytest.mark.parametrize(("m", "k", "n"), [(0, 3, 2), (3, 0, 2), (3, 2, 0)])
def test_gemm_with_an_empty_dimension(m, k, n):
    A, B = np.ones((m, k)), np.ones((k, n))
    C = np.full((m, n), 2.0)
    _gemm(A, False, B, False, 1.0, 0.5, C)
    assert_allclose(C, np.ones((m, k)) @ np.ones((k, n)) + 1.0)
    _gemm(A, False, B, False, 1.0, 0.0, C)
    assert_allclose(C, np.zeros((m, n)))


def test_blas_info_names_a_loaded_library():
    info = fm.blas_info()
    assert info["library"] in {"openblas", "mkl"}
    assert os.path.isfile(info["path"])
    assert info["version"]
    assert os.path.basename(info["path"]) in fm.get_num_threads()


def _run(code, **env):
    environment = {**os.environ, **env}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=environment, timeout=300)


def _mkl_installed():
    from fastmlp._jit.blas import _mkl_candidates

    return bool(_mkl_candidates())


@pytest.mark.subprocess
def test_an_unknown_fastmlp_blas_value_is_refused_at_import():
    result = _run("import fastmlp", FASTMLP_BLAS="atlas")
    assert result.returncode != 0
    assert "FASTMLP_BLAS must be one of auto, openblas, mkl; got 'atlas'" in result.stderr


@pytest.mark.subprocess
def test_fastmlp_blas_openblas_is_honoured():
    result = _run("import fastmlp; print(fastmlp.blas_info()['library'])", FASTMLP_BLAS="openblas")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "openblas"


@pytest.mark.parametrize(
    ("vendor", "cpu", "amd"),
    [("AuthenticAMD", "generic", True), ("HygonGenuine", "generic", True), ("GenuineIntel", "znver4", False),
     ("CentaurHauls", "generic", False), ("", "znver4", True), ("", "znver1", True), ("", "bdver2", True),
     ("", "btver2", True), ("", "amdfam10", True), ("", "k8-sse3", True), ("", "skylake-avx512", False),
     ("", "sapphirerapids", False), ("", "generic", False)],
)  # fmt: skip
def test_cpu_is_amd_reads_the_vendor_then_llvms_processor_name(vendor, cpu, amd):
    from fastmlp._jit.blas import cpu_is_amd

    assert cpu_is_amd(cpu, vendor) is amd


@pytest.mark.parametrize("amd", [True, False])
def test_auto_takes_mkl_only_off_amd_processors(monkeypatch, amd):
    from fastmlp._jit import blas

    mkl = ("mkl functions", {"library": "mkl"}, "mkl handle")
    monkeypatch.setattr(blas, "cpu_is_amd", lambda: amd)
    monkeypatch.setattr(blas, "_load_mkl", lambda: mkl)
    monkeypatch.setattr(blas, "_load_openblas", lambda: "openblas")
    assert blas._choose("auto") == ("openblas" if amd else mkl)
    assert blas._choose("mkl") == mkl  # asked for by name: taken on any processor
    assert blas._choose("openblas") == "openblas"
    monkeypatch.setattr(blas, "_load_mkl", lambda: None)  # not installed, or does not load
    assert blas._choose("auto") == "openblas"


@pytest.mark.subprocess
def test_the_choice_and_its_note_in_a_fresh_process():
    from fastmlp._jit.blas import cpu_is_amd

    code = "import fastmlp; info = fastmlp.blas_info(); print(info['library'], 'note' in info)"
    result = _run(code, FASTMLP_BLAS="auto")
    assert result.returncode == 0, result.stderr
    library, noted = result.stdout.split()
    # MKL only off AMD processors (and only if it loads); the note exactly when auto passed over an installed one.
    assert library in (("openblas",) if cpu_is_amd() else ("openblas", "mkl"))
    assert noted == str(cpu_is_amd() and _mkl_installed())


@pytest.mark.subprocess
def test_fastmlp_blas_mkl_without_mkl_is_a_clear_error_or_mkl():
    result = _run("import fastmlp; print(fastmlp.blas_info()['library'])", FASTMLP_BLAS="mkl")
    if _mkl_installed():
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == "mkl"
    else:
        assert result.returncode != 0
        assert "pip install 'fastmlp[mkl]'" in result.stderr


@pytest.mark.subprocess
@pytest.mark.parametrize("first", ["openblas", "mkl"])
def test_kernels_cached_under_one_library_run_under_the_other(tmp_path, first):
    """A cache written by a process with one library is valid in a process with the other.

    Compiled code names the gemm symbols, never an address.
    """
    if not _mkl_installed():
        pytest.skip("MKL is not installed: only one library to choose")
    second = {"openblas": "mkl", "mkl": "openblas"}[first]
    code = (
        "import numpy as np, fastmlp as fm\n"
        "m = fm.Model([6, 5, 2], output='softmax', seed=0, dtype='float64')\n"
        "X = np.random.default_rng(0).normal(size=(40, 6)); y = np.arange(40) % 2\n"
        "g = m.gradients(X, y)\n"  # the forward and backward kernels: every product, transposed ones included
        "print(fm.blas_info()['library'], repr(float(m.predict(X).sum())), repr(float(g.flat.sum())))\n"
    )
    cache = {"NUMBA_CACHE_DIR": str(tmp_path / "cache")}
    one = _run(code, FASTMLP_BLAS=first, **cache)
    two = _run(code, FASTMLP_BLAS=second, **cache)
    assert one.returncode == 0 and two.returncode == 0, one.stderr + two.stderr
    assert any((tmp_path / "cache").rglob("*.nbc")), "the first process wrote no cache"
    library_one, *values_one = one.stdout.split()
    library_two, *values_two = two.stdout.split()
    assert (library_one, library_two) == (first, second)
    assert_allclose(np.array(values_two, float), np.array(values_one, float), rtol=1e-10)


def _at_offset(a, offset):
    """A copy of ``a`` whose data start ``offset`` bytes past a 64-byte boundary."""
    buffer = np.empty(a.nbytes + 128, np.uint8)
    start = (-buffer.ctypes.data) % 64 + offset
    out = buffer[start : start + a.nbytes].view(a.dtype).reshape(a.shape)
    out[...] = a
    return out


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_results_do_not_depend_on_the_inputs_memory_alignment(dtype):
    """Some BLAS builds take other code paths for unaligned data; a fit's bits must not follow them."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 70)).astype(dtype)
    y = rng.integers(0, 4, 300)
    results = []
    for offset in (0, 4 if dtype == "float32" else 8, 16, 32):
        model = fm.Model([70, 48, 24, 4], output="softmax", seed=0, dtype=dtype)
        model.fit(_at_offset(X, offset), y, epochs=2, batch_size=64, shuffle=False)
        results.append((model.params.tobytes(), model.predict(_at_offset(X, offset)).tobytes()))
    assert all(result == results[0] for result in results[1:])
