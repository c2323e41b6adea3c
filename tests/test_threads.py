"""Thread control: fastmlp.set_num_threads limits every BLAS pool, and results do not depend on it."""

import os
import subprocess
import sys

import pytest

import fastmlp as fm


@pytest.mark.subprocess
def test_set_num_threads_in_a_fresh_process():
    # A fresh process, so that the limit does not leak into the rest of the suite.
    code = (
        "import os, numpy as np, fastmlp as fm\n"
        "before = fm.set_num_threads(1)\n"
        "assert set(fm.get_num_threads().values()) == {1}, fm.get_num_threads()\n"
        "kernels = os.path.basename(fm.blas_info()['path'])\n"
        "assert kernels in fm.get_num_threads(), (kernels, fm.get_num_threads())\n"
        "assert os.environ['OPENBLAS_NUM_THREADS'] == '1'\n"
        "from numba.np.ufunc import parallel\n"
        "assert not getattr(parallel, '_is_initialized', False)  # Numba's pool, unused by the kernels, not started\n"
        "m = fm.Model([64, 128, 3], output='softmax', seed=0)\n"
        "X = np.random.default_rng(0).normal(size=(500, 64)).astype(np.float32)\n"
        "one = m.predict(X)\n"
        "fm.set_num_threads(2)\n"
        "assert set(fm.get_num_threads().values()) <= {1, 2}\n"
        "assert np.allclose(one, m.predict(X), rtol=1e-6, atol=1e-7)\n"
        "print('ok', before)\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.endswith("_NUM_THREADS")}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("ok")


@pytest.mark.parametrize(("n", "error"), [(0, ValueError), (1.5, TypeError), ("2", TypeError)])
def test_bad_thread_counts(n, error):
    with pytest.raises(error, match="n must be an integer >= 1"):
        fm.set_num_threads(n)


@pytest.mark.parametrize("n", [4097, 2**70])
def test_too_many_threads_is_refused_and_changes_nothing(n):
    before = fm.get_num_threads()
    with pytest.raises(ValueError, match="n must be an integer from 1 to 4096"):
        fm.set_num_threads(n)
    assert fm.get_num_threads() == before


def test_get_num_threads_lists_the_kernels_blas():
    counts = fm.get_num_threads()
    assert counts and all(isinstance(c, int) and c >= 1 for c in counts.values())
    assert os.path.basename(fm.blas_info()["path"]) in counts  # the BLAS that the kernels call
