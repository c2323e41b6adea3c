"""Model files for the scikit-learn estimators: ``save`` and ``load``, over :mod:`fastmlp.io`'s format.

The network goes into the model file as for any :class:`~fastmlp.Model`. The estimator's constructor parameters
and fitted figures go into the JSON metadata::

    {"estimator": "MLPClassifier" or "MLPRegressor",
     "params": {<constructor parameter>: <value>, ...},   # hidden_layer_sizes as a list
     "n_features_in": int,
     "fitted": {"n_iter_": int, "t_": int, "n_outputs_": int,
                "loss_": number or null, "best_loss_": ..., "best_validation_score_": ...},
     "label_type": "binary", "multiclass" or "multilabel-indicator"}   # classifiers only

and whatever grows with the data goes into array members (format version 2): ``classes`` (classifiers),
``feature_names_in`` (``<U``, when fitted on named columns), ``loss_curve`` and ``validation_scores`` (float64,
when the estimator has them). Files of format version 1 kept ``classes``, ``feature_names_in``, ``loss_curve_``
and ``validation_scores_`` as JSON lists in the metadata instead; they still load. No pickle.

Loading checks the metadata's structure, types and counts against the network's shape before building anything,
so a forged file raises :class:`~fastmlp.ModelFileError` quickly, using memory bounded by the file's size.
"""

import numbers

import numpy as np
from sklearn.base import is_classifier
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils.validation import check_is_fitted

from . import _validation as v
from .io import ModelFileError, load_with_metadata, save_model

__all__ = ["EstimatorFileMixin"]

_LABEL_TYPES = ("binary", "multiclass", "multilabel-indicator")
_COUNTS = ("n_iter_", "t_", "n_outputs_")
# Fitted lists and the array members holding them.
_CURVES = {"loss_curve_": "loss_curve", "validation_scores_": "validation_scores"}


class EstimatorFileMixin:
    """``save`` and ``load`` for :class:`~fastmlp.MLPRegressor` and :class:`~fastmlp.MLPClassifier`."""

    _FITTED_SCALARS = ("n_iter_", "t_", "loss_", "best_loss_", "best_validation_score_", "n_outputs_")
    _FITTED_LISTS = tuple(_CURVES)

    def save(self, path):
        """Write the fitted estimator to one ``.npz`` model file (see :mod:`fastmlp.io`), atomically.

        The file holds the network; the constructor parameters and fitted figures as JSON metadata; ``classes_``,
        the feature names and the loss and validation curves as array members. :meth:`load` rebuilds an
        estimator that predicts the same bits. No pickle.

        Parameters
        ----------
        path : str or os.PathLike

        Raises
        ------
        TypeError
            If ``classes_`` holds values other than numbers or strings (they could not be stored without pickle).
        """
        check_is_fitted(self, "model_")
        params = {}
        for name, value in self.get_params(deep=False).items():
            if isinstance(value, np.random.RandomState | np.random.Generator):
                value = None  # a generator's state is not kept; the fitted weights are
            elif name == "hidden_layer_sizes":
                value = self._hidden_sizes()  # an int or any sequence, stored as a list
            elif name == "n_iter_no_change" and value == np.inf:
                value = "inf"  # scikit-learn's way to switch the stop off; JSON has no infinity
            params[name] = _to_json(value)
        metadata = {
            "estimator": type(self).__name__,
            "params": params,
            "n_features_in": int(self.n_features_in_),
            "fitted": {name: _to_json(getattr(self, name, None)) for name in self._FITTED_SCALARS},
        }
        arrays = {}
        for name, member in _CURVES.items():
            if getattr(self, name, None) is not None:
                arrays[member] = np.asarray(getattr(self, name), dtype=np.float64)
        if hasattr(self, "feature_names_in_"):
            arrays["feature_names_in"] = np.asarray([str(name) for name in self.feature_names_in_], dtype=str)
        if hasattr(self, "classes_"):
            arrays["classes"] = _storable_labels(self.classes_)
            metadata["label_type"] = self._label_binarizer.y_type_
        save_model(self.model_, path, metadata=metadata, arrays=arrays)

    @classmethod
    def load(cls, path):
        """Read an estimator written by :meth:`save`.

        Parameters
        ----------
        path : str or os.PathLike

        Returns
        -------
        estimator
            Fitted, with the saved parameters, classes, feature names and fitted figures.

        Raises
        ------
        fastmlp.ModelFileError
            For any problem with the file, including a file of another kind of estimator or a bare model, and
            metadata of the wrong structure, types or counts for its network.
        """
        model, header = load_with_metadata(path)
        meta, arrays = header["metadata"], header.arrays
        try:
            if meta.get("estimator") != cls.__name__:
                raise ValueError(f"it holds {meta.get('estimator') or 'a bare fastmlp.Model'}, not a {cls.__name__}")
            estimator = cls(**_constructor_params(cls, meta.get("params")))
            estimator._validate_params()
            n_features = meta.get("n_features_in")
            if not _is_count(n_features):
                raise ValueError(f"n_features_in must be an integer >= 0; got {n_features!r}")
            if n_features != model.sizes[0]:
                raise ValueError(f"n_features_in is {n_features}, but the network has {model.sizes[0]} inputs")
            if list(model.sizes[1:-1]) != estimator._hidden_sizes():
                raise ValueError("its network does not match its estimator parameters")
            fitted = meta.get("fitted")
            if not isinstance(fitted, dict):
                raise ValueError(f"fitted must be an object; got {type(fitted).__name__}")
            values = _fitted_values(fitted, meta, arrays, model)
            names = _feature_names(meta, arrays, n_features)
            binarizer = _label_binarizer(meta, arrays, model) if is_classifier(estimator) else None
            estimator._adopt_model(model)
            estimator.n_features_in_ = n_features
            if names is not None:
                estimator.feature_names_in_ = names
            for name, value in values.items():
                setattr(estimator, name, value)
            # What a further warm_start fit or partial_fit continues from (the optimizer state is not stored).
            if (
                estimator.solver != "lbfgs"
                and not estimator.early_stopping
                and getattr(estimator, "best_loss_", None) is None
            ):
                estimator.best_loss_ = np.inf
            if binarizer is not None:
                estimator._label_binarizer = binarizer
                estimator.classes_ = binarizer.classes_
        except (KeyError, TypeError, ValueError) as exc:  # scikit-learn's InvalidParameterError is a ValueError
            raise ModelFileError(path, f"not a valid {cls.__name__} file: {exc}") from exc
        return estimator


def _constructor_params(cls, params):
    if not isinstance(params, dict):
        raise ValueError(f"params must be an object; got {type(params).__name__}")
    allowed = cls._get_param_names()
    unknown = sorted(name for name in params if name not in allowed)
    if unknown:
        raise ValueError(f"unknown parameter(s) {', '.join(map(repr, unknown))} for {cls.__name__}")
    params = dict(params)
    if "hidden_layer_sizes" in params:
        sizes = params["hidden_layer_sizes"]
        if not isinstance(sizes, list) or not all(_is_count(s) for s in sizes):
            raise ValueError(f"hidden_layer_sizes must be a list of integers; got {sizes!r}")
        params["hidden_layer_sizes"] = tuple(sizes)
    if params.get("n_iter_no_change") == "inf":
        params["n_iter_no_change"] = np.inf
    return params


def _fitted_values(fitted, meta, arrays, model):
    """The fitted figures to set, type-checked; the curves from their arrays or, in version 1 files, from JSON."""
    values = {}
    for name in EstimatorFileMixin._FITTED_SCALARS:
        value = fitted.get(name)
        if value is None:
            continue
        if name in _COUNTS:
            if not _is_count(value):
                raise ValueError(f"fitted {name} must be an integer >= 0; got {value!r}")
        elif not _is_number(value):
            raise ValueError(f"fitted {name} must be a number or null; got {value!r}")
        values[name] = value
    if values.get("n_outputs_", model.sizes[-1]) != model.sizes[-1]:
        raise ValueError(f"fitted n_outputs_ is {values['n_outputs_']}, but the network has {model.sizes[-1]} outputs")
    for name, member in _CURVES.items():
        if member in arrays:
            if fitted.get(name) is not None:
                raise ValueError(f"{name} is stored twice, as the array {member!r} and in fitted")
            curve = arrays[member]
            if curve.ndim != 1 or curve.dtype.kind not in "iuf":
                raise ValueError(
                    f"{member} must be a 1-D array of numbers; got {curve.dtype.str} of shape {curve.shape}"
                )
            values[name] = curve.astype(np.float64).tolist()
        elif fitted.get(name) is not None:
            curve = fitted[name]
            if not isinstance(curve, list) or not all(_is_number(x) for x in curve):
                raise ValueError(f"fitted {name} must be a list of numbers")
            values[name] = [float(x) for x in curve]
    return values


def _feature_names(meta, arrays, n_features):
    """``feature_names_in_`` (object array of str), from the array member or a version 1 JSON list; None if none."""
    if "feature_names_in" in arrays:
        if "feature_names_in" in meta:
            raise ValueError("feature_names_in is stored twice, as an array and in the metadata")
        names = arrays["feature_names_in"]
        if names.dtype.kind != "U" or names.shape != (n_features,):
            raise ValueError(f"feature_names_in must be a 1-D array of {n_features} strings")
        return np.asarray(names.tolist(), dtype=object)
    if "feature_names_in" in meta:
        names = meta["feature_names_in"]
        if not isinstance(names, list) or len(names) != n_features or not all(isinstance(n, str) for n in names):
            raise ValueError(f"feature_names_in must be a list of {n_features} strings")
        return np.asarray(names, dtype=object)
    return None


def _label_binarizer(meta, arrays, model):
    """A fitted ``LabelBinarizer`` for the stored classes, after checking them against the network's outputs.

    The counts are checked first, so nothing larger than the stored classes is built; a multilabel binarizer of n
    labels is fitted on a 1 x n indicator matrix (what it learns from any indicator matrix is its width).
    """
    label_type = meta.get("label_type")
    if not isinstance(label_type, str) or label_type not in _LABEL_TYPES:
        raise ValueError(f"label_type must be one of {list(_LABEL_TYPES)}; got {label_type!r}")
    if "classes" in arrays:
        if "classes" in meta:
            raise ValueError("classes is stored twice, as an array and in the metadata")
        classes = arrays["classes"]
        if classes.ndim != 1:
            raise ValueError(f"classes must be a 1-D array; got shape {classes.shape}")
    elif "classes" in meta:
        classes = meta["classes"]
        kinds = {_label_kind(c) for c in classes} if isinstance(classes, list) else {None}
        if len(kinds) != 1 or None in kinds:
            raise ValueError("classes must be a list of numbers, of booleans or of strings")
        classes = np.asarray(classes)
    else:
        raise ValueError("it has no classes")
    n_classes, n_outputs = len(classes), model.sizes[-1]
    expected_outputs = 1 if label_type == "binary" else n_classes
    counts_fit = {"binary": n_classes in (1, 2), "multiclass": n_classes >= 3, "multilabel-indicator": n_classes >= 2}
    if n_outputs != expected_outputs or not counts_fit[label_type]:
        raise ValueError(f"{n_classes} classes for {n_outputs} outputs do not fit label type {label_type!r}")
    binarizer = LabelBinarizer()
    if label_type == "multilabel-indicator":
        binarizer.fit(np.zeros((1, n_classes), dtype=np.int8))
    else:
        binarizer.fit(classes)
    if (
        binarizer.y_type_ != label_type or binarizer.classes_.shape != classes.shape
        or not np.array_equal(binarizer.classes_, classes)
    ):  # fmt: skip
        raise ValueError(f"the classes do not fit label type {label_type!r} (they must be sorted and distinct)")
    return binarizer


def _storable_labels(classes):
    """``classes_`` as an array a model file can hold: numbers as they are, strings as ``<U``."""
    return v.label_array(classes, "can be saved")


def _label_kind(value):
    """The kind of a class label read from JSON: each list holds one kind (None: not a label)."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, str):
        return "str"
    return "number" if _is_number(value) else None


def _is_count(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, bool) and value >= 0


def _is_number(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _to_json(value):
    """NumPy scalars and arrays as plain Python values, for the JSON metadata of a model file."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, list):
        return [_to_json(v) for v in value]
    if isinstance(value, float) and not np.isfinite(value):
        return None  # JSON has no inf; best_loss_ starts at inf
    return value
