"""Estimator model files: what save writes, load reads; forged metadata is refused quickly, in bounded memory."""

import os
import time
import tracemalloc
import zipfile

import numpy as np
import pytest

pytest.importorskip("sklearn")

import fastmlp as fm  # noqa: E402
import fastmlp._modelfile as mf  # noqa: E402
from fastmlp import MLPClassifier, MLPRegressor  # noqa: E402
from fastmlp.io import ModelFileError, load_with_metadata  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

DATA = os.path.join(os.path.dirname(__file__), "data")


def test_an_estimator_with_80000_named_columns_saves_and_loads(tmp_path):
    pd = pytest.importorskip("pandas")
    n_columns = 80_000
    names = [f"feature_{i:05d}" for i in range(n_columns)]  # about 1.3 MB of names as JSON
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(6, n_columns)), columns=names, copy=False)
    y = np.array(["a", "b", "c", "a", "b", "c"])
    est = MLPClassifier(hidden_layer_sizes=(2,), max_iter=2, random_state=0).fit(frame, y)
    path = tmp_path / "wide.npz"
    est.save(path)
    back = MLPClassifier.load(path)
    assert back.feature_names_in_.dtype == object and back.feature_names_in_.tolist() == names
    assert back.classes_.tolist() == ["a", "b", "c"]
    np.testing.assert_array_equal(back.predict_proba(frame), est.predict_proba(frame))
    with zipfile.ZipFile(path) as archive:
        assert archive.getinfo("header.json").file_size < 10_000  # the names are an array member, not JSON


@pytest.mark.parametrize("name", ["v1_classifier", "v1_multilabel", "v1_regressor"])
def test_version_1_estimator_files_still_load(name):
    """Estimator files written by fastmlp before format version 2 (kept in tests/data)."""
    path = os.path.join(DATA, f"{name}.npz")
    model, header = load_with_metadata(path)
    assert header["format_version"] == 1 and header.arrays == {}
    raw = X = np.random.default_rng(0).normal(size=(10, model.sizes[0]))
    if name == "v1_classifier":  # fitted on named columns: predict wants them too
        X = pytest.importorskip("pandas").DataFrame(raw, columns=["sepal_l", "sepal_w", "petal_l", "petal_w"])
    cls = MLPRegressor if name == "v1_regressor" else MLPClassifier
    est = cls.load(path)
    assert est.n_iter_ == 5 and len(est.loss_curve_) == 5
    if name == "v1_classifier":
        assert est.classes_.tolist() == ["setosa", "versicolor", "virginica"]
        assert est.feature_names_in_.tolist() == ["sepal_l", "sepal_w", "petal_l", "petal_w"]
        np.testing.assert_array_equal(est.predict_proba(X), model.predict(raw))
        np.testing.assert_array_equal(est.predict(X), est.classes_[model.predict(raw).argmax(axis=1)])
    elif name == "v1_multilabel":
        assert est.classes_.tolist() == [0, 1, 2]
        np.testing.assert_array_equal(est.predict(X), (model.predict(raw) > 0.5).astype(int))
    else:
        np.testing.assert_array_equal(est.predict(X), model.predict(raw).ravel())


def test_a_version_1_file_with_boolean_classes_still_loads(tmp_path):
    """Version 1 kept classes as JSON: a binary classifier of booleans stored ``[false, true]``."""
    path = _estimator_file(tmp_path, _v1_classes([False, True], "binary"), sizes=(4, 3, 1), output="sigmoid")
    est = MLPClassifier.load(path)
    assert est.classes_.dtype == bool and est.classes_.tolist() == [False, True]
    assert est.predict(np.zeros((2, 4))).dtype == bool


@pytest.mark.parametrize("kind", ["strings", "objects", "bools", "floats", "multilabel", "regression", "early"])
def test_estimators_keep_classes_names_and_curves_in_arrays(tmp_path, kind):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(30, 3))
    labels = rng.integers(0, 3, 30)
    y = {
        "strings": np.array(["x", "yy", "zzz"])[labels],
        "objects": np.array(["x", "yy", "zzz"], dtype=object)[labels],
        "bools": labels == 1,
        "floats": labels.astype(float),
        "multilabel": np.column_stack([labels == 0, labels == 1]).astype(int),
        "regression": X[:, 0],
        "early": labels,
    }[kind]
    cls = MLPRegressor if kind == "regression" else MLPClassifier
    est = cls(hidden_layer_sizes=(4,), max_iter=3, random_state=0, early_stopping=kind == "early").fit(X, y)
    est.save(tmp_path / "est.npz")
    _, header = load_with_metadata(tmp_path / "est.npz")
    assert set(header.arrays) <= {"classes", "feature_names_in", "loss_curve", "validation_scores"}
    assert "loss_curve" in header.arrays and "loss_curve_" not in header["metadata"]["fitted"]
    back = cls.load(tmp_path / "est.npz")
    assert back.loss_curve_ == est.loss_curve_ and all(type(v) is float for v in back.loss_curve_)
    if kind == "early":
        assert back.validation_scores_ == est.validation_scores_
        assert back.best_validation_score_ == est.best_validation_score_
    np.testing.assert_array_equal(back.predict(X), est.predict(X))
    if cls is MLPClassifier:
        assert "classes" in header.arrays and "classes" not in header["metadata"]
        assert back.classes_.tolist() == est.classes_.tolist()


def test_an_estimator_with_unsaveable_classes_is_refused_at_save(tmp_path):
    X = np.zeros((4, 2))
    est = MLPClassifier(hidden_layer_sizes=(2,), max_iter=1).fit(X, np.array([1, 2, 1, 2]))
    est.classes_ = np.array([(1,), (2,)] + [None], dtype=object)[:2]
    with pytest.raises(TypeError, match="classes_"):
        est.save(tmp_path / "est.npz")
    assert os.listdir(tmp_path) == []


def _estimator_file(tmp_path, edit, sizes=(4, 3, 3), output="softmax", arrays=None, name="est.npz"):
    """A bare model file whose metadata is a valid MLPClassifier's after ``edit(metadata)``."""
    est = MLPClassifier(hidden_layer_sizes=(3,), max_iter=1, random_state=0)
    params = {k: (list(v) if k == "hidden_layer_sizes" else v) for k, v in est.get_params().items()}
    metadata = {
        "estimator": "MLPClassifier", "params": params, "n_features_in": sizes[0],
        "fitted": {"n_iter_": 1, "t_": 10, "loss_": 1.0, "best_loss_": 1.0, "best_validation_score_": None,
                   "n_outputs_": sizes[-1]},
        "label_type": "multiclass",
    }  # fmt: skip
    all_arrays = {"classes": np.array([0, 1, 2]), "loss_curve": np.array([1.0])}
    all_arrays.update(arrays or {})
    edit(metadata, all_arrays)
    model = fm.Model(list(sizes), hidden="relu", output=output, dtype="float64", seed=0)
    path = tmp_path / name
    mf.write_model_file(path, model.config(), model.params, None, metadata,
                        arrays={k: v for k, v in all_arrays.items() if v is not None})  # fmt: skip
    return path


def _meta(key, value):
    def edit(meta, arrays):
        meta[key] = value

    return edit


def _fitted(key, value):
    def edit(meta, arrays):
        meta["fitted"][key] = value

    return edit


def _array(key, value):
    def edit(meta, arrays):
        arrays[key] = value

    return edit


def _v1_classes(classes, label_type):
    def edit(meta, arrays):
        arrays["classes"] = None
        meta.update(classes=classes, label_type=label_type)

    return edit


ESTIMATOR_CASES = [
    (_meta("params", []), "params must be an object"),
    (_meta("params", {"hidden_layer_sizes": 3}), "hidden_layer_sizes must be a list"),
    (_meta("params", {"hidden_layer_sizes": [3], "no_such": 1}), "unknown parameter.*no_such"),
    (_meta("params", {"hidden_layer_sizes": [3], "alpha": "x"}), "alpha"),
    (_meta("params", {"hidden_layer_sizes": [4]}), "network does not match"),
    (_meta("fitted", "yes"), "fitted must be an object"),
    (_meta("fitted", []), "fitted must be an object"),
    (_fitted("n_iter_", "5"), "n_iter_ must be an integer"),
    (_fitted("n_iter_", True), "n_iter_ must be an integer"),
    (_fitted("t_", -1), "t_ must be an integer >= 0"),
    (_fitted("loss_", [1.0]), "loss_ must be a number"),
    (_fitted("n_outputs_", 7), "n_outputs_ is 7"),
    (_fitted("loss_curve_", [1.0]), "loss_curve_ is stored twice"),
    (_meta("n_features_in", "4"), "n_features_in must be an integer"),
    (_meta("n_features_in", 5), "n_features_in is 5"),
    (_meta("label_type", "continuous"), "label_type must be one of"),
    (_meta("label_type", ["binary"]), "label_type must be one of"),
    (_meta("feature_names_in", "abcd"), "feature_names_in must be"),
    (_meta("feature_names_in", ["a", "b", "c", 4]), "feature_names_in must be"),
    (_array("feature_names_in", np.array(["a", "b", "c"])), "feature_names_in must be"),
    (_array("feature_names_in", np.arange(4)), "feature_names_in must be"),
    (_array("classes", np.array([[0, 1, 2]])), "classes must be a 1-D array"),
    (_array("classes", np.array([0, 1, 2, 3])), "4 classes for 3 outputs"),
    (_array("classes", np.array([2, 1, 0])), "do not fit label type"),
    (_array("classes", np.array([0, 0, 1])), "do not fit label type"),
    (_array("classes", np.array([0.5, 1.5, 2.5])), "do not fit label type|Unknown label type"),
    (_array("loss_curve", np.array([[1.0]])), "loss_curve must be a 1-D array"),
    (_array("loss_curve", np.array(["1.0"])), "loss_curve must be a 1-D array of numbers"),
    (_v1_classes("abc", "multiclass"), "classes must be a list"),
    (_v1_classes([0, 1, 2, 3], "multiclass"), "4 classes for 3 outputs"),
    (_v1_classes([[0], [1], [2]], "multiclass"), "classes must be a list"),
    (_v1_classes([True, 2, 3], "multiclass"), "classes must be a list of numbers, of booleans or of strings"),
    (_v1_classes(None, "multiclass"), "classes must be a list"),
    (lambda meta, arrays: arrays.update(classes=None), "no classes"),
    # A claim of 6,000 (or 60,000) multilabel classes in a small file: refused from the counts, nothing built.
    (_v1_classes(list(range(6000)), "multilabel-indicator"), "6000 classes for 3 outputs"),
    (_v1_classes(list(range(60000)), "multilabel-indicator"), "60000 classes for 3 outputs"),
    (_array("classes", np.arange(60000)), "60000 classes for 3 outputs"),
]


@pytest.mark.parametrize("edit, match", ESTIMATOR_CASES)
def test_forged_estimator_metadata_is_refused_quickly(tmp_path, edit, match):
    path = _estimator_file(tmp_path, edit)
    size = os.path.getsize(path)
    tracemalloc.start()
    start = time.perf_counter()
    try:
        with pytest.raises(ModelFileError, match=match):
            MLPClassifier.load(path)
        elapsed = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert elapsed < 2.0 and peak < 64 * size + (4 << 20)


def test_the_forged_estimator_file_is_otherwise_valid(tmp_path):
    est = MLPClassifier.load(_estimator_file(tmp_path, lambda meta, arrays: None))
    assert est.classes_.tolist() == [0, 1, 2] and est.n_iter_ == 1 and est.loss_curve_ == [1.0]


@pytest.mark.parametrize("n_labels", [2, 50])
def test_a_multilabel_network_with_many_outputs_restores_without_quadratic_memory(tmp_path, n_labels):
    """The label binarizer of n labels is rebuilt from a 1 x n matrix, not an n x n one."""

    def edit(meta, arrays):
        meta["label_type"] = "multilabel-indicator"
        meta["fitted"]["n_outputs_"] = n_labels
        arrays["classes"] = np.arange(n_labels)

    est = MLPClassifier.load(_estimator_file(tmp_path, edit, sizes=(4, 3, n_labels), output="sigmoid"))
    assert est.classes_.tolist() == list(range(n_labels))
    assert est.predict(np.zeros((2, 4))).shape == (2, n_labels)


def test_a_multilabel_claim_with_a_wide_network_is_bounded(tmp_path):
    """20,000 outputs in a 1.3 MB file: the binarizer must not allocate 20,000 x 20,000 values (3.2 GB)."""
    n = 20_000

    def edit(meta, arrays):
        meta["label_type"] = "multilabel-indicator"
        meta["fitted"]["n_outputs_"] = n
        meta["params"]["hidden_layer_sizes"] = [4]
        arrays["classes"] = np.arange(n)

    path = _estimator_file(tmp_path, edit, sizes=(4, 4, n), output="sigmoid")
    tracemalloc.start()
    try:
        est = MLPClassifier.load(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert est.classes_.shape == (n,) and peak < 8 * os.path.getsize(path) + (4 << 20)
