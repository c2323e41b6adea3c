"""Every asv benchmark runs once, on small data, so that none can rot."""

import importlib
import inspect
import itertools

import numpy as np
import pytest

SUITES = ["bench.kernels", "bench.training", "bench.accuracy"]

pytestmark = pytest.mark.benchmark


def _cases():
    for module_name in SUITES:
        module = importlib.import_module(module_name)
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ != module_name:
                continue
            declared = getattr(cls, "params", [()])
            params = declared if declared and isinstance(declared[0], list | tuple) else [declared]
            for combo in itertools.product(*params):
                for name in dir(cls):
                    if name.startswith(("time_", "peakmem_", "track_")):
                        yield pytest.param(cls, name, combo, id=f"{cls.__name__}.{name}{list(combo)}")


@pytest.fixture(autouse=True)
def _fast_profile(monkeypatch):
    import bench.workloads

    monkeypatch.setattr(bench.workloads, "PROFILE", "fast")


@pytest.mark.parametrize(("cls", "method", "args"), list(_cases()))
def test_benchmark_runs(cls, method, args):
    instance = cls()
    try:
        instance.setup(*args)
    except NotImplementedError as exc:  # asv's way to skip a benchmark whose optional peer is missing
        pytest.skip(str(exc))
    result = getattr(instance, method)(*args)
    if method.startswith("track_"):
        assert result > 0


def test_every_activation_has_its_benchmarks():
    ids = {case.id for case in _cases()}
    for activation in ("relu", "tanh", "sigmoid"):
        for workload in ("W1", "W2"):
            assert f"ActivationEpoch.time_epoch['{workload}', '{activation}']" in ids
        assert f"W4Epoch.track_ms_per_epoch['{activation}']" in ids
        assert f"PredictOneRow.time_predict_one_row['{activation}', 'numpy']" in ids


def test_parity_script_runs(capsys):
    pytest.importorskip("sklearn")
    pytest.importorskip("threadpoolctl")
    from bench import parity

    assert parity.main(["--seeds", "1", "--folds", "2", "--datasets", "iris", "--max-iter", "5"]) == 0
    table = capsys.readouterr().out
    assert "| iris | 150×4 | accuracy |" in table and "fit-time ratio" in table


def test_gradcheck_report_runs(capsys):
    from bench import gradcheck

    assert gradcheck.main(["--architectures", "5"]) == 0
    assert "architectures checked" in capsys.readouterr().out


@pytest.mark.subprocess
def test_threads_script_runs(capsys):
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-m", "bench.threads", "--threads", "2", "--rows", "200", "--rounds", "1"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "mismatches 0/2" in result.stdout


@pytest.mark.subprocess
@pytest.mark.parametrize("output", ["softmax", "sigmoid"])
def test_w4_script_trains_each_output(output, tmp_path):
    import os
    from pathlib import Path

    from bench import w4

    # The session's compile cache where it has one: the epoch kernels are the same for every output.
    cache = os.environ.get("NUMBA_CACHE_DIR") or tmp_path
    result = w4.run(Path(w4.ROOT), cache, "tanh", 2, output=output)
    assert set(result) == {"epoch", "wall", "activation"}
    assert all(value > 0 for value in result.values())


def test_blas_script_measures_both_libraries(capsys):
    from bench import blas

    timings = blas.measure(shapes=[(8, 16, 4)], rounds=1, seconds=0.001)
    assert set(timings) == {(8, 16, 4, product) for product in blas.PRODUCTS}
    assert all(ours > 0 and theirs > 0 for ours, theirs in timings.values())


# Both cases: whichever runs first compiles bench/profile_step.py's uncached kernels (~7 s).
@pytest.mark.slow
@pytest.mark.parametrize("sizes", [(4, 8, 1), (4, 8, 6, 3)])
def test_step_profile_times_every_component(sizes):
    from bench import profile_step

    results = profile_step.profile(sizes, batch=8, rows=64, rounds=1)
    names = [name for name, _ in results]
    assert names[0] == "forward" and names[-1].startswith("whole step") and "SGD update" in names
    assert all(micros > 0 for _, micros in results)


def _inside_nan_padding(values):
    """``values`` copied into the middle rows of a NaN-filled buffer: C-contiguous, with NaN rows on both sides."""
    padded = np.full((values.shape[0] + 2, values.shape[1]), np.nan, values.dtype)
    padded[1:-1] = values
    return padded, padded[1:-1]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("transpose", [False, True])
@pytest.mark.parametrize("beta", [0.0, 1.0, 0.5])
def test_blocked_product_matches_numpy(dtype, transpose, beta):
    # bench.smallgemm's timings compare its kernel with the BLAS; they mean something only if its answers are right,
    # at every column tail (two vectors, one, a quarter, single lanes) and row tail (fewer than 8 or 4 rows). The
    # operands sit between NaN rows, so that a read past them spoils the answer and a write past C shows.
    from bench.smallgemm import blocked_product

    rng = np.random.default_rng(3)
    tolerance = 1e-5 if dtype == "float32" else 1e-13
    for m, k, n in [(1, 1, 1), (7, 3, 5), (9, 8, 33), (300, 5, 47), (13, 17, 64), (513, 2, 20)]:
        _, A = _inside_nan_padding(rng.standard_normal((m, k)).astype(dtype))
        _, B = _inside_nan_padding(rng.standard_normal((m, n) if transpose else (k, n)).astype(dtype))
        C0 = rng.standard_normal((k, n) if transpose else (m, n)).astype(dtype)
        if beta == 0.0:
            C0[:] = np.nan  # ignored, as BLAS ignores C when beta is 0
        padded_C, C = _inside_nan_padding(C0)
        padded_C[0] = padded_C[-1] = 7.0
        blocked_product(A, transpose, B, 0.75, beta, C)
        exact = 0.75 * ((A.T if transpose else A).astype(np.float64) @ B) + beta * np.nan_to_num(C0.astype(np.float64))
        assert np.abs(C - exact).max() <= tolerance * np.abs(exact).max(), (m, k, n)
        assert (padded_C[0] == 7.0).all() and (padded_C[-1] == 7.0).all(), (m, k, n)


@pytest.mark.parametrize("transpose", [False, True])
def test_blocked_product_of_an_empty_sum_scales_c(transpose):
    from bench.smallgemm import blocked_product

    A = np.ones((0, 3) if transpose else (4, 0))
    B = np.ones((0, 5))
    C = np.full((3, 5) if transpose else (4, 5), np.nan)
    blocked_product(A, transpose, B, 1.0, 0.0, C)
    assert (C == 0.0).all()  # beta = 0: zeros, whatever C held
    C[:] = 2.0
    blocked_product(A, transpose, B, 1.0, 0.5, C)
    assert (C == 1.0).all()


def test_blocked_product_refuses_other_layouts_and_shapes():
    from bench.smallgemm import blocked_product

    A, B = np.ones((4, 3)), np.ones((3, 5))
    with pytest.raises(ValueError, match="C-contiguous"):
        blocked_product(A, False, B, 1.0, 0.0, np.ones((5, 4)).T)
    with pytest.raises(ValueError, match="shapes"):
        blocked_product(A, False, B, 1.0, 0.0, np.ones((4, 6)))
    with pytest.raises(ValueError, match="shapes"):
        blocked_product(A, True, B, 1.0, 0.0, np.ones((3, 5)))


def test_smallgemm_script_times_both(capsys):
    from bench import smallgemm

    results = smallgemm.measure(shapes=smallgemm.SHAPES[:1], dtypes=("float32",), rounds=1, seconds=0.0005)
    ((blas, blocked, error),) = results.values()
    assert blas > 0 and blocked > 0 and error < 1e-5
    smallgemm.main(["--quick"])
    assert "blocked/BLAS" in capsys.readouterr().out
