"""fastmlp.to_onnx: the exported graphs, run by onnxruntime, against fastmlp's own predict and predict_proba."""

import os
import pathlib
import subprocess
import sys
import warnings

import numpy as np
import pytest

import fastmlp as fm
import fastmlp.onnx as fo

HIDDEN = ["identity", "sigmoid", "tanh", "relu", "leaky_relu"]
OUTPUTS = ["identity", "sigmoid", "softmax"]
DTYPES = ["float32", "float64"]
# Relative agreement with fastmlp. Outputs of "identity" may be sums that cancel to far below their column's size;
# their entries are held to RTOL of the column's largest magnitude (see assert_agrees).
RTOL = {"float32": 1e-5, "float64": 1e-12}


@pytest.fixture(scope="module")
def ort():
    pytest.importorskip("onnx")
    return pytest.importorskip("onnxruntime")


def run(ort, proto, X):
    """onnxruntime's outputs for ``X``, by name, on one thread (the test machines share their cores)."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(proto.SerializeToString(), options, providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    return dict(zip(names, session.run(None, {"X": X}), strict=True))


def relative_error(got, ref, values=False):
    """Largest ``|got - ref| / max(|ref|, floor)``.

    The floor is the smallest normal number (probabilities below it are subnormal, with fewer digits in any
    implementation), and for values also the column's largest magnitude.
    """
    if ref.size == 0:
        return 0.0
    floor = np.finfo(ref.dtype).tiny
    if values:
        floor = np.maximum(np.abs(ref).max(axis=0), floor)
    return float((np.abs(got.astype(np.float64) - ref) / np.maximum(np.abs(ref), floor)).max())


def assert_agrees(got, ref, values=False):
    assert got.dtype == ref.dtype, (got.dtype, ref.dtype)
    assert got.shape == ref.shape, (got.shape, ref.shape)
    error = relative_error(got, ref, values)
    assert error <= RTOL[ref.dtype.name], f"relative error {error:.3g} > {RTOL[ref.dtype.name]}"


def random_model(sizes, hidden, output, dtype, bias=True, seed=0):
    model = fm.Model(sizes, hidden=hidden, output=output, dtype=dtype, bias=bias, seed=seed)
    if bias:  # biases start at 0; the graph must add real ones
        rng = np.random.default_rng(seed + 1)
        for b in model.biases:
            b[...] = rng.normal(0.0, 0.5, b.shape)
    return model


def inputs(n_features, dtype, n_rows=300, seed=2):
    return np.random.default_rng(seed).normal(0.0, 2.0, (n_rows, n_features)).astype(dtype)


def check_model_export(ort, model, X):
    import onnx

    proto = fm.to_onnx(model)
    onnx.checker.check_model(proto, full_check=True)
    got = run(ort, proto, X)["output"]
    assert_agrees(got, model.predict(X), values=model.output == "identity")
    return proto


# ----------------------------------------------------------------------------------------------------------------
# Models
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("output", OUTPUTS)
@pytest.mark.parametrize("hidden", HIDDEN)
def test_every_activation_and_output_agrees_with_predict(ort, hidden, output, dtype, bias):
    model = random_model([5, 7, 3], hidden, output, dtype, bias)
    check_model_export(ort, model, inputs(5, dtype))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("output", OUTPUTS)
@pytest.mark.parametrize(
    "sizes, hidden",
    [([5, 3], []), ([5, 8, 3], ["tanh"]), ([5, 8, 7, 6, 3], ["tanh", "leaky_relu", "sigmoid"]),
     ([5, 9, 9, 9, 9, 9, 3], ["relu", "identity", "relu", "tanh", "leaky_relu"])],
)  # fmt: skip
def test_any_depth_agrees_with_predict(ort, sizes, hidden, output, dtype):
    model = random_model(sizes, hidden, output, dtype)
    check_model_export(ort, model, inputs(5, dtype))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("output", ["identity", "sigmoid"])
def test_one_output_stays_two_dimensional_as_in_predict(ort, output, dtype):
    model = random_model([5, 6, 1], "relu", output, dtype)
    X = inputs(5, dtype)
    check_model_export(ort, model, X)
    assert model.predict(X).shape == (300, 1)


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("dtype", DTYPES)
def test_the_input_scaling_runs_before_the_first_layer(ort, dtype, bias):
    # A mean far from zero against the spread: float32 arithmetic on (X - mean) would keep 4 digits fewer than
    # fastmlp's float64 scaling does, and fail the float32 tolerance.
    rng = np.random.default_rng(3)
    mean, scale = rng.uniform(-1e4, 1e4, 5), rng.uniform(0.5, 2.0, 5)
    model = random_model([5, 8, 3], "tanh", "softmax", dtype, bias)
    model.set_input_scaling(mean, scale)
    X = (mean + scale * rng.normal(size=(300, 5))).astype(dtype)
    check_model_export(ort, model, X)


def test_the_model_is_not_changed_by_the_export(ort):
    model = random_model([5, 8, 3], "relu", "softmax", "float32")
    model.set_input_scaling(np.ones(5), np.full(5, 2.0))
    params, scaling = model.params.copy(), model.input_scaling
    fm.to_onnx(model)
    assert np.array_equal(model.params, params)
    assert all(np.array_equal(a, b) for a, b in zip(model.input_scaling, scaling, strict=True))


def test_leaky_relu_uses_the_kernels_slope():
    from fastmlp._jit.activations import LEAKY_RELU_SLOPE

    assert fo.LEAKY_RELU_SLOPE == LEAKY_RELU_SLOPE


def test_an_exp_output_exports_as_exp(ort):
    try:
        model = random_model([5, 6, 2], "tanh", "exp", "float64")
    except ValueError:
        pytest.skip("fastmlp has no output 'exp' yet")
    X = inputs(5, "float64")
    assert_agrees(run(ort, fm.to_onnx(model), X)["output"], model.predict(X))


def test_a_poisson_regressor_exports(ort):
    pytest.importorskip("sklearn")
    from sklearn.utils._param_validation import InvalidParameterError

    regressor = fm.MLPRegressor((6,), loss="poisson", max_iter=20, random_state=0)
    X = inputs(4, "float64", 100)
    try:
        fit_quietly(regressor, X, np.exp(X[:, 0] / 4))
    except InvalidParameterError as exc:
        if "'loss'" not in str(exc):
            raise
        pytest.skip("MLPRegressor has no loss 'poisson' yet")
    assert_agrees(run(ort, fm.to_onnx(regressor), X)["predictions"], regressor.predict(X))


# ----------------------------------------------------------------------------------------------------------------
# Estimators
def fit_quietly(estimator, X, y):
    from sklearn.exceptions import ConvergenceWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return estimator.fit(X, y)


def class_data(n_classes, dtype, n_rows=300, seed=4):
    """Inputs and class indices that a small net separates fairly well, so predictions are far from ties."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_rows, 4)).astype(dtype)
    centres = rng.normal(0.0, 2.0, (n_classes, 4))
    return X, np.argmin(((X[:, None, :] - centres) ** 2).sum(axis=2), axis=1)


def assert_labels_equal(got, ref, proba, target):
    """Equal labels; first the premise that no row of the test data sits within rounding of a tie."""
    if target == "multiclass":
        top = np.sort(proba, axis=1)
        margin = (top[:, -1] - top[:, -2]).min()
    else:
        margin = np.abs(proba[:, -1] - 0.5).min() if target == "binary" else np.abs(proba - 0.5).min()
    assert margin > 1e-5, f"the test data has a near-tie ({margin:.2g}): pick other data"
    assert got.shape == ref.shape
    assert np.array_equal(got, ref)


LABELS = {
    "ints": [3, 7, 11, 20],
    "negative ints": [-5, 2, 10, 99],
    "strings": ["cat", "dog", "emu", "fox"],
    "floats": [1.0, 2.0, 4.0, 8.0],  # scikit-learn takes floats as classes when they are whole numbers
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("hidden_layer_sizes, activation", [((8,), "relu"), ((), "relu"), ((8, 6), "tanh")])
@pytest.mark.parametrize("n_classes", [2, 4])
@pytest.mark.parametrize("labels", sorted(LABELS))
def test_classifiers_give_predict_and_predict_proba(ort, labels, n_classes, hidden_layer_sizes, activation, dtype):
    pytest.importorskip("sklearn")
    X, index = class_data(n_classes, dtype)
    y = np.array(LABELS[labels][:n_classes])[index]
    clf = fm.MLPClassifier(hidden_layer_sizes, activation=activation, max_iter=60, random_state=0, dtype=dtype)
    fit_quietly(clf, X, y)
    target = "binary" if n_classes == 2 else "multiclass"
    assert clf._label_binarizer.y_type_ == target
    out = run(ort, fm.to_onnx(clf), X)
    proba = clf.predict_proba(X)
    assert_agrees(out["probabilities"], proba)
    assert_labels_equal(out["label"], clf.predict(X), proba, target)


@pytest.mark.parametrize("dtype", DTYPES)
def test_boolean_labels(ort, dtype):
    pytest.importorskip("sklearn")
    X, index = class_data(2, dtype)
    clf = fit_quietly(fm.MLPClassifier((8,), max_iter=60, random_state=0, dtype=dtype), X, index == 1)
    out = run(ort, fm.to_onnx(clf), X)
    assert out["label"].dtype == np.bool_
    assert_labels_equal(out["label"], clf.predict(X), clf.predict_proba(X), "binary")


@pytest.mark.parametrize("dtype", DTYPES)
def test_string_labels_of_object_dtype(ort, dtype):
    pytest.importorskip("sklearn")
    X, index = class_data(3, dtype)
    y = np.array(["low", "mid", "high"], dtype=object)[index]
    clf = fit_quietly(fm.MLPClassifier((8,), max_iter=60, random_state=0, dtype=dtype), X, y)
    out = run(ort, fm.to_onnx(clf), X)
    assert_labels_equal(out["label"], clf.predict(X), clf.predict_proba(X), "multiclass")


def test_a_classifier_fitted_on_one_class_predicts_it(ort):
    pytest.importorskip("sklearn")
    X, _ = class_data(2, "float64")
    clf = fit_quietly(fm.MLPClassifier((4,), max_iter=5, random_state=0), X, ["only"] * len(X))
    out = run(ort, fm.to_onnx(clf), X)
    assert np.array_equal(out["label"], clf.predict(X))
    assert_agrees(out["probabilities"], clf.predict_proba(X))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("hidden_layer_sizes", [(8,), ()])
def test_multilabel_classifiers_give_an_int64_indicator(ort, hidden_layer_sizes, dtype):
    pytest.importorskip("sklearn")
    X, index = class_data(4, dtype)
    Y = np.stack([index == 0, index >= 2, index % 2 == 1], axis=1).astype(int)
    clf = fit_quietly(fm.MLPClassifier(hidden_layer_sizes, max_iter=60, random_state=0, dtype=dtype), X, Y)
    assert clf._label_binarizer.y_type_ == "multilabel-indicator"
    out = run(ort, fm.to_onnx(clf), X)
    proba = clf.predict_proba(X)
    assert_agrees(out["probabilities"], proba)
    assert out["label"].dtype == np.int64
    assert_labels_equal(out["label"], clf.predict(X), proba, "multilabel")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("hidden_layer_sizes", [(), (8,), (8, 6)])
@pytest.mark.parametrize("n_targets", [1, 3])
def test_regressors_give_predict_in_its_shape(ort, n_targets, hidden_layer_sizes, dtype):
    pytest.importorskip("sklearn")
    rng = np.random.default_rng(5)
    X = rng.normal(size=(200, 4)).astype(dtype)
    Y = np.tanh(X @ rng.normal(size=(4, n_targets))) + 0.1 * X[:, :1]
    y = Y[:, 0] if n_targets == 1 else Y
    reg = fit_quietly(fm.MLPRegressor(hidden_layer_sizes, max_iter=60, random_state=0, dtype=dtype), X, y)
    predictions = run(ort, fm.to_onnx(reg), X)["predictions"]
    assert predictions.shape == ((200,) if n_targets == 1 else (200, 3))
    assert_agrees(predictions, reg.predict(X), values=True)


def test_an_unfitted_estimator_is_refused():
    pytest.importorskip("onnx")
    NotFittedError = pytest.importorskip("sklearn.exceptions").NotFittedError

    with pytest.raises(NotFittedError):
        fm.to_onnx(fm.MLPClassifier())


# ----------------------------------------------------------------------------------------------------------------
# The graph
def test_the_batch_dimension_is_symbolic(ort):
    pytest.importorskip("sklearn")
    X, index = class_data(3, "float32")
    clf = fit_quietly(fm.MLPClassifier((8,), max_iter=30, random_state=0, dtype="float32"), X, index)
    proto = fm.to_onnx(clf)
    for value in [*proto.graph.input, *proto.graph.output]:
        first = value.type.tensor_type.shape.dim[0]
        assert first.dim_param == "n_samples" and not first.HasField("dim_value")
    for n in [1, 2, 17, 1000]:
        Xn = inputs(4, "float32", n, seed=n)
        out = run(ort, proto, Xn)
        assert out["label"].shape == (n,) and out["probabilities"].shape == (n, 3)
        assert_agrees(out["probabilities"], clf.predict_proba(Xn))


def test_the_graph_is_plain_onnx(ort):
    import onnx

    model = random_model([5, 8, 3], "leaky_relu", "softmax", "float32")
    model.set_input_scaling(np.zeros(5), np.ones(5))
    proto = fm.to_onnx(model)
    assert [i.domain for i in proto.opset_import] == [""]
    ops = {node.op_type for node in proto.graph.node}
    assert ops == {"Cast", "Sub", "Div", "Gemm", "LeakyRelu", "Softmax", "Identity"}
    assert [i.name for i in proto.graph.input] == ["X"]
    assert proto.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    assert proto.producer_name == "fastmlp" and proto.producer_version == fm.__version__
    no_bias = fm.to_onnx(random_model([5, 8, 3], "relu", "identity", "float64", bias=False))
    assert {node.op_type for node in no_bias.graph.node} == {"MatMul", "Relu", "Identity"}
    assert no_bias.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.DOUBLE


def test_every_initializer_is_used(ort):
    # An unused initializer makes onnxruntime print a warning for every session it creates.
    pytest.importorskip("sklearn")
    exported = [fm.to_onnx(random_model([5, 8, 3], "relu", "softmax", "float32"))]
    for n_classes in (2, 4):
        X, index = class_data(n_classes, "float32")
        exported.append(fm.to_onnx(fit_quietly(fm.MLPClassifier((4,), max_iter=5, random_state=0), X, index)))
    Y = (np.arange(60)[:, None] % [2, 3] == 0).astype(int)  # two labels
    multilabel = fit_quietly(fm.MLPClassifier((4,), max_iter=5, random_state=0), np.eye(60, 5), Y)
    exported.append(fm.to_onnx(multilabel))
    for proto in exported:
        read = {name for node in proto.graph.node for name in node.input}
        assert {init.name for init in proto.graph.initializer} <= read


@pytest.mark.parametrize("opset", range(fo.MIN_OPSET, fo.MAX_OPSET + 1))
def test_every_offered_opset_runs(ort, opset):
    import onnx

    pytest.importorskip("sklearn")
    X, index = class_data(3, "float64")
    clf = fit_quietly(fm.MLPClassifier((8,), activation="logistic", max_iter=30, random_state=0), X, index)
    proto = fm.to_onnx(clf, opset=opset)
    onnx.checker.check_model(proto, full_check=True)
    assert [(i.domain, i.version) for i in proto.opset_import] == [("", opset)]
    assert proto.ir_version == onnx.helper.find_min_ir_version_for(list(proto.opset_import))
    out = run(ort, proto, X)
    assert_agrees(out["probabilities"], clf.predict_proba(X))
    assert np.array_equal(out["label"], clf.predict(X))


def test_the_default_opset(ort):
    proto = fm.to_onnx(random_model([3, 2], [], "identity", "float32"))
    assert [i.version for i in proto.opset_import] == [fo.DEFAULT_OPSET] == [17]


@pytest.mark.parametrize("opset, error", [(12, ValueError), (22, ValueError), (-1, ValueError), ("17", TypeError),
                                          (17.0, TypeError), (True, TypeError)])  # fmt: skip
def test_unsupported_opsets_are_refused(ort, opset, error):
    with pytest.raises(error, match="opset"):
        fm.to_onnx(random_model([3, 2], [], "identity", "float32"), opset=opset)


@pytest.mark.parametrize("thing", [object(), fm.Model, np.zeros((3, 2)), "model.npz", None])
def test_other_objects_are_refused_naming_the_argument(ort, thing):
    with pytest.raises(TypeError, match=r"^model must be a fastmlp\.Model"):
        fm.to_onnx(thing)


def test_scikit_learns_own_estimators_are_refused_with_a_pointer(ort):
    sklearn_mlp = pytest.importorskip("sklearn.neural_network")
    X, index = class_data(2, "float64", 50)
    clf = fit_quietly(sklearn_mlp.MLPClassifier((4,), max_iter=5), X, index)
    with pytest.raises(TypeError, match="skl2onnx"):
        fm.to_onnx(clf)


def test_non_finite_params_are_refused(ort):
    model = random_model([3, 4, 2], "relu", "identity", "float32")
    model.weights[1][0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN or infinity"):
        fm.to_onnx(model)


def test_an_activation_without_an_entry_is_refused(ort, monkeypatch):
    monkeypatch.delitem(fo.ACTIVATIONS, "tanh")
    with pytest.raises(ValueError, match="'tanh'"):
        fm.to_onnx(random_model([3, 4, 2], "tanh", "identity", "float32"))


# ----------------------------------------------------------------------------------------------------------------
# Files, imports
def test_path_writes_the_model(ort, tmp_path):
    import onnx

    model = random_model([4, 6, 3], "tanh", "softmax", "float32")
    target = tmp_path / "model.onnx"
    target.write_bytes(b"old")
    proto = fm.to_onnx(model, target)
    assert target.read_bytes() == proto.SerializeToString()
    assert onnx.load(str(target)) == proto
    fm.to_onnx(model, str(tmp_path / "second.onnx"))
    assert sorted(os.listdir(tmp_path)) == ["model.onnx", "second.onnx"]  # no temporary files left


def test_a_directory_as_path_is_refused_and_nothing_is_left(ort, tmp_path):
    (tmp_path / "d").mkdir()
    with pytest.raises(IsADirectoryError):
        fm.to_onnx(random_model([3, 2], [], "identity", "float32"), pathlib.Path(tmp_path / "d"))
    assert os.listdir(tmp_path) == ["d"]


def test_without_onnx_the_error_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "onnx", None)  # makes `import onnx` raise ImportError
    with pytest.raises(ImportError, match=r"pip install 'fastmlp\[onnx\]'"):
        fm.to_onnx(fm.Model([3, 2]))


@pytest.mark.subprocess
def test_to_onnx_is_public_and_loads_lazily():
    assert "to_onnx" in fm.__all__ and "to_onnx" in dir(fm)
    assert fm.to_onnx is fo.to_onnx
    code = (
        "import sys, fastmlp; assert 'fastmlp.onnx' not in sys.modules; f = fastmlp.to_onnx; "
        "assert 'fastmlp.onnx' in sys.modules and 'onnx' not in sys.modules, sorted(sys.modules)"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.benchmark
def test_the_latency_benchmark_runs(ort, capsys):
    from bench import onnx_latency

    assert onnx_latency.main(["--rounds", "2", "--calls", "5", "--rows", "50"]) == 0
    table = capsys.readouterr().out
    assert "| fastmlp |" in table and "| onnxruntime |" in table
