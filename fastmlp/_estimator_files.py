"""Model files for the scikit-learn estimators: ``save`` and ``load``, over :mod:`fastmlp.io`'s format.

The network goes into the model file as for any :class:`~fastmlp.Model`; the estimator's parameters, classes,
feature names and fitted figures go into its JSON metadata. No pickle.
"""

import numpy as np
from sklearn.base import is_classifier
from sklearn.utils.validation import check_is_fitted

from .io import ModelFileError, load_with_metadata

__all__ = ["EstimatorFileMixin"]


class EstimatorFileMixin:
    """``save`` and ``load`` for :class:`~fastmlp.MLPRegressor` and :class:`~fastmlp.MLPClassifier`."""

    _FITTED_SCALARS = ("n_iter_", "t_", "loss_", "best_loss_", "best_validation_score_", "n_outputs_")
    _FITTED_LISTS = ("loss_curve_", "validation_scores_")

    def save(self, path):
        """Write the fitted estimator to one ``.npz`` model file (see :mod:`fastmlp.io`), atomically.

        The file holds the network and, as JSON metadata, the constructor parameters, ``classes_``, the feature
        names and the fitted figures, so :meth:`load` rebuilds an estimator that predicts the same bits. No pickle.

        Parameters
        ----------
        path : str or os.PathLike
        """
        check_is_fitted(self, "model_")
        params = {}
        for name, value in self.get_params(deep=False).items():
            if isinstance(value, np.random.RandomState | np.random.Generator):
                value = None  # a generator's state is not kept; the fitted weights are
            elif name == "hidden_layer_sizes":
                value = self._hidden_sizes()  # an int or any sequence, stored as a list
            params[name] = _to_json(value)
        metadata = {
            "estimator": type(self).__name__,
            "params": params,
            "n_features_in": int(self.n_features_in_),
            "fitted": {name: _to_json(getattr(self, name, None)) for name in self._FITTED_SCALARS + self._FITTED_LISTS},
        }
        if hasattr(self, "feature_names_in_"):
            metadata["feature_names_in"] = [str(name) for name in self.feature_names_in_]
        if hasattr(self, "classes_"):
            metadata["classes"] = _to_json(self.classes_.tolist())
            metadata["label_type"] = self._label_binarizer.y_type_
        self.model_.save(path, metadata=metadata)

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
            For any problem with the file, including a file of another kind of estimator or a bare model.
        """
        model, header = load_with_metadata(path)
        meta = header["metadata"]
        try:
            if meta.get("estimator") != cls.__name__:
                raise ValueError(f"it holds {meta.get('estimator') or 'a bare fastmlp.Model'}, not a {cls.__name__}")
            params = {k: tuple(v) if k == "hidden_layer_sizes" else v for k, v in meta["params"].items()}
            estimator = cls(**params)
            estimator._validate_params()
            if list(model.sizes[1:-1]) != estimator._hidden_sizes() or meta["n_features_in"] != model.sizes[0]:
                raise ValueError("its network does not match its estimator parameters")
            estimator.model_ = model
            estimator.n_features_in_ = int(meta["n_features_in"])
            if "feature_names_in" in meta:
                estimator.feature_names_in_ = np.asarray(meta["feature_names_in"], dtype=object)
            for name, value in meta["fitted"].items():
                if name in cls._FITTED_SCALARS + cls._FITTED_LISTS and value is not None:
                    setattr(estimator, name, value)
            # What a further warm_start fit or partial_fit continues from (the optimizer state is not stored).
            if estimator.solver != "lbfgs" and not estimator.early_stopping and getattr(estimator, "best_loss_", None) is None:
                estimator.best_loss_ = np.inf
            if is_classifier(estimator):
                estimator._restore_labels(meta["classes"], meta["label_type"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelFileError(path, f"not a valid {cls.__name__} file: {exc}") from exc
        return estimator


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


