"""Same random_state, data and parameters: the same weights as scikit-learn's MLP, from the first to the last."""

import warnings

import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn")
from sklearn import neural_network as sk  # noqa: E402
from sklearn.datasets import load_iris, make_regression  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

import fastmlp as fm  # noqa: E402

X_IRIS, Y_IRIS = load_iris(return_X_y=True)
X_IRIS = StandardScaler().fit_transform(X_IRIS)
X_REG, Y_REG = make_regression(n_samples=120, n_features=5, n_targets=2, noise=5.0, random_state=3)
Y_REG = StandardScaler().fit_transform(Y_REG)

SOLVERS = [
    {"solver": "adam"},
    {"solver": "lbfgs"},
    *[
        {"solver": "sgd", "learning_rate": rate, "momentum": momentum, "nesterovs_momentum": nesterov}
        for rate in ("constant", "invscaling", "adaptive")
        for momentum, nesterov in ((0.0, False), (0.9, False), (0.9, True))
    ],
]


def _pair(kind, **params):
    params = {"hidden_layer_sizes": (7, 5), "random_state": 0, "max_iter": 15, "learning_rate_init": 0.05, **params}
    if kind == "classifier":
        return fm.MLPClassifier(dtype="float64", **params), sk.MLPClassifier(**params), X_IRIS, Y_IRIS
    return fm.MLPRegressor(dtype="float64", **params), sk.MLPRegressor(**params), X_REG, Y_REG


def _fit_both(ours, theirs, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return ours.fit(X, y), theirs.fit(X, y)


def _assert_same_weights(ours, theirs, tol):
    for a, b in zip(ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_, strict=True):
        np.testing.assert_allclose(a, b, rtol=0, atol=tol)


@pytest.mark.parametrize("kind", ["classifier", "regressor"])
@pytest.mark.parametrize("activation", ["relu", "logistic"])
def test_the_initial_weights_are_scikit_learns(kind, activation):
    # A step of 1e-300 leaves every weight where it started, to the last bit.
    ours, theirs, X, y = _pair(kind, activation=activation, solver="sgd", momentum=0.0, max_iter=1,
                               learning_rate_init=1e-300)  # fmt: skip
    _fit_both(ours, theirs, X, y)
    _assert_same_weights(ours, theirs, tol=0)


@pytest.mark.parametrize("kind", ["classifier", "regressor"])
@pytest.mark.parametrize("params", SOLVERS, ids=lambda p: "-".join(str(v) for v in p.values()))
def test_fitted_weights_follow_scikit_learns_trajectory(kind, params):
    ours, theirs, X, y = _pair(kind, activation="tanh", shuffle=True, **params)
    _fit_both(ours, theirs, X, y)
    _assert_same_weights(ours, theirs, tol=1e-10)
    assert ours.n_iter_ == theirs.n_iter_ and ours.t_ == theirs.t_
    # scikit-learn reports a multi-output regressor's loss as the mean over outputs, though its gradient is that of
    # their sum; fastmlp reports the sum (a documented difference). Two outputs: a factor of 2 in the data term.
    if kind == "classifier":
        assert ours.loss_ == pytest.approx(theirs.loss_, rel=1e-10)
    else:
        penalty = 0.5 * 1e-4 * sum((W**2).sum() for W in theirs.coefs_) / len(X)
        assert ours.loss_ - penalty == pytest.approx(2 * (theirs.loss_ - penalty), rel=1e-3)


@pytest.mark.parametrize("kind", ["classifier", "regressor"])
def test_early_stopping_follows_scikit_learn(kind):
    ours, theirs, X, y = _pair(kind, solver="adam", early_stopping=True, validation_fraction=0.2, n_iter_no_change=3,
                               max_iter=60)  # fmt: skip
    _fit_both(ours, theirs, X, y)
    _assert_same_weights(ours, theirs, tol=1e-10)
    assert ours.n_iter_ == theirs.n_iter_
    np.testing.assert_allclose(ours.validation_scores_, theirs.validation_scores_, rtol=0, atol=1e-12)


def test_warm_start_and_partial_fit_follow_scikit_learn():
    ours, theirs, X, y = _pair("classifier", solver="sgd", warm_start=True, max_iter=5)
    _fit_both(ours, theirs, X, y)
    _fit_both(ours, theirs, X, y)
    _assert_same_weights(ours, theirs, tol=1e-10)
    assert ours.n_iter_ == theirs.n_iter_ == 5
    for _ in range(3):
        ours.partial_fit(X, y)
        theirs.partial_fit(X, y)
    _assert_same_weights(ours, theirs, tol=1e-10)
    assert ours.n_iter_ == theirs.n_iter_ and ours.t_ == theirs.t_


@pytest.mark.parametrize("solver", ["adam", "lbfgs", "sgd"])
def test_poisson_regression_follows_scikit_learn(solver):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 3))
    y = rng.poisson(np.exp(0.5 * X[:, 0] + 0.2))
    params = {"hidden_layer_sizes": (5,), "loss": "poisson", "solver": solver, "random_state": 0, "max_iter": 15,
              "learning_rate_init": 0.01}  # fmt: skip
    ours, theirs = _fit_both(fm.MLPRegressor(dtype="float64", **params), sk.MLPRegressor(**params), X, y)
    assert ours.out_activation_ == theirs.out_activation_ == "exp"
    _assert_same_weights(ours, theirs, tol=1e-10)
    assert ours.loss_ == pytest.approx(theirs.loss_, rel=1e-10)
    np.testing.assert_allclose(ours.predict(X), theirs.predict(X), rtol=1e-10)
    with pytest.raises(ValueError, match="must be >= 0"):
        fm.MLPRegressor(**params).fit(X, y - 5.0)
