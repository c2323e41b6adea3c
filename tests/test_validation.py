"""Every bad input gets a ValueError or TypeError naming the argument, never a Numba error or a wrong answer."""

import numpy as np
import pytest

import fastmlp as fm


@pytest.fixture
def reg():
    return fm.Model([3, 4, 1], seed=0)


@pytest.fixture
def clf():
    return fm.Model([3, 4, 3], output="softmax", seed=0)


X3 = np.ones((5, 3))


# --- constructor ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        (dict(sizes=[3]), ValueError, "at least the input and output"),
        (dict(sizes=[3, 0, 1]), ValueError, r"sizes\[1\] must be an integer >= 1"),
        (dict(sizes=[3, -2]), ValueError, r"sizes\[1\] must be an integer >= 1"),
        (dict(sizes=[3, 2.5, 1]), TypeError, r"sizes\[1\] must be an integer"),
        (dict(sizes=[3, "4", 1]), TypeError, r"sizes\[1\] must be an integer"),
        (dict(sizes=[3, True]), TypeError, r"sizes\[1\] must be an integer"),
        (dict(sizes=3), TypeError, "sizes must be a sequence"),
        (dict(sizes="34"), TypeError, "sizes must be a sequence"),
        (dict(sizes=[3, 4, 1], hidden="relux"), ValueError, "hidden must be one of"),
        (dict(sizes=[3, 4, 1], hidden=["relu", "tanh"]), ValueError, "one activation per hidden layer"),
        (dict(sizes=[3, 4, 1], hidden=[7]), TypeError, r"hidden\[0\] must be a string"),
        (dict(sizes=[3, 4, 1], output="softplus"), ValueError, "output must be one of"),
        (dict(sizes=[3, 4, 1], output="relu"), ValueError, "output must be one of"),
        (dict(sizes=[3, 4, 1], output="softmax"), ValueError, "softmax' needs at least 2 output units"),
        (dict(sizes=[3, 4, 1], init="uniform"), ValueError, "init must be one of"),
        (dict(sizes=[3, 4, 1], dtype="float16"), ValueError, "dtype must be 'float32' or 'float64'"),
        (dict(sizes=[3, 4, 1], dtype="int32"), ValueError, "dtype must be 'float32' or 'float64'"),
        (dict(sizes=[3, 4, 1], dtype="nonsense"), TypeError, "dtype must be 'float32' or 'float64'"),
        (dict(sizes=[3, 4, 1], seed=-1), ValueError, "seed must be None, a non-negative integer"),
        (dict(sizes=[3, 4, 1], dtype=None), TypeError, "dtype must be 'float32' or 'float64'; got None"),
        (dict(sizes=[3, 4, 1], bias="no"), TypeError, "bias must be True or False"),
        (dict(sizes=[3, 4, 1], seed="abc"), TypeError, "seed must be None, a non-negative integer"),
    ],
)
def test_bad_constructor_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        fm.Model(**kwargs)


def test_aliases_are_accepted():
    model = fm.Model([2, 3, 1], hidden="logistic", output="linear", init="xavier")
    assert model.hidden == ("sigmoid",) and model.output == "identity" and model.init == ("glorot", "glorot")


# --- X ----------------------------------------------------------------------------------------------------------
BAD_X = [
    (np.ones((5, 4)), ValueError, r"X has 4 features, but the model expects 3"),
    (np.ones(3), ValueError, r"X must be 2-D .* got 1-D"),
    (np.ones((2, 3, 1)), ValueError, r"X must be 2-D .* got 3-D"),
    (np.ones((0, 3)), ValueError, r"X is empty: 0 samples"),
    (np.ones((5, 0)), ValueError, r"X has 0 feature\(s\)"),
    (np.array([[1.0, np.nan, 2.0]]), ValueError, "X contains NaN"),
    (np.array([[1.0, np.inf, 2.0]]), ValueError, "X contains infinity"),
    (np.array([[1.0, -np.inf, 2.0]]), ValueError, "X contains infinity"),
    (np.array([[1e300, 1.0, 2.0]]), ValueError, "X contains infinity"),  # overflows float32
    (np.array([[1, 2, 3]], dtype=object), TypeError, "X must hold numbers; got an array of dtype object"),
    (np.array([["a", "b", "c"]]), TypeError, "X must hold numbers"),
    (np.ones((2, 3), dtype=complex), TypeError, "X must be real; complex data"),
    (np.ones((2, 3), dtype=bool), TypeError, "X must hold numbers; got a boolean array"),
    ("abc", TypeError, "X must be an array of numbers"),
    ([[1, 2, 3], [1, 2]], ValueError, "X could not be read as a rectangular numeric array"),
    (np.ma.array(np.ones((2, 3)), mask=[[0, 1, 0], [0, 0, 0]]), TypeError, "X is a masked array"),
]


@pytest.mark.parametrize(("X", "error", "match"), BAD_X)
@pytest.mark.parametrize("method", ["predict", "forward", "loss", "gradients", "fit"])
def test_bad_X(reg, X, error, match, method):
    call = getattr(reg, method)
    args = (X,) if method in ("predict", "forward") else (X, np.zeros(len(X) if hasattr(X, "__len__") else 1))
    before = reg.params.copy()
    with pytest.raises(error, match=match):
        call(*args)
    np.testing.assert_array_equal(reg.params, before)


def test_nan_found_in_a_later_chunk(reg):
    X = np.ones((100, 3))
    X[97, 1] = np.nan
    with pytest.raises(ValueError, match="X contains NaN"):
        reg.predict(X, chunk_size=10)


# --- y ----------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("model", "y", "error", "match"),
    [
        ("reg", np.zeros(4), ValueError, r"y must have one row per sample of X \(5\)"),
        ("reg", np.zeros((5, 2)), ValueError, r"y must have shape \(5, 1\)"),
        ("reg", np.array([0, 1, np.nan, 0, 0]), ValueError, "y contains NaN"),
        ("reg", np.array([0, 1, np.inf, 0, 0]), ValueError, "y contains infinity"),
        ("reg", np.array(["a"] * 5), TypeError, "y must hold numbers"),
        ("reg", np.zeros(5, dtype=complex), TypeError, "y must be real"),
        ("reg", np.zeros(5, dtype=bool), TypeError, "y must hold numbers; got a boolean array"),
        ("reg", 3.0, ValueError, "y must have one row per sample"),
        ("reg", np.array([1e300, 0, 0, 0, 0]), ValueError, "y contains infinity \\(or values too large for float32\\)"),
        ("clf", np.array([0, 1, 2, 3, 0]), ValueError, r"y labels must lie in \[0, 2\]"),
        ("clf", np.array([0, 1, -1, 2, 0]), ValueError, r"y labels must lie in \[0, 2\]"),
        ("clf", np.array([0, 1, 0.5, 2, 0]), ValueError, "must be integers; got fractions"),
        ("clf", np.zeros((5, 2)), ValueError, r"y must have shape \(5, 3\)"),
        ("clf", np.full((5, 3), 0.5), ValueError, "rows must sum to 1"),
        ("clf", np.full((5, 3), -1.0), ValueError, r"probabilities in \[0, 1\]"),
    ],
)
@pytest.mark.parametrize("method", ["loss", "gradients", "fit"])
def test_bad_y(request, model, y, error, match, method):
    model = request.getfixturevalue(model)
    with pytest.raises(error, match=match):
        getattr(model, method)(X3, y)


def test_sigmoid_targets_must_be_probabilities():
    model = fm.Model([3, 2], output="sigmoid", seed=0)
    with pytest.raises(ValueError, match=r"y must hold probabilities in \[0, 1\] for output='sigmoid'"):
        model.fit(X3, np.full((5, 2), 2.0))
    with pytest.raises(ValueError, match=r"y must be 2-D of shape \(5, 2\)"):
        model.fit(X3, np.zeros(5))
    model.fit(X3, np.zeros((5, 2), dtype=bool), epochs=1)  # booleans are 0/1 labels here


def test_softmax_accepts_labels_and_one_hot_alike(clf):
    labels = np.array([0, 2, 1, 1, 0])
    one_hot = np.eye(3)[labels]
    assert clf.loss(X3, labels) == clf.loss(X3, one_hot)
    assert clf.loss(X3, labels.astype(float)) == clf.loss(X3, one_hot)


# --- fit and other options --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        (dict(epochs=-1), ValueError, "epochs must be an integer >= 0"),
        (dict(epochs=1.5), TypeError, "epochs must be an integer"),
        (dict(batch_size=0), ValueError, "batch_size must be an integer >= 1"),
        (dict(batch_size=None), TypeError, "batch_size must be an integer"),
        (dict(seed=-3), ValueError, "seed must be None"),
    ],
)
def test_bad_fit_arguments(reg, kwargs, error, match):
    with pytest.raises(error, match=match):
        reg.fit(X3, np.zeros(5), **kwargs)


def test_unknown_keyword_is_a_type_error(reg):
    with pytest.raises(TypeError, match="lr"):
        reg.fit(X3, np.zeros(5), lr=0.1)


@pytest.mark.parametrize(("chunk_size", "error"), [(0, ValueError), (2.0, TypeError)])
def test_bad_chunk_size(reg, chunk_size, error):
    with pytest.raises(error, match="chunk_size must be an integer >= 1"):
        reg.predict(X3, chunk_size=chunk_size)


def test_bad_params_assignment(reg):
    with pytest.raises(ValueError, match=r"params must have shape \(21,\)"):
        reg.params = np.zeros(20)
    with pytest.raises(ValueError, match="params contains NaN"):
        reg.params = np.full(21, np.nan)


def test_check_gradients_rejects_bad_arguments(reg):
    with pytest.raises(ValueError, match="eps must be a finite number > 0"):
        fm.check_gradients(reg, X3, np.zeros(5), eps=0)
    with pytest.raises(ValueError, match=r"eps must be a small step, in \(0, 0.1\]"):
        fm.check_gradients(reg, X3, np.zeros(5), eps=1e300)
    with pytest.raises(TypeError, match="model must be a fastmlp.Model; got str"):
        fm.check_gradients("model", X3, np.zeros(5))


@pytest.mark.parametrize("flag", ["shuffle", "record_gradient_norms"])
def test_boolean_fit_options_must_be_booleans(reg, flag):
    with pytest.raises(TypeError, match=f"{flag} must be True or False"):
        reg.fit(X3, np.zeros(5), **{flag: "no"})


def test_no_numba_error_escapes():
    """Odd but valid shapes and dtypes all work; none reaches a kernel in a form it cannot type."""
    for sizes in ([1, 1], [1, 1, 1], [7, 1, 7], [2, 30, 1, 30, 2]):
        for dtype in ("float32", "float64"):
            model = fm.Model(sizes, output="softmax" if sizes[-1] > 1 else "sigmoid", dtype=dtype, seed=0)
            for X in (np.zeros((1, sizes[0]), dtype=np.int32), np.ones((3, sizes[0]), dtype=np.uint8)):
                y = np.zeros(len(X), dtype=int) if sizes[-1] > 1 else np.zeros(len(X))
                assert model.predict(X).dtype == model.dtype
                model.fit(X, y, epochs=1, batch_size=2)
                model.gradients(X, y)
