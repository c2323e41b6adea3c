"""The scikit-learn estimators: scikit-learn's own estimator checks, its tools, and behaviour beside its MLP."""

import pickle
import sys

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

sklearn = pytest.importorskip("sklearn")

from sklearn.base import clone  # noqa: E402
from sklearn.compose import ColumnTransformer  # noqa: E402
from sklearn.datasets import load_iris, make_multilabel_classification  # noqa: E402
from sklearn.exceptions import ConvergenceWarning, NotFittedError  # noqa: E402
from sklearn.model_selection import GridSearchCV, cross_val_score  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

import fastmlp as fm  # noqa: E402
from fastmlp import MLPClassifier, MLPRegressor  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@parametrize_with_checks([MLPRegressor(), MLPClassifier()])
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    return StandardScaler().fit_transform(X), y


def test_classifier_learns_iris_with_every_solver(iris):
    X, y = iris
    for solver in ("adam", "sgd", "lbfgs"):
        clf = MLPClassifier(
            hidden_layer_sizes=(16,), solver=solver, learning_rate_init=0.05, max_iter=300, random_state=0
        )
        clf.fit(X, y)
        assert clf.score(X, y) > 0.95, solver
        assert clf.classes_.tolist() == [0, 1, 2] and clf.out_activation_ == "softmax"
        assert clf.n_layers_ == 3 and clf.n_outputs_ == 3 and clf.n_features_in_ == 4
        assert [c.shape for c in clf.coefs_] == [(4, 16), (16, 3)]
        assert_allclose(clf.predict_proba(X).sum(axis=1), 1, rtol=1e-6)


def test_string_and_binary_labels(iris):
    from sklearn.neural_network import MLPClassifier as SkMLP

    X, y = iris
    names = np.array(["setosa", "versicolor", "virginica"])[y]
    clf = MLPClassifier(hidden_layer_sizes=(8,), max_iter=300, random_state=0).fit(X, names)
    reference = SkMLP(hidden_layer_sizes=(8,), max_iter=300, random_state=0).fit(X, names)
    assert set(clf.predict(X)) <= set(names) and clf.classes_.tolist() == reference.classes_.tolist()
    assert clf.score(X, names) >= reference.score(X, names) - 0.05
    binary = names == "setosa"
    clf = MLPClassifier(hidden_layer_sizes=(8,), max_iter=300, random_state=0).fit(X, binary)
    assert clf.out_activation_ == "logistic" and clf.n_outputs_ == 1
    proba = clf.predict_proba(X)
    reference = SkMLP(hidden_layer_sizes=(8,), max_iter=300, random_state=0).fit(X, binary)
    assert proba.shape == (150, 2) and clf.score(X, binary) == reference.score(X, binary)
    assert_allclose(clf.predict_log_proba(X), np.log(proba))


@pytest.mark.parametrize(
    "labels, fit_on",
    [
        (np.array([2, 0, 1, 1, 2, 0]), None),
        (np.array([5, 3, 5, 5]), None),  # binary: the column of the larger class
        (np.array(["b", "a", "c", "a"]), None),
        (np.array(["no", "yes", "yes"], dtype=object), None),
        (np.array([1.0, -1.0, 1.0, 2.0]), None),
        (np.array([True, False, False]), None),
        (np.array([1, 1, 1]), None),  # a single class: the binarizer's column of zeros
        (np.array([1, 1, 3]), np.array([1, 2, 3])),  # fitted on more classes (partial_fit's classes)
        (np.array([[1, 0, 1], [0, 1, 1]]), None),  # multilabel
    ],
)
def test_indicator_columns_match_label_binarizer(labels, fit_on):
    from sklearn.preprocessing import LabelBinarizer

    from fastmlp.estimators import _indicator_columns

    binarizer = LabelBinarizer().fit(labels if fit_on is None else fit_on)
    for dtype in (np.float32, np.float64):
        Y = _indicator_columns(binarizer, labels, dtype)
        expected = binarizer.transform(labels)
        assert Y.dtype == dtype and Y.shape == expected.shape
        assert_array_equal(Y, expected)


def test_multilabel():
    X, Y = make_multilabel_classification(n_samples=200, n_classes=4, random_state=0)
    clf = MLPClassifier(hidden_layer_sizes=(32,), max_iter=300, random_state=0).fit(X, Y)
    assert clf.out_activation_ == "logistic" and clf.predict(X).shape == (200, 4)
    assert clf.score(X, Y) > 0.6  # subset accuracy, as scikit-learn's


def test_regressor_single_and_multi_output(rng):
    X = rng.normal(size=(300, 3))
    y = np.sin(X[:, 0]) + X[:, 1] ** 2
    reg = MLPRegressor(hidden_layer_sizes=(32,), max_iter=300, random_state=0, learning_rate_init=0.01).fit(X, y)
    assert reg.predict(X).shape == (300,) and reg.score(X, y) > 0.9
    Y = np.column_stack([y, -y])
    reg = MLPRegressor(hidden_layer_sizes=(32,), max_iter=300, random_state=0, learning_rate_init=0.01).fit(X, Y)
    assert reg.predict(X).shape == (300, 2) and reg.score(X, Y) > 0.9


def test_lbfgs_without_hidden_layers_is_least_squares(rng):
    X = rng.normal(size=(100, 3))
    y = X @ [1.0, -2.0, 0.5] + 0.3 + 0.01 * rng.normal(size=100)
    reg = MLPRegressor(hidden_layer_sizes=[], solver="lbfgs", alpha=0.0, tol=1e-12, max_iter=1000, dtype="float64")
    reg.fit(X, y)
    solution, *_ = np.linalg.lstsq(np.column_stack([X, np.ones(100)]), y, rcond=None)
    # L-BFGS-B also stops once the loss changes by less than ftol = 2.2e-9 relative, which leaves the parameters
    # within about sqrt(ftol) ~ 5e-5 of the optimum.
    assert_allclose(reg.coefs_[0].ravel(), solution[:3], rtol=1e-4)
    assert_allclose(reg.intercepts_[0], solution[3:], rtol=1e-4)


def test_fitted_attributes_and_loss_like_scikit_learn(iris):
    from sklearn.neural_network import MLPClassifier as SkMLP

    X, y = iris
    params = dict(hidden_layer_sizes=(10,), max_iter=50, random_state=0, learning_rate_init=0.01)
    ours, theirs = MLPClassifier(**params).fit(X, y), SkMLP(**params).fit(X, y)
    for name in ("loss_", "best_loss_", "loss_curve_", "n_iter_", "t_", "n_layers_", "n_outputs_", "out_activation_"):
        assert np.shape(getattr(ours, name)) == np.shape(getattr(theirs, name)), name
    assert (ours.n_layers_, ours.n_outputs_, ours.out_activation_) == (theirs.n_layers_, theirs.n_outputs_, "softmax")
    assert ours.n_iter_ == theirs.n_iter_ == 50 and ours.t_ == theirs.t_ == 50 * 150
    # Different random streams, same algorithm: the losses agree closely after 50 epochs.
    assert abs(ours.loss_ - theirs.loss_) < 0.5 * theirs.loss_
    assert ours.best_loss_ == min(ours.loss_curve_)


def test_early_stopping_keeps_the_best_validation_score(iris):
    X, y = iris
    clf = MLPClassifier(hidden_layer_sizes=(8,), early_stopping=True, validation_fraction=0.2, n_iter_no_change=5,
                        max_iter=500, random_state=0).fit(X, y)  # fmt: skip
    assert clf.n_iter_ < 500 and len(clf.validation_scores_) == clf.n_iter_
    assert clf.best_validation_score_ == max(clf.validation_scores_) and clf.best_loss_ is None


def test_adaptive_learning_rate_divides_by_five_like_scikit_learn(rng):
    from sklearn.neural_network import MLPClassifier as SkMLP

    X = rng.normal(size=(60, 2))
    y = (X[:, 0] > 0).astype(int)
    params = dict(hidden_layer_sizes=(4,), solver="sgd", learning_rate="adaptive", learning_rate_init=1e-5,
                  n_iter_no_change=2, max_iter=100, random_state=0)  # fmt: skip
    ours, theirs = MLPClassifier(**params).fit(X, y), SkMLP(**params).fit(X, y)
    # With so small a rate the loss never improves by tol. Epoch 1 sets the best loss; from then on each epoch adds
    # one to the count, and when it exceeds 2 (epochs 4, 7, 10) the rate is divided by 5 (1e-5 -> 2e-6 -> 4e-7) or,
    # once at or below 1e-6, training stops.
    assert ours.n_iter_ == theirs.n_iter_ == 10
    assert_allclose(ours.model_._train_state.schedule_state["scale"], 1 / 25)
    assert_allclose(theirs._optimizer.learning_rate, 4e-7)


def test_partial_fit(iris):
    X, y = iris
    clf = MLPClassifier(hidden_layer_sizes=(8,), learning_rate_init=0.01, batch_size=16, random_state=0)
    with pytest.raises(ValueError, match="classes must be passed on the first call"):
        clf.partial_fit(X, y)
    for _ in range(30):
        clf.partial_fit(X, y, classes=[0, 1, 2])
    # n_iter_ counts the epochs of the last call (scikit-learn's definition); t_ counts every row seen.
    assert clf.n_iter_ == 1 and clf.t_ == 30 * len(X) and len(clf.loss_curve_) == 30 and clf.score(X, y) > 0.8
    with pytest.raises(ValueError, match="`y` has classes not in `self.classes_`"):
        clf.partial_fit(X[:3], [0, 1, 7])
    for est in (MLPClassifier(solver="lbfgs"), MLPRegressor(solver="lbfgs")):
        assert not hasattr(est, "partial_fit")
        with pytest.raises(AttributeError, match="has no attribute 'partial_fit'") as info:
            est.partial_fit(X, y)
        assert "only available for stochastic optimizers. lbfgs is not stochastic" in str(info.value.__cause__)


def test_warm_start_continues(iris):
    X, y = iris
    clf = MLPClassifier(hidden_layer_sizes=(8,), max_iter=10, warm_start=True, random_state=0).fit(X, y)
    first = clf.coefs_[0].copy()
    clf.fit(X, y)
    # n_iter_ counts the epochs of this fit (scikit-learn's definition); t_ and the loss curve go on.
    assert clf.n_iter_ == 10 and clf.t_ == 20 * len(X) and len(clf.loss_curve_) == 20
    assert not np.array_equal(first, clf.coefs_[0])
    with pytest.raises(ValueError, match="warm_start can only be used where `y` has the same classes"):
        clf.fit(X[y < 2], y[y < 2])


def test_not_fitted_and_bad_parameters(iris):
    X, y = iris
    with pytest.raises(NotFittedError):
        MLPClassifier().predict(X)
    with pytest.raises(ValueError, match="'solver' parameter of MLPClassifier must be"):
        MLPClassifier(solver="newton").fit(X, y)
    with pytest.raises(ValueError, match="hidden_layer_sizes must be > 0"):
        MLPRegressor(hidden_layer_sizes=(3, 0)).fit(X, y)
    for sizes in [(10.5,), (True,), [10, "a"]]:
        with pytest.raises(TypeError, match="hidden_layer_sizes must be integers"):
            MLPRegressor(hidden_layer_sizes=sizes).fit(X, y)
    with pytest.raises(ValueError, match="activation lists 1 activations for 2 hidden layers"):
        MLPRegressor(hidden_layer_sizes=(3, 3), activation=["tanh"]).fit(X, y)
    with pytest.raises(ValueError, match="X has 3 features, but MLPClassifier is expecting 4 features"):
        MLPClassifier(max_iter=5).fit(X, y).predict(X[:, :3])


@pytest.mark.parametrize(
    "params",
    [
        {"max_iter": True},
        {"learning_rate_init": True},
        {"epsilon": True},
        {"alpha": True},
        {"beta_1": False},
        {"tol": True},
        {"batch_size": True},
        {"solver": "sgd", "momentum": True},
        {"solver": "sgd", "learning_rate": "invscaling", "power_t": True},
        {"solver": "lbfgs", "max_fun": True},
        {"solver": "lbfgs", "alpha": True},
    ],
)
def test_bools_where_scikit_learn_takes_numbers(params):
    # scikit-learn's parameter checks take a bool as the number it is (True is 1): so do the estimators.
    from sklearn.neural_network import MLPClassifier as SkMLP

    X = np.random.default_rng(0).random((40, 3))
    y = np.arange(40) % 3
    ours = MLPClassifier(hidden_layer_sizes=(5,), random_state=0, **params).fit(X, y)
    reference = SkMLP(hidden_layer_sizes=(5,), random_state=0, **params).fit(X, y)
    assert ours.n_iter_ == reference.n_iter_
    assert_allclose(ours.loss_, reference.loss_, rtol=1e-6)


def test_extras_dtype_and_per_layer_activations(iris):
    X, y = iris
    clf = MLPClassifier(hidden_layer_sizes=(8, 8), activation=["tanh", "leaky_relu"], max_iter=20, random_state=0)
    clf.fit(X.astype(np.float32), y)
    assert clf.model_.dtype == np.float32 and clf.model_.hidden == ("tanh", "leaky_relu")
    assert clf.predict_proba(X).dtype == np.float32
    assert MLPClassifier(max_iter=5, dtype="float32").fit(X, y).model_.dtype == np.float32
    assert MLPClassifier(max_iter=5).fit(X, y).model_.dtype == np.float64  # follows X, as scikit-learn


def test_works_with_scikit_learn_tools(iris):
    pd = pytest.importorskip("pandas")
    X, y = iris
    clf = MLPClassifier(hidden_layer_sizes=(8,), learning_rate_init=0.05, max_iter=100, random_state=0)
    pipe = make_pipeline(StandardScaler(), clf)
    scores = cross_val_score(pipe, X, y, cv=3, n_jobs=2)
    assert scores.mean() > 0.85
    search = GridSearchCV(
        MLPClassifier(learning_rate_init=0.05, max_iter=50, random_state=0), {"hidden_layer_sizes": [(4,), (8,)]}, cv=3
    )
    assert search.fit(X, y).best_score_ > 0.8
    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    columns = ColumnTransformer([("scale", StandardScaler(), ["a", "b"]), ("keep", "passthrough", ["c", "d"])])
    pipe = make_pipeline(columns, MLPRegressor(hidden_layer_sizes=(8,), max_iter=50, random_state=0))
    assert pipe.fit(frame, y.astype(float)).predict(frame).shape == (150,)
    reg = MLPRegressor(max_iter=5, random_state=0).fit(frame, y.astype(float))
    assert reg.feature_names_in_.tolist() == ["a", "b", "c", "d"]
    twin = clone(reg)
    assert twin.get_params() == reg.get_params() and not hasattr(twin, "model_")
    restored = pickle.loads(pickle.dumps(reg))
    assert_array_equal(restored.predict(frame), reg.predict(frame))


def test_import_without_scikit_learn_is_clear():
    import subprocess

    code = (
        "import sys; sys.modules['sklearn'] = None\n"  # as if scikit-learn were not installed
        "import fastmlp; fastmlp.Model([2, 1]).predict([[0.0, 1.0]])\n"
        "try:\n    fastmlp.MLPClassifier\nexcept ImportError as exc:\n    print(exc)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    expected = "fastmlp.MLPClassifier needs scikit-learn, which is not installed: pip install 'fastmlp[sklearn]'"
    assert expected in result.stdout
    with pytest.raises(AttributeError, match="has no attribute 'Nope'"):
        fm.__getattr__("Nope")


def test_convergence_warning_like_scikit_learn(iris):
    X, y = iris
    with pytest.warns(ConvergenceWarning, match="Maximum iterations \\(3\\) reached"):
        MLPClassifier(max_iter=3).fit(X, y)


@pytest.mark.parametrize("kind", ["strings", "binary", "multilabel", "regression"])
def test_save_and_load_estimators(iris, tmp_path, kind):
    pd = pytest.importorskip("pandas")
    X, y = iris
    frame = pd.DataFrame(X, columns=["sepal_l", "sepal_w", "petal_l", "petal_w"])
    targets = {
        "strings": np.array(["setosa", "versicolor", "virginica"])[y],
        "binary": y == 2,
        "multilabel": np.column_stack([y == 0, y == 2, y > 0]).astype(int),
        "regression": X[:, 0] * 2.0,
    }[kind]
    cls = MLPRegressor if kind == "regression" else MLPClassifier
    est = cls(hidden_layer_sizes=(6, 5), max_iter=20, random_state=np.random.RandomState(0)).fit(frame, targets)
    est.save(tmp_path / "est.npz")
    back = cls.load(tmp_path / "est.npz")
    assert_array_equal(back.predict(frame), est.predict(frame))
    assert back.get_params()["hidden_layer_sizes"] == (6, 5) and back.get_params()["random_state"] is None
    assert back.feature_names_in_.tolist() == est.feature_names_in_.tolist() and back.n_iter_ == est.n_iter_
    assert back.loss_curve_ == est.loss_curve_
    if cls is MLPClassifier:
        assert back.classes_.tolist() == est.classes_.tolist()
        assert_array_equal(back.predict_proba(frame), est.predict_proba(frame))
    other = MLPRegressor if cls is MLPClassifier else MLPClassifier
    with pytest.raises(fm.ModelFileError, match=f"not a valid {other.__name__} file: it holds {cls.__name__}"):
        other.load(tmp_path / "est.npz")
    fm.Model([4, 3]).save(tmp_path / "bare.npz")
    with pytest.raises(fm.ModelFileError, match="it holds a bare fastmlp.Model"):
        cls.load(tmp_path / "bare.npz")
    # A loaded estimator trains on, one more pass or a warm-started fit.
    back.partial_fit(frame, targets, **({"classes": back.classes_} if kind == "strings" else {}))
    assert back.n_iter_ == 1 and back.t_ == est.t_ + len(frame) and len(back.loss_curve_) == len(est.loss_curve_) + 1
    back.set_params(warm_start=True, max_iter=2).fit(frame, targets)
    assert back.n_iter_ == 2 and len(back.loss_curve_) == len(est.loss_curve_) + 3


def test_save_and_load_with_an_int_hidden_layer_size(iris, tmp_path):
    X, y = iris
    est = MLPClassifier(hidden_layer_sizes=5, max_iter=5, random_state=0).fit(X, y)
    est.save(tmp_path / "est.npz")
    back = MLPClassifier.load(tmp_path / "est.npz")
    assert back.hidden_layer_sizes == (5,)
    assert_array_equal(back.predict_proba(X), est.predict_proba(X))


def test_partial_fit_divides_an_adaptive_rate_like_scikit_learn(rng):
    from sklearn.neural_network import MLPRegressor as SkMLP

    X = rng.normal(size=(40, 2))
    y = X[:, 0]
    params = dict(hidden_layer_sizes=(3,), solver="sgd", learning_rate="adaptive", learning_rate_init=1e-5,
                  n_iter_no_change=2, random_state=0)  # fmt: skip
    ours, theirs = MLPRegressor(**params), SkMLP(**params)
    for _ in range(8):
        ours.partial_fit(X, y)
        theirs.partial_fit(X, y)
    # Epoch 1 sets the best loss; the count passes 2 after passes 4 and 7: 1e-5 -> 2e-6 -> 4e-7.
    assert_allclose(theirs._optimizer.learning_rate, 4e-7)
    assert_allclose(ours.model_._train_state.schedule_state["scale"], 1 / 25)
