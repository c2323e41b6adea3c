"""Training targets: choosing the output activation (``train --output auto``) and encoding class labels.

Notes
-----
Class labels are mapped to 0..k-1 for training; the labels themselves go into the model file's metadata as
``classes``, so that ``predict --labels`` can map back.
"""

import numpy as np

from .._validation import as_array, assert_all_finite
from .common import log

__all__ = ["MAX_AUTO_CLASSES", "prepare_targets"]

MAX_AUTO_CLASSES = 50
"""``--output auto`` treats one integer target column with at most this many distinct values as class labels."""


def prepare_targets(Y, requested):
    """Choose the output activation (for ``--output auto``) and encode the targets for it.

    Parameters
    ----------
    Y : array-like
        The targets, one row per sample.
    requested : {"auto", "identity", "sigmoid", "softmax"}
        The ``--output`` option.

    Returns
    -------
    output : str
        The output activation.
    y : ndarray
        The targets for :meth:`fastmlp.Model.fit`: class indices 0..k-1 for softmax, 0/1 for one sigmoid output.
    n_outputs : int
        The width of the output layer.
    classes : list or None
        The class labels that ``y`` numbers (plain ints or floats, for the model file's metadata), or None.
    """
    Y = as_array(Y, "the targets").astype(np.float64)
    assert_all_finite(Y, "the targets")
    if Y.ndim == 2 and Y.shape[1] == 1:
        Y = Y[:, 0]
    if Y.ndim not in (1, 2):
        raise ValueError(f"the targets must be 1-D or 2-D; got shape {Y.shape}")
    single = Y.ndim == 1
    integral = bool(np.all(Y == np.round(Y)))
    classes = np.unique(Y) if single and integral else None
    if requested == "auto":
        if classes is not None and 2 <= len(classes) <= MAX_AUTO_CLASSES:
            requested = "sigmoid" if len(classes) == 2 else "softmax"
            log.info(
                "output %s chosen for %d integer classes %s; pass --output identity for regression",
                requested, len(classes), _short_list(classes),
            )  # fmt: skip
        elif not single and np.isin(Y, (0.0, 1.0)).all():
            requested = "sigmoid"
            log.info("output sigmoid chosen for %d columns of 0/1 targets", Y.shape[1])
        else:
            requested = "identity"
            log.info("output identity (regression) chosen; pass --output to train a classifier")
    n_out = 1 if single else Y.shape[1]
    if requested == "softmax":
        if classes is None or len(classes) < 2:
            raise ValueError("--output softmax needs one target column of integer class labels, at least 2 classes")
        return "softmax", np.searchsorted(classes, Y), len(classes), [_plain(c) for c in classes]
    if requested == "sigmoid" and classes is not None and len(classes) == 2:
        return "sigmoid", (Y == classes[1]).astype(np.float64), 1, [_plain(c) for c in classes]
    return requested, Y, n_out, None


def _plain(value):
    value = float(value)
    return int(value) if value.is_integer() and abs(value) < 2**53 else value


def _short_list(values, limit=8):
    shown = ", ".join(str(_plain(v)) for v in values[:limit])
    return f"[{shown}{', ...' if len(values) > limit else ''}]"
