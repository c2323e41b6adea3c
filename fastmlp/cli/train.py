"""``fastmlp train``: read a data file, train a :class:`~fastmlp.Model` on it and save it with its metadata.

Notes
-----
The model file's metadata records what ``predict`` needs to read new data the same way: the feature and target
column names of ``.csv`` data, the class labels, and the standardisation of ``--standardize``.
"""

import contextlib
import itertools
import math
import sys
import time

import numpy as np

from .._modelfile import MAX_PARAMS
from .._validation import check_hidden
from ..io import save_model
from ..model import Model
from ..optimizers import OPTIMIZERS
from .common import (
    EXIT_OK,
    EpochProgress,
    UsageError,
    check_input_file,
    check_output_path,
    log,
    say,
    show_progress,
)
from .data import data_suffix, load_training_data
from .targets import prepare_targets

__all__ = ["run_train"]


def run_train(args):
    """Run ``fastmlp train``; return the exit status."""
    data_suffix(args.data, "DATA")
    hidden = args.hidden if len(args.hidden) > 1 else args.hidden[0]
    try:
        check_hidden(hidden, len(args.layers))
    except ValueError:  # before reading any data: no data can mend the command line
        raise UsageError(
            f"--hidden gives {len(args.hidden)} activations for {len(args.layers)} hidden layers"
        ) from None
    check_output_path(args.out)  # now, not after the training
    check_input_file(args.data)
    if args.target_file:
        check_input_file(args.target_file)
    X, Y, feature_names, target_names = load_training_data(args)
    if X.ndim != 2 or X.shape[0] < 1 or X.shape[1] < 1:
        raise ValueError(f"the features from {args.data} must be a non-empty 2-D array; got shape {X.shape}")
    if np.shape(Y)[:1] != X.shape[:1]:
        raise ValueError(f"the targets have {np.shape(Y)[:1] or 'no'} rows but the features {X.shape[0]}")
    log.info("read %d rows x %d features from %s", X.shape[0], X.shape[1], args.data)
    output, y, n_out, classes = prepare_targets(Y, args.output)

    metadata = {"trained_with": "fastmlp train", "n_features_in": int(X.shape[1])}
    # Per-feature and per-class data go into array members: as JSON, 80,000 column names outgrow the header.
    arrays = {}
    if feature_names is not None:
        arrays["feature_names"] = np.asarray(feature_names, dtype=str)
    if target_names is not None:
        metadata["target_names"] = target_names
    if classes is not None:
        arrays["classes"] = np.asarray(classes, dtype=np.int64)
    scaling = None
    if args.standardize:
        X = np.asarray(X, dtype=np.float64)
        with np.errstate(over="ignore", invalid="ignore"):  # reported below, in one line
            mean = X.mean(axis=0)
            scale = X.std(axis=0)
        overflow = np.flatnonzero(~(np.isfinite(mean) & np.isfinite(scale)))
        if overflow.size:
            k = int(overflow[0])
            column = repr(feature_names[k]) if feature_names is not None else k
            raise ValueError(
                f"--standardize: column {column} of {args.data} holds values too large to standardise (their mean "
                "or standard deviation overflows float64)"
            )
        scale[~(scale > 0)] = 1.0
        scaling = (mean, scale)

    sizes = [X.shape[1], *args.layers, n_out]
    n_params = sum(a * b + b for a, b in itertools.pairwise(sizes))  # Python ints: no overflow
    if n_params > MAX_PARAMS:  # refused before the Model allocates them
        raise UsageError(
            f"--layers {','.join(map(str, args.layers)) or 'none'} with {X.shape[1]} features and {n_out} "
            f"output{'s' if n_out > 1 else ''} give {n_params:,} parameters; a model file holds at most {MAX_PARAMS:,}"
        )
    model = Model(sizes, hidden=hidden, output=output, dtype=args.dtype, seed=args.seed)
    if scaling is not None:
        model.set_input_scaling(*scaling)  # part of the model: fastmlp.load(path).predict applies it too
    optimizer_class = OPTIMIZERS[args.optimizer]
    optimizer = optimizer_class() if args.lr is None else optimizer_class(lr=args.lr)
    log.info("training %s: %d parameters, %s, %d epochs", _arch(model), model.n_params, optimizer, args.epochs)
    progress = EpochProgress(args.epochs, sys.stderr) if show_progress(args, sys.stderr) else None
    start = time.perf_counter()
    with progress or contextlib.nullcontext():
        history = model.fit(
            X, y, epochs=args.epochs, batch_size=args.batch_size, optimizer=optimizer,
            validation_fraction=args.validation_fraction, seed=args.seed,
            callbacks=None if progress is None else [progress],
        )  # fmt: skip
    seconds = time.perf_counter() - start
    save_model(model, args.out, metadata=metadata, arrays=arrays)
    # The History does not say how many rows fit held out; this is the count its validation split takes.
    n_val = 0 if args.validation_fraction is None else math.ceil(args.validation_fraction * X.shape[0])
    rows = f"{X.shape[0] - n_val} rows" + (f" ({n_val} held out)" if n_val else "")
    figures = [f"loss {history.loss[-1]:.4g}", f"{history.metric_name} {history.metric[-1]:.4g}"]
    if history.val_loss:
        figures += [f"val_loss {history.val_loss[-1]:.4g}", f"val_{history.metric_name} {history.val_metric[-1]:.4g}"]
    say(
        args,
        f"trained {_arch(model)} ({output}, {model.n_params} parameters) for {history.epochs} epochs on "
        f"{rows} in {seconds:.2f} s: {', '.join(figures)}; saved {args.out}",
    )
    return EXIT_OK


def _arch(model):
    return "-".join(str(s) for s in model.sizes)
