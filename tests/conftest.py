import importlib
import pkgutil

import numba
import numpy as np
import pytest

import fastmlp as fm

from .reference import ref_one_hot

HIDDEN = ["identity", "sigmoid", "tanh", "relu", "leaky_relu"]
OUTPUTS = ["identity", "sigmoid", "softmax"]
TOL = {np.float64: dict(rtol=1e-10, atol=1e-12), np.float32: dict(rtol=2e-4, atol=2e-5)}

# Tier markers (pyproject.toml) for tests in files that are being rewritten on other branches, set here so that
# those branches need not change for them; a file's owner may move them into the file as decorators and drop them
# here. Keyed "file::function", so every parametrization of a function gets them. slow: over ~4 s each with a
# warm cache on 2 cores, as measured with --durations.
CENTRAL_MARKS = {
    "test_cli.py::test_demo_runs_and_the_mlp_beats_the_linear_model": ("subprocess",),
    "test_cli.py::test_subprocess_train_info_predict": ("slow", "subprocess"),
    "test_cli.py::test_sigterm_during_predict_leaves_no_output": ("subprocess",),
    "test_estimators.py::test_import_without_scikit_learn_is_clear": ("subprocess",),
    "test_io.py::test_fuzz_bit_flips_and_truncations_never_escape_or_load_silently": ("slow",),
    "test_io.py::test_fuzz_member_contents_with_valid_crcs": ("slow",),
}


def make_problem(sizes, output, n_rows, rng):
    """Random inputs and targets that fit ``output``: (X, y as given to the model, Y as a dense float64 matrix)."""
    X = rng.normal(size=(n_rows, sizes[0]))
    n_out = sizes[-1]
    if output == "identity":
        y = rng.normal(size=(n_rows, n_out))
        return X, y, y
    if output == "sigmoid":
        y = (rng.random((n_rows, n_out)) < 0.5).astype(float)
        return X, y, y
    labels = rng.integers(0, n_out, size=n_rows)
    return X, labels, ref_one_hot(labels, n_out)


@pytest.hookimpl(tryfirst=True)  # before -m deselects: the marks set here must count
def pytest_collection_modifyitems(config, items):
    modules = {}
    for item in items:
        marks = CENTRAL_MARKS.get(f"{item.path.name}::{getattr(item, 'originalname', item.name)}", ())
        for name in marks:
            item.add_marker(name)
        if getattr(item, "module", None) is not None:
            modules[item.path.name] = item.module
    # A test renamed or moved would silently lose its marks (a slow test back in the quick tier): fail instead.
    stale = []
    for key in CENTRAL_MARKS:
        file, function = key.split("::")
        if file in modules and not hasattr(modules[file], function):
            stale.append(key)
    if stale:
        raise pytest.UsageError(f"tests/conftest.py CENTRAL_MARKS names tests that do not exist: {stale}")


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


@pytest.fixture
def small_model():
    return fm.Model([3, 5, 2], hidden="tanh", output="softmax", seed=0)


def assert_signature_budget():
    """Every kernel has at most 2 compiled signatures (float32 and float64 models), with no other array dtype."""
    import fastmlp._jit

    for info in pkgutil.iter_modules(fastmlp._jit.__path__):
        module = importlib.import_module(f"fastmlp._jit.{info.name}")
        for kernel in vars(module).values():
            if isinstance(kernel, numba.core.registry.CPUDispatcher):
                signatures = kernel.signatures
                if info.name == "blas":
                    # tests/test_blas.py multiplies transposed and strided views on purpose; the kernels pass
                    # C-contiguous arrays only.
                    signatures = [
                        sig for sig in signatures
                        if all(t.layout == "C" for t in sig if isinstance(t, numba.types.Array))
                    ]  # fmt: skip
                assert len(signatures) <= 2, (kernel.__name__, signatures)
                kinds = {str(t.dtype) for sig in signatures for t in sig if isinstance(t, numba.types.Array)}
                assert kinds <= {"float32", "float64", "int64"}, (kernel.__name__, kinds)


@pytest.fixture(scope="session", autouse=True)
def _signature_budget_after_the_suite():
    """After every test has compiled what it needed, no kernel may have grown a third signature."""
    yield
    assert_signature_budget()
