"""Large batches in blocks of rows and in row chunks on threads: the same gradients and fits as one block.

A batch of more than ``fastmlp._jit.train.tile_rows`` rows runs forward and backward in blocks whose gradients are
added; with fastmlp's thread count above 1, a large batch of a narrow network is also split into one row chunk per
thread. Both must give the gradient of the whole batch, to rounding, and a fixed thread count the same bits on
every run.
"""

import os
import subprocess
import sys

import numpy as np
import pytest

import fastmlp as fm
from fastmlp import _engine
from fastmlp._jit import train as _train

from .conftest import OUTPUTS, TOL, make_problem

# Layer widths whose batches split into blocks of MIN_TILE_ROWS (512) rows: 1,300 rows are two whole blocks and a
# partial one.
WIDE = (3, 600, 2)
TILED_ROWS = 1300


@pytest.fixture
def chunk_threads():
    """Set fastmlp's own thread count for one test (the BLAS pools are left alone)."""
    before = _engine.chunk_threads()

    def set_threads(n):
        _engine.set_chunk_threads(n)

    yield set_threads
    _engine.set_chunk_threads(before)


def _engine_problem(sizes, output, n_rows, dtype, seed=0):
    rng = np.random.default_rng(seed)
    model = fm.Model(sizes, hidden="tanh", output=output, dtype=dtype.__name__, seed=seed)
    engine = _engine.Engine(model.sizes, model.hidden, model.output, model.bias)
    X, _, Y = make_problem(sizes, output, n_rows, rng)
    w = rng.uniform(0.0, 2.0, n_rows)
    w[::7] = 0.0  # rows of weight 0 in every block
    cast = [np.ascontiguousarray(a, dtype=dtype) for a in (X, Y, w)]
    return engine, model.params.copy(), cast


def test_the_block_rule():
    sizes, aoff = np.array(WIDE, dtype=np.int64), np.array([0, 600, 602], dtype=np.int64)
    assert _train.tile_rows(sizes, aoff, 8) == _train.MIN_TILE_ROWS  # wide layers: the floor
    narrow = np.array([4, 32, 16, 4], dtype=np.int64), np.array([0, 32, 48, 52], dtype=np.int64)
    assert _train.tile_rows(*narrow, 4) == _train.TILE_BYTES // (3 * 4 * 52)  # 1,680 rows


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("output", OUTPUTS)
def test_a_batch_in_blocks_has_the_gradient_of_one_block(output, dtype):
    engine, params, (X, Y, w) = _engine_problem(WIDE, output, TILED_ROWS, dtype)
    assert X.shape[0] > 2 * _train.tile_rows(engine.net[0], engine.net[3], np.dtype(dtype).itemsize)
    whole = np.empty_like(params)
    loss = engine.loss_and_gradient(params, X, Y, w, 1e-3, engine.workspace(TILED_ROWS, dtype), whole)
    blocks = np.empty_like(params)
    loss_blocks = engine.chunked_loss_and_gradient(params, X, Y, w, 1e-3, engine.workspace(TILED_ROWS, dtype), blocks)
    np.testing.assert_allclose(loss_blocks, loss, **TOL[dtype])
    np.testing.assert_allclose(blocks, whole, **TOL[dtype])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_a_full_batch_epoch_in_blocks_is_one_gradient_step(dtype):
    rng = np.random.default_rng(1)
    X, y, _ = make_problem(WIDE, "softmax", TILED_ROWS, rng)
    model = fm.Model(WIDE, hidden="tanh", output="softmax", dtype=dtype.__name__, seed=1)
    lr = 0.05
    expected = model.params - lr * model.gradients(X, y).flat
    loss_before = model.loss(X, y)
    history = model.fit(X, y, epochs=1, batch_size=TILED_ROWS, optimizer=fm.SGD(lr=lr), shuffle=False)
    np.testing.assert_allclose(model.params, expected, **TOL[dtype])
    np.testing.assert_allclose(history.loss[0], loss_before, **TOL[dtype])


def _fit(threads, chunk_threads, dtype, *, shuffle=True, batch_size=2100):
    chunk_threads(threads)
    rng = np.random.default_rng(2)
    X, y, _ = make_problem((4, 8, 3), "softmax", 5000, rng)
    w = rng.uniform(0.5, 1.5, 5000)
    model = fm.Model((4, 32, 3), hidden="sigmoid", output="softmax", dtype=dtype.__name__, seed=2)
    history = model.fit(X, y, sample_weight=w, epochs=3, batch_size=batch_size, optimizer="adam", shuffle=shuffle)
    return model.params.copy(), history


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("shuffle", [True, False])
def test_two_threads_fit_as_one_and_repeat_bit_for_bit(chunk_threads, dtype, shuffle):
    # Batches of 2,100 rows (two chunks of 1,050) and a last one of 800 (two of 400).
    one, history_one = _fit(1, chunk_threads, dtype, shuffle=shuffle)
    two, history_two = _fit(2, chunk_threads, dtype, shuffle=shuffle)
    again, _ = _fit(2, chunk_threads, dtype, shuffle=shuffle)
    assert np.array_equal(two, again)
    np.testing.assert_allclose(two, one, **TOL[dtype])
    np.testing.assert_allclose(history_two.loss, history_one.loss, **TOL[dtype])
    np.testing.assert_allclose(history_two.metric, history_one.metric, **TOL[dtype])


def test_which_batches_are_split(chunk_threads):
    narrow = _engine.Engine((4, 32, 3), ["relu"], "softmax", True)
    wide = _engine.Engine((4, 300, 3), ["relu"], "softmax", True)
    chunk_threads(1)
    assert narrow._threads_for(10**6) == 1
    chunk_threads(2)
    assert narrow._threads_for(2 * _engine.MIN_CHUNK_ROWS) == 2
    assert narrow._threads_for(2 * _engine.MIN_CHUNK_ROWS - 1) == 1
    assert wide._threads_for(10**6) == 1  # left to the BLAS's threads


def test_lbfgs_on_two_threads_fits_as_on_one(chunk_threads):
    exceptions = pytest.importorskip("sklearn.exceptions")
    rng = np.random.default_rng(3)
    X = rng.normal(size=(3000, 5))
    y = np.sin(X).sum(axis=1)
    fits = []
    for threads in (1, 2):
        chunk_threads(threads)
        estimator = fm.MLPRegressor(hidden_layer_sizes=(16,), solver="lbfgs", max_iter=15, random_state=0)
        with pytest.warns(exceptions.ConvergenceWarning):  # 15 iterations are enough to compare, not to converge
            fits.append(estimator.fit(X, y))
    for a, b in zip(fits[0].coefs_, fits[1].coefs_, strict=True):
        np.testing.assert_allclose(b, a, rtol=1e-7, atol=1e-9)
    assert fits[1].loss_ == pytest.approx(fits[0].loss_, rel=1e-9)


def _run(code, **env):
    environment = {k: v for k, v in os.environ.items() if not k.endswith("_NUM_THREADS")}
    environment.update(env)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=environment, timeout=300)


@pytest.mark.subprocess
def test_the_environment_sets_the_count_and_the_blas_count_comes_back():
    code = (
        "import numpy as np, fastmlp as fm\n"
        "from fastmlp import _engine\n"
        "assert fm.get_num_threads()['fastmlp'] == 2, fm.get_num_threads()\n"
        "import os\n"
        "kernels = os.path.basename(fm.blas_info()['path'])\n"
        "counts = lambda: {k: v for k, v in fm.get_num_threads().items() if k in (kernels, 'fastmlp')}\n"
        "before = counts()\n"
        "assert before[kernels] == 2, before\n"
        "X = np.random.default_rng(0).normal(size=(4096, 4))\n"
        "m = fm.Model((4, 16, 2), output='identity', seed=0)\n"
        "seen = []\n"
        "m.fit(X, X[:, :2], epochs=2, batch_size=4096, callbacks=lambda epoch, logs: seen.append(counts()))\n"
        "assert counts() == before, (before, counts())\n"
        "assert len(seen) == 2 and all(s == before for s in seen), seen  # the BLAS count is back between epochs\n"
        "assert fm.set_num_threads(3)['fastmlp'] == 2 and fm.get_num_threads()['fastmlp'] == 3\n"
        "print('ok')\n"
    )
    result = _run(code, FASTMLP_NUM_THREADS="2", OPENBLAS_NUM_THREADS="2", MKL_NUM_THREADS="2")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("ok")


@pytest.mark.subprocess
@pytest.mark.parametrize("value", ["0", "two", "-1", "4097", "\u00b2", "\u0663"])  # superscript 2, Arabic-Indic 3
def test_a_bad_thread_count_in_the_environment_is_clear(value):
    result = _run("import fastmlp", FASTMLP_NUM_THREADS=value)
    assert result.returncode != 0
    assert "FASTMLP_NUM_THREADS must be an integer from 1 to 4096" in result.stderr


@pytest.mark.subprocess
@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_child_fits_on_chunk_threads_of_its_own():
    # The pool of chunk threads is made in the parent; a child that reused it would wait for ever.
    code = (
        "import os, numpy as np, fastmlp as fm\n"
        "fm.set_num_threads(2)\n"
        "X = np.random.default_rng(0).normal(size=(4096, 4))\n"
        "m = fm.Model((4, 16, 2), output='identity', seed=0)\n"
        "m.fit(X, X[:, :2], epochs=1, batch_size=4096)\n"
        "pid = os.fork()\n"
        "if pid == 0:\n"
        "    m.fit(X, X[:, :2], epochs=1, batch_size=4096)\n"
        "    os._exit(0)\n"
        "_, status = os.waitpid(pid, 0)\n"
        "assert os.waitstatus_to_exitcode(status) == 0, status\n"
        "print('ok')\n"
    )
    result = _run(code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("ok")
