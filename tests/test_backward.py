"""Backpropagation: the delta recurrence against finite differences, the NumPy reference and a worked example."""

import numpy as np
import pytest
from numpy.testing import assert_allclose

import fastmlp as fm

from .conftest import HIDDEN, OUTPUTS, TOL, make_problem
from .reference import ref_gradients

N_RANDOM_ARCHITECTURES = 60


def _random_model(seed):
    rng = np.random.default_rng(seed)
    depth = int(rng.integers(0, 4))
    # Widths on both sides of the kernels' narrow-layer threshold (8) and batches on both sides of the row count
    # (16) from which small layers' weights are transposed before multiplying, so that every path is checked.
    sizes = [int(rng.integers(1, 12))] + [int(w) for w in rng.integers(1, 20, size=depth)] + [int(rng.integers(1, 4))]
    output = str(rng.choice(OUTPUTS))
    if output == "softmax" and sizes[-1] < 2:
        sizes[-1] = 2
    hidden = [str(h) for h in rng.choice(HIDDEN, size=depth)]
    model = fm.Model(sizes, hidden=hidden, output=output, dtype="float64", seed=seed, bias=bool(rng.random() < 0.8))
    if model.bias:
        for b in model.biases:
            b[...] = rng.normal(scale=0.5, size=b.shape)
    X, y, Y = make_problem(sizes, output, int(rng.integers(1, 40)), rng)
    return model, X, y, Y


def _min_abs_relu_preactivation(model, X):
    trace = model.forward(X)
    layers = zip(trace.Z, model.activations, strict=True)
    kinks = [np.abs(z).min() for z, act in layers if act in ("relu", "leaky_relu")]
    return min(kinks, default=np.inf)


@pytest.mark.parametrize("seed", range(N_RANDOM_ARCHITECTURES))
def test_backprop_agrees_with_finite_differences(seed):
    model, X, y, _ = _random_model(seed)
    # Central differences straddle the ReLU kink when a pre-activation is within eps of 0; keep well away from it.
    if _min_abs_relu_preactivation(model, X) < 1e-4:
        pytest.skip("a ReLU pre-activation lies at the kink")
    check = fm.check_gradients(model, X, y)
    assert check.rel_error < 1e-8, (model, check.rel_error)
    assert check.max_rel_error < 1e-7, (model, check.weights, check.biases)
    assert_allclose(check.analytic, check.numeric, rtol=1e-3, atol=1e-6)


def test_random_architectures_are_not_mostly_skipped():
    skipped = 0
    for seed in range(N_RANDOM_ARCHITECTURES):
        model, X, _, _ = _random_model(seed)
        skipped += _min_abs_relu_preactivation(model, X) < 1e-4
    assert skipped <= N_RANDOM_ARCHITECTURES // 10


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("seed", range(12))
def test_gradients_match_reference(seed, dtype):
    model, X, y, Y = _random_model(seed)
    model = model.astype(dtype)
    grads = model.gradients(X, y)
    loss, dW, db, delta = ref_gradients(X.astype(dtype), Y, model.weights, model.biases, model.activations)
    tol = TOL[dtype]
    assert_allclose(grads.loss, loss, **tol)
    for k in range(model.n_layers):
        assert grads.dW[k].dtype == dtype
        assert_allclose(grads.dW[k], dW[k], **tol)
        assert_allclose(grads.delta[k], delta[k], **tol)
        if db is not None:
            assert_allclose(grads.db[k], db[k], **tol)
    assert_allclose(model.loss(X, y), loss, **tol)


def test_float32_agrees_with_float64(rng):
    worst = 0.0
    for seed in range(20):
        m64 = fm.Model([6, 8, 8, 2], hidden="tanh", output="softmax", dtype="float64", seed=seed)
        m32 = m64.astype("float32")
        X = rng.normal(size=(16, 6))
        y = rng.integers(0, 2, size=16)
        g64, g32 = m64.gradients(X, y).flat, m32.gradients(X, y).flat
        worst = max(worst, np.linalg.norm(g32 - g64) / np.linalg.norm(g64))
    assert worst < 1e-5


def test_gradcheck_detects_a_wrong_gradient(monkeypatch):
    model, X, y, _ = _random_model(3)
    original = fm.Model.gradients

    def off_by_a_bit(self, X, y, **kwargs):
        grads = original(self, X, y, **kwargs)
        grads.flat[0] *= 1.1
        return grads

    monkeypatch.setattr(fm.Model, "gradients", off_by_a_bit)
    assert fm.check_gradients(model, X, y).max_rel_error > 1e-3


def test_worked_example_2_2_1():
    """A 2-2-1 ReLU network, one sample, every number checked by hand."""
    model = fm.Model([2, 2, 1], hidden="relu", output="identity", dtype="float64")
    model.weights[0][...] = [[0.5, -1.0], [0.25, 0.5]]
    model.biases[0][...] = [0.0, 0.5]
    model.weights[1][...] = [[2.0], [-1.0]]
    model.biases[1][...] = [0.5]
    X = np.array([[1.0, 2.0]])
    y = np.array([3.0])

    trace = model.forward(X)
    # Z1 = [1*0.5 + 2*0.25 + 0, 1*(-1) + 2*0.5 + 0.5] = [1.0, 0.5]; both positive, so A1 = relu(Z1) = Z1.
    assert_allclose(trace.Z[0], [[1.0, 0.5]])
    assert_allclose(trace.A[1], [[1.0, 0.5]])
    # Z2 = 1*2 + 0.5*(-1) + 0.5 = 2.0; identity output, A2 = 2.0.
    assert_allclose(trace.A[2], [[2.0]])
    # J = 1/2 (3 - 2)^2 / 1 = 0.5
    assert model.loss(X, y) == 0.5

    grads = model.gradients(X, y)
    # delta2 = (A2 - y) / m = -1.0
    assert_allclose(grads.delta[1], [[-1.0]])
    # dJ/dW1 = A1^T delta2 = [[-1.0], [-0.5]]; dJ/db1 = -1.0
    assert_allclose(grads.dW[1], [[-1.0], [-0.5]])
    assert_allclose(grads.db[1], [-1.0])
    # E1 = delta2 W1^T = [-2.0, 1.0]; relu'(Z1) = [1, 1], so delta1 = [-2.0, 1.0]
    assert_allclose(grads.delta[0], [[-2.0, 1.0]])
    # dJ/dW0 = X^T delta1 = [[1*-2, 1*1], [2*-2, 2*1]]; dJ/db0 = delta1
    assert_allclose(grads.dW[0], [[-2.0, 1.0], [-4.0, 2.0]])
    assert_allclose(grads.db[0], [-2.0, 1.0])

    # One gradient-descent step with lr = 0.1: W <- W - 0.1 dJ/dW.
    model.fit(X, y, epochs=1, batch_size=1, optimizer=fm.SGD(lr=0.1), shuffle=False)
    assert_allclose(model.weights[0], [[0.7, -1.1], [0.65, 0.3]])
    assert_allclose(model.biases[0], [0.2, 0.4])
    assert_allclose(model.weights[1], [[2.1], [-0.95]])
    assert_allclose(model.biases[1], [0.6])


def test_no_bias_is_exactly_z_equals_a_w():
    model = fm.Model([2, 3, 1], hidden="identity", bias=False, dtype="float64", seed=0)
    assert model.biases is None
    assert model.n_params == 2 * 3 + 3 * 1
    X = np.array([[1.0, -2.0]])
    assert_allclose(model.predict(X), X @ model.weights[0] @ model.weights[1], rtol=1e-14)
    grads = model.gradients(X, [0.5])
    assert grads.db is None
    assert fm.check_gradients(model, X, [0.5]).biases is None


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("sizes", [[3, 5, 2], [4, 1]], ids=["hidden", "no-hidden"])
def test_poisson_output_gradients_match_finite_differences(dtype, sizes):
    rng = np.random.default_rng(7)
    model = fm.Model(sizes, hidden="tanh", output="exp", dtype=dtype, seed=0)
    X = rng.normal(size=(9, sizes[0]))
    y = rng.poisson(2.0, size=(9, sizes[-1])).astype(float)
    y = y[:, 0] if sizes[-1] == 1 else y
    check = fm.check_gradients(model, X, y, sample_weight=rng.random(9) + 0.5, alpha=0.01)
    assert check.max_rel_error < 1e-6
    # The loss is half the Poisson deviance, computed here from its definition in float64.
    a = model.astype("float64").predict(X)
    Y = y.reshape(len(X), -1)
    with np.errstate(divide="ignore", invalid="ignore"):
        deviance = np.where(Y > 0, Y * np.log(Y / a), 0.0) - Y + a
    assert model.astype("float64").loss(X, y) == pytest.approx(deviance.sum(axis=1).mean(), rel=1e-12)
    with pytest.raises(ValueError, match="must be >= 0 .* Poisson"):
        model.loss(X, -y - 1)
