"""Training targets: choosing the output activation (``train --output auto``) and encoding class labels.

Notes
-----
Class labels are mapped to 0..k-1 for training; the labels themselves go into the model file's metadata as
``classes``, so that ``predict --labels`` can map back. They are stored exactly, as int64 values: integer targets
are kept as integers (never through float64, which holds integers exactly only below 2**53), and labels that could
not be exact are refused.
"""

import numpy as np

from .._validation import as_array, assert_all_finite
from .common import log

__all__ = ["MAX_AUTO_CLASSES", "prepare_targets"]

INT64_MIN, INT64_MAX = int(np.iinfo(np.int64).min), int(np.iinfo(np.int64).max)

MAX_AUTO_CLASSES = 50
"""``--output auto`` treats one integer target column with at most this many distinct values as class labels."""


def prepare_targets(Y, requested):
    """Choose the output activation (for ``--output auto``) and encode the targets for it.

    Parameters
    ----------
    Y : array-like
        The targets, one row per sample: floating point, integers, or (from a ``.csv`` file) an object array of
        Python ints beyond int64.
    requested : {"auto", "identity", "sigmoid", "softmax"}
        The ``--output`` option.

    Returns
    -------
    output : str
        The output activation.
    y : ndarray
        The targets for :meth:`fastmlp.Model.fit`: class indices 0..k-1 for softmax, 0/1 for one sigmoid output,
        else float64.
    n_outputs : int
        The width of the output layer.
    classes : list of int or None
        The class labels that ``y`` numbers, for the model file's metadata, or None.

    Raises
    ------
    ValueError
        For class labels that cannot be stored exactly: integers beyond int64, or labels read as floating point
        of magnitude 2**53 or more (where float64 no longer tells neighbouring integers apart).
    """
    Y = _as_targets(Y)
    if Y.ndim == 2 and Y.shape[1] == 1:
        Y = Y[:, 0]
    if Y.ndim not in (1, 2):
        raise ValueError(f"the targets must be 1-D or 2-D; got shape {Y.shape}")
    single = Y.ndim == 1
    integral = Y.dtype.kind != "f" or bool(np.all(Y == np.round(Y)))
    classes = np.unique(Y) if single and integral else None
    if requested == "auto":
        if classes is not None and 2 <= len(classes) <= MAX_AUTO_CLASSES:
            requested = "sigmoid" if len(classes) == 2 else "softmax"
            log.info(
                "output %s chosen for %d integer classes %s; pass --output identity for regression",
                requested, len(classes), _short_list(classes),
            )  # fmt: skip
        elif not single and np.isin(Y, (0, 1)).all():
            requested = "sigmoid"
            log.info("output sigmoid chosen for %d columns of 0/1 targets", Y.shape[1])
        else:
            requested = "identity"
            log.info("output identity (regression) chosen; pass --output to train a classifier")
    n_out = 1 if single else Y.shape[1]
    if requested == "softmax":
        if classes is None or len(classes) < 2:
            raise ValueError("--output softmax needs one target column of integer class labels, at least 2 classes")
        labels = _exact_labels(classes)
        return "softmax", np.searchsorted(classes, Y), len(classes), labels
    if requested == "sigmoid" and classes is not None and len(classes) == 2:
        labels = _exact_labels(classes)
        return "sigmoid", (Y == classes[1]).astype(np.float64), 1, labels
    return requested, _as_float(Y), n_out, None


def _as_targets(Y):
    """The targets as an ndarray: floating point as float64 and checked finite; integers exactly as they are."""
    if isinstance(Y, np.ndarray) and Y.dtype == object:  # Python ints beyond int64, from CsvTable.read
        if not all(type(value) is int for value in Y.flat):
            raise TypeError("the targets must hold numbers")
        return Y
    Y = as_array(Y, "the targets")
    if Y.dtype.kind == "f":
        Y = Y.astype(np.float64)
        assert_all_finite(Y, "the targets")
    return Y


def _as_float(Y):
    try:
        return Y.astype(np.float64)
    except OverflowError:  # Python ints beyond float64's range
        raise ValueError(f"the targets hold {max(Y.flat, key=abs)}, beyond the range of float64") from None


def _exact_labels(classes):
    """The class labels as plain ints for the model file, or raise ValueError for any that would not be exact."""
    hint = "pass --output identity to regress on them instead"
    labels = []
    for value in classes.tolist():
        if isinstance(value, float) and abs(value) >= 2**53:
            raise ValueError(
                f"the class label {value!r} was read as floating point, which holds integers exactly only below "
                f"2**53; write integer labels as integers (integer text in .csv, an integer array in .npy/.npz), "
                f"or {hint}"
            )
        value = int(value)
        if not INT64_MIN <= value <= INT64_MAX:
            raise ValueError(
                f"the class label {value} is beyond the int64 range that class labels are stored in "
                f"[-2**63, 2**63 - 1]; {hint}"
            )
        labels.append(value)
    return labels


def _short_list(values, limit=8):
    shown = ", ".join(str(int(v)) for v in values[:limit])
    return f"[{shown}{', ...' if len(values) > limit else ''}]"
