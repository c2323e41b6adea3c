"""Prediction over large inputs: output arrays and memory maps, bounded memory, and many threads at once."""

import threading
import tracemalloc

import numpy as np
import pytest
from numpy.testing import assert_array_equal

import fastmlp as fm


@pytest.fixture(scope="module")
def model():
    return fm.Model([32, 64, 64, 4], output="softmax", seed=0)


def test_predict_into_given_array_and_memmap(model, tmp_path):
    X = np.random.default_rng(0).normal(size=(1000, 32)).astype(np.float32)
    expected = model.predict(X)
    out = np.empty((1000, 4), dtype=np.float32)
    assert model.predict(X, out=out, chunk_size=64) is out
    assert_array_equal(out, expected)
    mapped = np.lib.format.open_memmap(tmp_path / "out.npy", mode="w+", dtype=np.float32, shape=(1000, 4))
    model.predict(X, out=mapped, chunk_size=100)
    assert_array_equal(np.load(tmp_path / "out.npy"), expected)
    strided = np.empty((1000, 8), dtype=np.float32)[:, ::2]  # not C-contiguous: written through a buffer
    assert_array_equal(model.predict(X, out=strided, chunk_size=99), expected)


@pytest.mark.parametrize(
    ("out", "error", "match"),
    [
        (np.empty((10, 3), dtype=np.float32), ValueError, r"out must be a writable array of shape \(10, 4\)"),
        (np.empty((10, 4), dtype=np.float64), ValueError, "dtype float32; got shape .* dtype float64"),
        ([[0.0] * 4] * 10, TypeError, "out must be a numpy array"),
    ],
)
def test_bad_out(model, out, error, match):
    with pytest.raises(error, match=match):
        model.predict(np.zeros((10, 32)), out=out)


def test_read_only_out_is_refused(model):
    out = np.empty((10, 4), dtype=np.float32)
    out.setflags(write=False)
    with pytest.raises(ValueError, match="read-only"):
        model.predict(np.zeros((10, 32)), out=out)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_memory_stays_bounded_by_the_chunk(model, tmp_path, dtype):
    """A memory-mapped input many times larger than the chunk: traced allocations stay near the chunk's size."""
    n = 200_000  # 25.6 MB of float32 input (51 MB as float64)
    X = np.lib.format.open_memmap(tmp_path / "X.npy", mode="w+", dtype=dtype, shape=(n, 32))
    for start in range(0, n, 50_000):
        X[start : start + 50_000] = np.random.default_rng(start).normal(size=(50_000, 32))
    X.flush()
    X = np.load(tmp_path / "X.npy", mmap_mode="r")
    out = np.lib.format.open_memmap(tmp_path / "out.npy", mode="w+", dtype=np.float32, shape=(n, 4))
    chunk = 1000
    bound = chunk * (32 + 64 + 64 + 4) * 8 * 2  # the workspaces, in the widest dtype, with room for temporaries
    model.predict(X[:10])  # compile outside the trace
    tracemalloc.start()
    try:
        model.predict(X, out=out, chunk_size=chunk)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    print(f"input {X.nbytes / 1e6:.1f} MB ({X.dtype}), traced peak {peak / 1e6:.3f} MB, bound {bound / 1e6:.2f} MB")
    assert peak < bound and 8 * bound < X.nbytes  # the input is many times the bound
    assert_array_equal(out[-5:], model.predict(np.asarray(X[-5:])))


def test_concurrent_predicts_match_serial(model):
    rng = np.random.default_rng(1)
    inputs = [rng.normal(size=(5000, 32)).astype(np.float32) for _ in range(8)]
    serial = [model.predict(X, chunk_size=512) for X in inputs]
    results = [None] * len(inputs)

    def work(i):
        for _ in range(3):
            results[i] = model.predict(inputs[i], chunk_size=512)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(inputs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    mismatches = sum(not np.array_equal(r, s) for r, s in zip(results, serial, strict=True))
    assert mismatches == 0
