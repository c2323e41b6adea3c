"""The compiled forward pass against the NumPy reference."""

import itertools

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

import fastmlp as fm

from .conftest import HIDDEN, OUTPUTS, TOL
from .reference import ref_forward


def _architectures():
    # Depths 0-4 hidden layers; every hidden activation appears at every depth >= 1, and every output.
    for depth, output, bias, dtype in itertools.product(range(5), OUTPUTS, [True, False], [np.float64, np.float32]):
        hidden_choices = [HIDDEN[0]] if depth == 0 else HIDDEN
        for hidden in hidden_choices:
            yield depth, hidden, output, bias, dtype


@pytest.mark.parametrize(("depth", "hidden", "output", "bias", "dtype"), list(_architectures()))
def test_forward_matches_reference(depth, hidden, output, bias, dtype):
    rng = np.random.default_rng(depth * 101 + HIDDEN.index(hidden))
    sizes = [4] + list(rng.integers(1, 7, size=depth)) + [3]
    model = fm.Model(sizes, hidden=hidden, output=output, dtype=dtype, seed=1, bias=bias)
    if bias:
        for b in model.biases:  # non-zero biases, so that adding them is tested
            b[...] = rng.normal(size=b.shape)
    X = rng.normal(size=(7, 4))
    Z_ref, A_ref = ref_forward(X, model.weights, model.biases, model.activations)

    trace = model.forward(X)
    assert len(trace.Z) == len(sizes) - 1 and len(trace.A) == len(sizes)
    for k in range(len(sizes) - 1):
        assert trace.Z[k].dtype == dtype and trace.A[k + 1].dtype == dtype
        assert_allclose(trace.Z[k], Z_ref[k], **TOL[dtype])
        assert_allclose(trace.A[k + 1], A_ref[k + 1], **TOL[dtype])

    out = model.predict(X)
    assert out.dtype == dtype and out.shape == (7, 3)
    assert_allclose(out, A_ref[-1], **TOL[dtype])


def test_per_layer_hidden_activations(rng):
    model = fm.Model([3, 4, 4, 4, 2], hidden=["tanh", "relu", "sigmoid"], output="softmax", dtype="float64", seed=2)
    X = rng.normal(size=(5, 3))
    _, A_ref = ref_forward(X, model.weights, model.biases, model.activations)
    assert_allclose(model.predict(X), A_ref[-1], **TOL[np.float64])


@pytest.mark.parametrize("chunk_size", [1, 2, 7, 64, 1000])
def test_predict_in_chunks_equals_whole(rng, chunk_size):
    model = fm.Model([5, 8, 8, 3], output="softmax", seed=0)
    X = rng.normal(size=(100, 5)).astype(np.float32)
    whole = model.predict(X, chunk_size=1000)
    # Each row's result is the same whatever the chunk; BLAS may pick another kernel by row count, so allow float32
    # rounding rather than demand equal bits.
    assert_allclose(model.predict(X, chunk_size=chunk_size), whole, rtol=1e-6, atol=1e-7)


def test_predict_order_invariance(rng):
    model = fm.Model([5, 16, 2], output="sigmoid", seed=0, dtype="float64")
    X = rng.normal(size=(50, 5))
    perm = rng.permutation(50)
    assert_allclose(model.predict(X)[perm], model.predict(X[perm]), rtol=1e-12, atol=1e-14)


def test_predict_single_row_and_many_rows(rng):
    model = fm.Model([3, 4, 1], seed=0)
    X = rng.normal(size=(10_001, 3))
    out = model.predict(X)
    assert out.shape == (10_001, 1)
    assert_allclose(model.predict(X[:1]), out[:1], rtol=1e-6)


@pytest.mark.parametrize(
    "make",
    [
        lambda X: X.astype(np.int64),
        lambda X: np.asfortranarray(X),
        lambda X: X[:, ::1].repeat(2, axis=1)[:, ::2],  # non-contiguous column stride
        lambda X: X[::-1][::-1],
        lambda X: X.astype(np.float16),
    ],
    ids=["int64", "fortran", "strided", "reversed-view", "float16"],
)
def test_accepted_input_layouts_and_dtypes(make, rng):
    model = fm.Model([3, 6, 2], output="softmax", seed=0)
    X = np.round(rng.normal(size=(9, 3)) * 3)
    converted = make(X)
    assert_allclose(model.predict(converted), model.predict(np.ascontiguousarray(converted, dtype=np.float32)))


def test_read_only_input(rng):
    model = fm.Model([3, 6, 2], seed=0, dtype="float32")
    X = rng.normal(size=(9, 3)).astype(np.float32)
    expected = model.predict(X)
    X.setflags(write=False)
    assert_array_equal(model.predict(X), expected)
    assert_array_equal(model.forward(X).A[-1], expected)


def test_extreme_logits_are_stable():
    for dtype in (np.float32, np.float64):
        model = fm.Model([1, 2], output="softmax", dtype=dtype, bias=False, seed=0)
        model.weights[0][...] = [[1.0, -1.0]]
        X = np.array([[1000.0], [-1000.0], [0.0]])
        p = model.predict(X)
        assert np.isfinite(p).all()
        assert_allclose(p, [[1, 0], [0, 1], [0.5, 0.5]])
        # Cross-entropy stays exact where a probability rounds to 1 or 0: exactly 0 for the confident right answer,
        # 2000 (from the logits) for the confident wrong one.
        assert model.loss(X[:1], [0]) == 0.0
        assert_allclose(model.loss(X[:1], [1]), 2000.0, rtol=1e-6)

        sig = fm.Model([1, 1], output="sigmoid", dtype=dtype, bias=False, seed=0)
        sig.weights[0][...] = 1.0
        s = sig.predict(X)
        assert np.isfinite(s).all()
        assert_allclose(s[:, 0], [1.0, 0.0, 0.5])
        assert_allclose(sig.loss(X[:2], [0.0, 1.0]), 1000.0, rtol=1e-6)
        assert sig.loss(X[:2], [1.0, 0.0]) == 0.0
        assert np.isfinite(sig.gradients(X, [0.0, 1.0, 1.0]).flat).all()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n_out", [2, 3, 4, 5, 11])
def test_softmax_of_every_width_matches_numpy_in_place_or_not(dtype, n_out, rng):
    # 2 to 4 outputs take a pass of their own, wider layers the general loops: both against NumPy, with logits where
    # exp overflows or underflows, a NaN row, and written in place (as prediction does) or beside the logits.
    from fastmlp._jit import activations

    Z = (rng.normal(size=(37, n_out)) * 5).astype(dtype)
    Z[0, 0], Z[1, :], Z[2, -1], Z[3, 1] = 1000, -1000, -1000, np.nan
    expected = np.exp(Z.astype(np.float64) - Z.max(axis=1, keepdims=True))
    expected /= expected.sum(axis=1, keepdims=True)
    beside, in_place = np.empty_like(Z), Z.copy()
    no_bias = np.zeros(0, dtype)
    activations.add_bias_and_activate(activations.ACT_SOFTMAX, False, no_bias, Z.copy(), beside)
    activations.add_bias_and_activate(activations.ACT_SOFTMAX, False, no_bias, in_place, in_place)
    assert_array_equal(in_place, beside)
    assert np.isnan(beside[3]).all() and np.isfinite(np.delete(beside, 3, axis=0)).all()
    assert_allclose(np.delete(beside, 3, axis=0), np.delete(expected, 3, axis=0), rtol=1e-5 if dtype == np.float32
                    else 1e-13, atol=1e-30)  # fmt: skip


def test_tanh_and_sigmoid_saturate_without_overflow():
    model = fm.Model([1, 3, 1], hidden="tanh", dtype="float32", seed=0, bias=False)
    model.weights[0][...] = [[1.0, -1.0, 0.5]]
    out = model.forward(np.array([[300.0], [-300.0]])).A[1]
    assert_array_equal(out, [[1, -1, 1], [-1, 1, -1]])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("rows", [1, 2, 64, 65])
def test_small_batch_path_equals_the_chunked_path(rng, dtype, rows):
    # Up to SMALL_BATCH_ROWS rows of the model's dtype take one checked kernel call; more take the chunked loop.
    model = fm.Model([6, 9, 4], output="softmax", dtype=dtype, seed=0)
    X = rng.normal(size=(rows, 6)).astype(dtype)
    fast = model.predict(X)
    assert fast.dtype == dtype and fast.shape == (rows, 4) and fast.flags.c_contiguous
    assert_allclose(fast, model.predict(X, chunk_size=1), **TOL[dtype])
    _, A_ref = ref_forward(X.astype(np.float64), model.weights, model.biases, model.activations)
    assert_allclose(fast, A_ref[-1], **TOL[dtype])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_one_row_through_a_large_layer(rng, dtype):
    # One row through a layer of ROW_LOOP_BYTES or more takes the compiled row loop instead of the BLAS; other
    # widths (and 9 rows) take the BLAS. Both against the float64 reference; k = 4 * 256 + 3 covers the loop's tail.
    from fastmlp._jit.forward import ROW_LOOP_BYTES

    n_in = ROW_LOOP_BYTES // (256 * np.dtype(dtype).itemsize) + 3
    model = fm.Model([n_in, 256, 7, 3], hidden="tanh", output="softmax", dtype=dtype, seed=0)
    assert model.weights[0].nbytes >= ROW_LOOP_BYTES > model.weights[1].nbytes
    for b in model.biases:
        b[...] = rng.normal(size=b.shape)
    X = rng.normal(size=(9, n_in)).astype(dtype)
    _, A_ref = ref_forward(X.astype(np.float64), model.weights, model.biases, model.activations)
    for i in (0, 8):
        assert_allclose(model.predict(X[i : i + 1]), A_ref[-1][i : i + 1], **TOL[dtype])
    assert_allclose(model.predict(X), A_ref[-1], **TOL[dtype])
    model.weights[0][5, 3] = np.nan  # a non-finite weight reaches the outputs, and is reported
    with pytest.raises(ValueError, match="params contain NaN or infinity"):
        model.predict(X[:1])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_small_batch_path_reports_bad_values(dtype):
    model = fm.Model([3, 4, 1], dtype=dtype, seed=0)
    for bad, message in [(np.nan, "X contains NaN"), (np.inf, "X contains infinity")]:
        X = np.ones((2, 3), dtype=dtype)
        X[1, 2] = bad
        with pytest.raises(ValueError, match=message):
            model.predict(X)
    huge = np.full((1, 3), np.finfo(dtype).max / 2, dtype=dtype)
    model.weights[0][...] = np.finfo(dtype).max / 2
    with pytest.raises(ValueError, match="overflowed"):
        model.predict(huge)
    model.params[0] = np.nan
    with pytest.raises(ValueError, match="params contain NaN"):
        model.predict(np.ones((1, 3), dtype=dtype))
