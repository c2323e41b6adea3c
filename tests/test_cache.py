"""The compile policy: one decorator, a coherent on-disk cache, a fallback when it is unwritable, few signatures."""

import importlib
import inspect
import os
import re
import shutil
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import numba
import numpy as np
import pytest

import fastmlp as fm
from fastmlp import _kernel_salt
from fastmlp._jit import _config

from .conftest import assert_signature_budget

JIT_DIR = Path(_config.__file__).parent
KERNEL_MODULES = ["activations", "checks", "losses", "layout", "forward", "backward", "optimizers", "train"]


def test_kernel_salt_is_current():
    stale = _kernel_salt.stale_kernel_files()
    names = [p.name for p in stale]
    assert not stale, f"kernel files changed without a new salt: {names}; run tools/update_kernel_salt.py"


def test_kernels_use_the_shared_policy_only():
    for path in JIT_DIR.glob("*.py"):
        if path.name == "_config.py":
            continue
        source = path.read_text()
        assert not re.search(r"\b(njit|numba\.jit)\b|cache\s*=|fastmath\s*=|parallel\s*=", source), path.name


def test_every_kernel_is_compiled_with_cache_and_the_policy():
    for name in KERNEL_MODULES:
        module = importlib.import_module(f"fastmlp._jit.{name}")
        kernels = [obj for obj in vars(module).values() if isinstance(obj, numba.core.registry.CPUDispatcher)]
        assert kernels, name
        for kernel in kernels:
            if kernel.__module__ != module.__name__:
                continue  # imported from another kernel module, checked there
            assert kernel.targetoptions["nogil"] is True
            assert kernel.targetoptions["fastmath"] is _config.FASTMATH
            assert kernel._cache.__class__.__name__ == ("FunctionCache" if _config.CACHE else "NullCache")
            assert inspect.getdoc(kernel.py_func), f"{name}.{kernel.__name__} needs a docstring"


def test_unwritable_cache_falls_back_to_memory_with_one_warning(monkeypatch):
    real_njit = numba.njit

    def njit_without_locator(*args, cache=False, **kwargs):
        if cache:
            raise RuntimeError("cannot cache function 'f': no locator available for file 'x.py'")
        return real_njit(*args, **kwargs)

    monkeypatch.setattr(_config.numba, "njit", njit_without_locator)
    monkeypatch.setattr(_config, "_cache_warning_shown", False)
    monkeypatch.setattr(_config, "CACHE", True)

    def double(x):
        return 2 * x

    with pytest.warns(RuntimeWarning, match="compile cache is unavailable.*NUMBA_CACHE_DIR"):
        first = _config.jit(double)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        second = _config.jit(double)  # warned once only
    assert first(21) == 42 and second(2.0) == 4.0


@pytest.mark.slow  # three fresh processes, each compiling every kernel into an empty cache
@pytest.mark.subprocess
def test_a_change_in_another_kernel_file_reaches_cached_callers(tmp_path):
    """Numba does not notice a callee edited in another file; the kernel salt makes it notice (RELIABILITY #2)."""
    package = tmp_path / "src" / "fastmlp"
    shutil.copytree(Path(fm.__file__).parent, package, ignore=shutil.ignore_patterns("__pycache__"))
    script = textwrap.dedent(
        """
        import numpy as np, fastmlp
        model = fastmlp.Model([1, 1, 1], hidden="leaky_relu", bias=False, dtype="float64")
        model.params = [1.0, 1.0]
        assert fastmlp.__file__.startswith({src!r}), fastmlp.__file__
        print(model.predict(np.array([[-1.0]]))[0, 0])
        """
    ).format(src=str(tmp_path / "src"))
    env = dict(os.environ, PYTHONPATH=str(tmp_path / "src"), NUMBA_CACHE_DIR=str(tmp_path / "cache"))

    def run():
        out = subprocess.run(
            [sys.executable, "-c", script], env=env, cwd=tmp_path, capture_output=True, text=True, check=True
        )
        return float(out.stdout)

    assert run() == -0.01
    assert list((tmp_path / "cache").rglob("*.nbi")), "the kernels were not cached on disk"
    activations = package / "_jit" / "activations.py"
    activations.write_text(activations.read_text().replace("LEAKY_RELU_SLOPE = 0.01", "LEAKY_RELU_SLOPE = 0.5"))
    # The control: without a new salt the cached caller keeps the old slope. (If this starts failing, Numba has
    # learnt to follow callees across files and the salt may be retired.)
    assert run() == -0.01
    _kernel_salt.write_kernel_salt(package / "_jit")
    assert run() == -0.5


def test_at_most_one_signature_per_dtype():
    """Whatever the input's dtype, layout or writability, kernels compile once per model dtype.

    The same check runs again when the whole session ends (``conftest.py``), over everything the suite compiled.
    """
    rng = np.random.default_rng(0)
    for dtype in ("float32", "float64"):
        model = fm.Model([3, 4, 2], output="softmax", dtype=dtype, seed=0)
        base = rng.normal(size=(6, 3))
        readonly = base.copy()
        readonly.setflags(write=False)
        for X in (base, base.astype(np.float32), base.astype(np.int16), np.asfortranarray(base), base[::2], readonly):
            y = np.arange(len(X)) % 2
            model.predict(X)
            model.fit(X, y, epochs=1, batch_size=4)
            model.partial_fit(X, y, optimizer="adam")
            model.gradients(X, y, sample_weight=np.ones(len(X)))
            model.loss(X, y)
    assert_signature_budget()


def test_finiteness_check_survives_the_allowed_fastmath_flags():
    """The kernel-side NaN check relies on NaN semantics; the fastmath subset the policy may enable keeps them."""
    from fastmlp._jit.checks import all_finite

    relaxed = numba.njit(fastmath=set(_config._SAFE_FASTMATH))(all_finite.py_func)
    for dtype in (np.float32, np.float64):
        for kernel in (all_finite, relaxed):
            values = np.ones(1000, dtype=dtype)
            assert kernel(values)
            for bad in (np.nan, np.inf, -np.inf):
                values[617] = bad
                assert not kernel(values), (kernel, dtype, bad)
                values[617] = 1.0
