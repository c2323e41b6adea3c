"""The linear limit: no hidden layer and an identity output is linear regression."""

import numpy as np
from numpy.testing import assert_allclose

import fastmlp as fm


def _regression_data(rng, n=200, n_features=3, n_targets=1):
    X = rng.normal(size=(n, n_features))
    coef = rng.normal(size=(n_features, n_targets))
    y = X @ coef + 0.7 + 0.1 * rng.normal(size=(n, n_targets))
    return X, y


def test_full_batch_gradient_descent_reaches_least_squares(rng):
    X, y = _regression_data(rng)
    model = fm.Model([3, 1], output="identity", dtype="float64", seed=0)
    model.fit(X, y, epochs=2000, batch_size=len(X), optimizer=fm.SGD(lr=0.5), shuffle=False)

    design = np.column_stack([X, np.ones(len(X))])
    solution, *_ = np.linalg.lstsq(design, y, rcond=None)
    assert_allclose(model.weights[0], solution[:3], rtol=1e-8, atol=1e-10)
    assert_allclose(model.biases[0], solution[3], rtol=1e-8, atol=1e-10)


def test_multi_output_without_bias(rng):
    X, y = _regression_data(rng, n_targets=2)
    y -= 0.7  # no intercept to fit
    model = fm.Model([3, 2], output="identity", bias=False, dtype="float64", seed=0)
    # A batch larger than the data: full-batch gradient descent.
    model.fit(X, y, epochs=2000, batch_size=10_000, optimizer=fm.SGD(lr=0.5), shuffle=False)
    solution, *_ = np.linalg.lstsq(X, y, rcond=None)
    assert_allclose(model.weights[0], solution, rtol=1e-8, atol=1e-10)


def test_linear_model_loss_is_half_mean_squared_error(rng):
    X, y = _regression_data(rng)
    model = fm.Model([3, 1], dtype="float64", seed=1)
    residual = y - (X @ model.weights[0] + model.biases[0])
    assert_allclose(model.loss(X, y), 0.5 * np.sum(residual**2) / len(X), rtol=1e-12)
    assert_allclose(model.loss(X, y[:, 0]), model.loss(X, y), rtol=1e-15)  # 1-D targets for one output
