"""The vectorised elementwise math of fastmlp._jit.vecmath and the activations and losses built on it.

Accuracy in ulp, special values, the same bits wherever a value lies in an array, and SIMD code.
"""

import itertools
import os
import platform
import re
import subprocess
import sys
import textwrap

import numba
import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from bench.vecmath_accuracy import evaluate, float32_arguments, float64_arguments, reference, ulp_error
from fastmlp._jit import _config, activations, losses, vecmath

# Max error in ulp, a little above what python -m bench.vecmath_accuracy measures over every float32 and 2e7
# random float64 arguments (the table in vecmath's docstring): a regression of a fraction of an ulp fails. tanh
# float32 allows for CPUs without FMA, where its rational's evaluation rounds a few more times (5.6 ulp).
MAX_ULP = {
    ("exp", np.float32): 1.05,
    ("exp", np.float64): 1.1,
    ("log", np.float32): 1.0,
    ("log", np.float64): 1.2,
    ("log1p", np.float32): 1.4,
    ("log1p", np.float64): 1.6,
    ("tanh", np.float32): 6.0,
    ("tanh", np.float64): 2.7,
    ("sigmoid", np.float32): 2.5,
    ("sigmoid", np.float64): 2.5,
}
FUNCTIONS = list(vecmath.FUNCTIONS)
DTYPES = [np.float32, np.float64]
WIDE_LONGDOUBLE = np.finfo(np.longdouble).nmant > np.finfo(np.float64).nmant


def _arguments(name, dtype):
    if dtype == np.float32:
        # Every 4099th bit pattern (a million values over every binade, both signs, NaNs and infinities) and every
        # float32 of a stretch in the middle of each function's range.
        dense_start = {"exp": 1.0, "log": 1.0, "log1p": 0.25, "tanh": 2.0, "sigmoid": -8.0}[name]
        start = int(np.array(dense_start, np.float32).view(np.uint32))
        return np.concatenate([float32_arguments(0, 2**32, 4099), float32_arguments(start, start + 2**19)])
    return float64_arguments(name, 1_000_000)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", FUNCTIONS)
def test_max_error_in_ulp(name, dtype):
    if dtype == np.float64 and not WIDE_LONGDOUBLE:
        pytest.skip("np.longdouble is no wider than float64: no reference for float64")
    x = _arguments(name, dtype)
    error = ulp_error(evaluate(name, x), reference(name, x), dtype)
    worst = int(np.argmax(error))
    assert error[worst] <= MAX_ULP[name, dtype], (name, x[worst], error[worst])


@pytest.mark.parametrize("dtype", DTYPES)
def test_special_values(dtype):
    inf, nan = np.inf, np.nan
    tiny = np.finfo(dtype).smallest_subnormal
    cases = {
        "exp": [(0.0, 1.0), (-0.0, 1.0), (inf, inf), (-inf, 0.0), (nan, nan), (1000.0, inf), (-1000.0, 0.0)],
        "log": [(1.0, 0.0), (0.0, -inf), (-0.0, -inf), (inf, inf), (-inf, nan), (-1.0, nan), (-tiny, nan),
                (nan, nan)],
        "log1p": [(0.0, 0.0), (-1.0, -inf), (-2.0, nan), (inf, inf), (-inf, nan), (nan, nan), (tiny, tiny)],
        "tanh": [(0.0, 0.0), (inf, 1.0), (-inf, -1.0), (nan, nan), (20.0, 1.0), (-300.0, -1.0), (tiny, tiny)],
        "sigmoid": [(0.0, 0.5), (-0.0, 0.5), (inf, 1.0), (-inf, 0.0), (nan, nan), (1000.0, 1.0), (-1000.0, 0.0)],
    }  # fmt: skip
    for name, pairs in cases.items():
        x = np.array([p[0] for p in pairs], dtype=dtype)
        assert_array_equal(evaluate(name, x), np.array([p[1] for p in pairs], dtype=dtype), err_msg=name)
    # The sign of zero survives where the function is odd there.
    for name in ("tanh", "log1p"):
        assert np.signbit(evaluate(name, np.array([-0.0], dtype=dtype)))[0], name
    assert np.signbit(evaluate("tanh", np.array([-tiny], dtype=dtype)))[0]


@pytest.mark.parametrize("dtype", DTYPES)
def test_overflow_and_underflow_edges(dtype):
    info = np.finfo(dtype)
    # The largest argument whose exp is finite, and the next: exp must agree with the correctly rounded value.
    edge = np.log(np.float64(info.max)).astype(dtype) if dtype == np.float32 else np.log(info.max)
    x = np.array([np.nextafter(edge, dtype(0)), edge, np.nextafter(edge, dtype(np.inf))], dtype=dtype)
    assert ulp_error(evaluate("exp", x), reference("exp", x), dtype).max() <= 1.0  # inf only where it rounds so
    # Subnormal results: exp and sigmoid of very negative arguments, rounded once.
    x = np.linspace(-104.0 if dtype == np.float32 else -745.0, np.log(info.tiny) + 1, 4001).astype(dtype)
    for name in ("exp", "sigmoid"):
        assert ulp_error(evaluate(name, x), reference(name, x), dtype).max() <= 1.0, name
    # log of subnormal arguments.
    x = np.array([info.smallest_subnormal, 3 * info.smallest_subnormal, info.tiny / 3], dtype=dtype)
    assert ulp_error(evaluate("log", x), reference("log", x), dtype).max() <= 1.0


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", FUNCTIONS)
def test_same_bits_wherever_a_value_lies(name, dtype):
    # The SIMD body of the loop and its scalar remainder must compute alike: a value gets the same result at
    # any position, in place or not.
    rng = np.random.default_rng(0)
    x = {"log": rng.uniform(0, 3, 67), "log1p": rng.uniform(-1, 3, 67)}.get(name, rng.normal(size=67) * 3)
    x = x.astype(dtype)
    whole = evaluate(name, x)
    for start in range(0, 67, 5):
        for stop in (start + 1, start + 3, start + 17, 67):
            part = x[start:stop].copy()
            out = np.empty_like(part)
            vecmath.evaluate(vecmath.FUNCTIONS[name], part, out)
            assert_array_equal(out, whole[start:stop])
    one_by_one = [getattr(vecmath, name)(x[i]) for i in range(67)]  # the Python entry point, one element each
    assert_array_equal(np.array(one_by_one), whole)


@pytest.mark.parametrize("dtype", DTYPES)
def test_python_calls_keep_shape_and_dtype(dtype):
    x = np.linspace(-3, 3, 12, dtype=dtype).reshape(3, 4)
    out = vecmath.tanh(x)
    assert out.shape == (3, 4) and out.dtype == dtype
    assert_allclose(out, np.tanh(x), rtol=5 * np.finfo(dtype).eps)
    scalar = vecmath.exp(dtype(1.0))
    assert isinstance(scalar, dtype)
    assert_allclose(scalar, np.e, rtol=np.finfo(dtype).eps)
    with pytest.raises(TypeError, match="float32 or float64"):
        vecmath.log(np.arange(3))


def _vector_asm(kernel, *args):
    """The assembly of ``kernel`` compiled afresh for ``args`` (Numba will not show that of cached code)."""
    if platform.machine().lower() not in ("x86_64", "amd64"):
        pytest.skip("the check reads x86 assembly")
    fresh = numba.njit(cache=False, **_config.OPTIONS)(kernel.py_func)
    fresh(*args)
    try:
        return fresh.inspect_asm(fresh.signatures[0])
    except Exception as exc:  # pragma: no cover - an inspection API that changed
        pytest.skip(f"inspect_asm is unavailable: {exc}")


def _host_has(feature):
    import llvmlite.binding as llvm

    if numba.config.CPU_NAME or numba.config.CPU_FEATURES:
        pytest.skip("NUMBA_CPU_NAME or NUMBA_CPU_FEATURES chooses another CPU than this one")
    return bool(llvm.get_host_cpu_features().get(feature, False))


def test_kernels_are_vectorised():
    if not (_host_has("avx2") and _host_has("fma")):
        pytest.skip("no AVX2 and FMA on this CPU")
    x = np.linspace(-3, 3, 64)
    asm = "\n".join(_vector_asm(vecmath.evaluate, vecmath.FN_TANH, x.astype(t), x.astype(t)) for t in DTYPES)
    width = "zmm" if _host_has("avx512f") else "ymm"  # prefer_wide_vectors: 512 bits where there are
    for op in ("vfmadd", "vdivp", "vrndscalep" if width == "zmm" else "vroundp"):
        assert re.search(rf"{op}\w*\s+[^\n]*%{width}", asm), op
    # No call into the C library's exp, log or tanh: those would be scalar.
    assert not re.search(r"\b(exp|expf|log|logf|log1p|log1pf|tanh|tanhf)(@PLT)?\b", asm)


@pytest.mark.parametrize("dtype", DTYPES)
def test_activation_kernel_is_vectorised_and_in_place_agrees(dtype):
    if not (_host_has("avx2") and _host_has("fma")):
        pytest.skip("no AVX2 and FMA on this CPU")
    rng = np.random.default_rng(1)
    Z = rng.normal(size=(37, 9)).astype(dtype)
    b = np.zeros(9, dtype)
    for code in (activations.ACT_TANH, activations.ACT_SIGMOID, activations.ACT_SOFTMAX):
        A = np.empty_like(Z)
        activations.add_bias_and_activate(code, False, b, Z, A)
        in_place = Z.copy()
        activations.add_bias_and_activate(code, False, b, in_place, in_place)  # as predict does
        assert_array_equal(in_place, A)
        expected = {
            activations.ACT_TANH: lambda z: evaluate("tanh", z.ravel()).reshape(z.shape),
            activations.ACT_SIGMOID: lambda z: evaluate("sigmoid", z.ravel()).reshape(z.shape),
            activations.ACT_SOFTMAX: lambda z: np.exp(z - z.max(1, keepdims=True)) / np.exp(
                z - z.max(1, keepdims=True)).sum(1, keepdims=True),
        }[code](Z)  # fmt: skip
        if code == activations.ACT_SOFTMAX:
            assert_allclose(A, expected, rtol=4 * np.finfo(dtype).eps, atol=0)
        else:
            assert_array_equal(A, expected)
    asm = _vector_asm(activations.add_bias_and_activate, activations.ACT_TANH, False, b, Z, A)
    assert re.search(r"vfmadd\w*\s+[^\n]*%[yz]mm", asm)
    assert not re.search(r"\b(exp|expf|tanh|tanhf)(@PLT)?\b", asm)


def _reference_loss(code, Z, Y, w):
    z, y = Z.astype(np.longdouble), Y.astype(np.longdouble)
    if code == losses.LOSS_BINARY_CROSSENTROPY:
        rows = (np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z)))).sum(axis=1)
    else:
        z_max = z.max(axis=1, keepdims=True)
        lse = z_max + np.log(np.exp(z - z_max).sum(axis=1, keepdims=True))
        rows = (y * (lse - z)).sum(axis=1)
    return float((w.astype(np.longdouble) * rows).sum())


BCE, CE = losses.LOSS_BINARY_CROSSENTROPY, losses.LOSS_CROSSENTROPY
_CODE_OF_LOSS = {BCE: activations.ACT_SIGMOID, CE: activations.ACT_SOFTMAX}
LOSS_SHAPES = [(BCE, 1), (BCE, 3), (BCE, 12), (CE, 3), (CE, 12)]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize(("code", "n_out"), LOSS_SHAPES)
def test_cross_entropies_on_every_path(code, n_out, weighted, dtype):
    # One output, unweighted rows (one flat loop) and weighted rows take different loops in loss_sum.
    rng = np.random.default_rng(n_out)
    m = 203
    Z = (rng.normal(size=(m, n_out)) * 4).astype(dtype)
    Z[0, 0], Z[1, -1] = 1000, -1000  # logits where exp overflows or a rounds to 0 or 1
    if code == losses.LOSS_BINARY_CROSSENTROPY:
        Y = rng.random((m, n_out)).astype(dtype)
    else:
        Y = np.eye(n_out, dtype=dtype)[rng.integers(0, n_out, m)]
    w = (rng.random(m) + 0.5).astype(dtype) if weighted else np.ones(m, dtype)
    A = np.empty_like(Z)  # the output activations, as the loss reads them (softmax; sigmoid's are not read)
    activations.add_bias_and_activate(_CODE_OF_LOSS[code], False, Z[0, :0].copy(), Z, A)
    total = losses.loss_sum(code, Z, A, Y, w)
    assert np.isfinite(total)
    assert_allclose(total, _reference_loss(code, Z, Y, w), rtol=1e-6 if dtype == np.float32 else 1e-13)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("weighted", [False, True])
def test_cross_entropy_with_soft_labels_and_vanishing_probabilities(dtype, weighted):
    """Soft targets, and targets on classes whose probability rounds to 0 or is subnormal.

    The loss reads the probabilities (in one flat loop when the rows weigh the same, else row by row), falling back
    to the logits for such rows.
    """
    rng = np.random.default_rng(5)
    m, n = 64, 5
    Z = (rng.normal(size=(m, n)) * 3).astype(dtype)
    Z[0] = [0, -800, 0, 0, 0]  # a target probability of 0 in both dtypes
    Z[1] = [0, -720, 0, 0, 0]  # float64: subnormal
    Z[2] = [0, -700, 0, 0, 0]  # float64: normal, tiny
    Z[3] = [0, -95, 0, 0, 0]  # float32: subnormal (float64: normal)
    Y = rng.dirichlet(np.ones(n), size=m).astype(dtype)
    Y[:4] = np.eye(n, dtype=dtype)[1]
    w = (rng.random(m) + 0.5).astype(dtype) if weighted else np.full(m, 0.7, dtype)
    A = np.empty_like(Z)
    activations.add_bias_and_activate(activations.ACT_SOFTMAX, False, Z[0, :0].copy(), Z, A)
    total = losses.loss_sum(CE, Z, A, Y, w)
    assert_allclose(total, _reference_loss(CE, Z, Y, w), rtol=1e-6 if dtype == np.float32 else 1e-13)


@pytest.mark.subprocess
def test_accuracy_holds_under_the_relaxed_fastmath_flags():
    # FASTMLP_FASTMATH=1 adds reassoc, contract, nsz, arcp and afn: the range reductions and polynomials are
    # explicit FMAs that those cannot regroup. log1p may lose its correction term, 1 ulp or so.
    code = textwrap.dedent(
        """
        import numpy as np
        from fastmlp._jit import _config
        assert _config.FASTMATH
        from bench.vecmath_accuracy import evaluate, float32_arguments, float64_arguments, reference, ulp_error
        for name in ("exp", "log", "log1p", "tanh", "sigmoid"):
            for dtype in (np.float32, np.float64):
                if dtype == np.float32:
                    x = float32_arguments(0, 2**32, 65537)
                else:
                    x = float64_arguments(name, 100_000)
                print(name, dtype.__name__, ulp_error(evaluate(name, x), reference(name, x), dtype).max())
        """
    )
    env = dict(os.environ, FASTMLP_FASTMATH="1")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=root, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stderr
    for line in result.stdout.splitlines():
        name, dtype, worst = line.split()
        if dtype == "float64" and not WIDE_LONGDOUBLE:
            continue
        bound = MAX_ULP[name, getattr(np, dtype)] + (2.0 if name == "log1p" else 0.5)
        assert float(worst) <= bound, line


def test_vecmath_kernels_use_the_policy():
    assert vecmath.evaluate.targetoptions["fastmath"] is _config.FASTMATH
    assert vecmath.evaluate.targetoptions["nogil"] is True
    assert vecmath.evaluate._cache.__class__.__name__ == ("FunctionCache" if _config.CACHE else "NullCache")


@pytest.mark.benchmark
def test_elementwise_benchmarks_run(capsys):
    import inspect

    from bench import bench_elementwise, elementwise

    for _, cls in inspect.getmembers(bench_elementwise, inspect.isclass):
        if cls.__module__ != bench_elementwise.__name__:
            continue
        for args in itertools.product(*cls.params):
            instance = cls()
            instance.setup(*args)
            for name in dir(cls):
                if name.startswith("time_"):
                    getattr(instance, name)(*args)
    args = ["--shapes", "4x40", "--rounds", "1", "--seconds", "0.0001"]
    assert elementwise.main(args) == 0
    table = capsys.readouterr().out
    assert "| tanh | float32 | 4x40 |" in table and "| log | float64 | 4x40 |" in table
