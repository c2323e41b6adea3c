"""The ``fastmlp`` command line (also ``python -m fastmlp``): ``train``, ``predict``, ``info`` and ``demo``.

::

    fastmlp train data.csv --target species --layers 64,64 --epochs 50 --out model.npz
    fastmlp info model.npz [--json]
    fastmlp predict model.npz new.csv --out predictions.csv [--chunk-size 65536] [--labels]
    fastmlp demo

Data files
    ``.csv``: a header row of column names, then one row of numbers per sample. ``train --target a,b`` names the
    target column(s); every other column is a feature. ``predict`` reads the model's feature columns by name (other
    columns, such as the target, are ignored), or all columns for a model trained from arrays.
    ``.npy``: the feature matrix; ``train`` takes the targets from ``--target-file y.npy`` or from the columns
    numbered in ``--target`` (``--target -1``: the last column). ``predict`` memory-maps it.
    ``.npz``: arrays ``X`` and ``y`` (``--x-key``, ``--y-key``), or ``--target`` column numbers of ``X``.

Output activation (``train --output``, default ``auto``)
    ``auto`` picks ``sigmoid`` for one target column of integers with exactly 2 distinct values, or for several
    columns of 0/1 values; ``softmax`` for one target column of integers with 3 to 50 distinct values; ``identity``
    (regression) otherwise. Class labels are mapped to 0..k-1 and stored in the model file as ``classes``. Pass
    ``--output identity`` to regress on integer targets.

Unattended use
    Exit status 0 on success, 2 on usage errors (bad options, unknown file types), 1 on bad data or files (a
    :class:`~fastmlp.io.ModelFileError`, ``ValueError``, ``TypeError`` or ``OSError``, including a diverged
    training), 130 after Ctrl-C and 128 + N after signal N (143 for SIGTERM). Each error is one line on stderr,
    ``fastmlp: error: ...``. Output files (the model, the predictions) are written to a temporary file and renamed
    into place when complete, so a failure or a SIGTERM never leaves a partial file. Messages go through the
    :mod:`logging` logger ``"fastmlp"`` to stderr; ``--quiet`` keeps only errors; progress is shown on a terminal
    or with ``--progress``. The result line of ``train`` and ``predict`` goes to stdout.
"""

import argparse
import contextlib
import csv
import json
import logging
import math
import os
import signal
import sys
import zipfile
import zlib
import threading
import time

import numpy as np

log = logging.getLogger("fastmlp")

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
MAX_AUTO_CLASSES = 50
"""``--output auto`` treats one integer target column with at most this many distinct values as class labels."""
DEFAULT_CHUNK_ROWS = 65536
DATA_SUFFIXES = (".csv", ".npy", ".npz")


class UsageError(Exception):
    """A command line that cannot work whatever the data holds (exit status 2)."""


class Terminated(BaseException):
    """Raised by the signal handler, so that ``finally`` blocks remove temporary files."""

    def __init__(self, signum):
        super().__init__(signum)
        self.signum = signum


# ---------------------------------------------------------------------------------------------------------------
# Argument types (argparse turns their ArgumentTypeError into a usage error, exit status 2)


def _int_at_least(minimum):
    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer >= {minimum}, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"expected an integer >= {minimum}, got {value}")
        return value

    parse.__name__ = "integer"
    return parse


def _positive_float(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"expected a finite number > 0, got {text!r}")
    return value


def _fraction(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number in (0, 1), got {text!r}") from None
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"expected a number in (0, 1), got {text!r}")
    return value


def _layers(text):
    """``"64,32"`` -> [64, 32]; ``""`` or ``"none"`` -> [] (no hidden layer)."""
    if text.strip().lower() in ("", "none"):
        return []
    widths = []
    for part in text.split(","):
        try:
            width = int(part)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected comma-separated widths such as 64,64, got {text!r}") from None
        if width < 1:
            raise argparse.ArgumentTypeError(f"layer widths must be >= 1, got {width}")
        widths.append(width)
    return widths


def _activations(text):
    from ._validation import ALIASES, HIDDEN_ACTIVATIONS

    names = [part.strip().lower() for part in text.split(",")]
    for name in names:
        if ALIASES.get(name, name) not in HIDDEN_ACTIVATIONS:
            choices = ", ".join(HIDDEN_ACTIVATIONS)
            raise argparse.ArgumentTypeError(f"unknown activation {name!r}; choose from {choices}")
    return [ALIASES.get(name, name) for name in names]


def _prediction_path(text):
    if os.path.splitext(text)[1].lower() not in (".npy", ".csv"):
        raise argparse.ArgumentTypeError(f"the output must be a .npy or .csv file, got {text!r}")
    return text


def _data_suffix(path, what):
    suffix = os.path.splitext(path)[1].lower()
    if suffix not in DATA_SUFFIXES:
        raise UsageError(f"{what} {path!r} must be a .csv, .npy or .npz file")
    return suffix


# ---------------------------------------------------------------------------------------------------------------
# Reading data


def _check_numeric(array, what):
    from ._validation import as_array

    return as_array(array, what)


def _read_npz_array(path, key):
    # Our own file handle: np.load leaves its own open when a damaged archive makes it fail.
    with open(path, "rb") as handle, np.load(handle, allow_pickle=False) as archive:
        if key not in archive.files:
            raise ValueError(f"{path} has no array named {key!r} (it holds {', '.join(archive.files) or 'nothing'})")
        return archive[key]


def _read_npy(path):
    with open(path, "rb") as handle:
        return np.load(handle, allow_pickle=False)


class CsvTable:
    """A CSV file with a header row, read in chunks of rows converted to float64.

    Parameters
    ----------
    path : str
        The file.
    """

    def __init__(self, path):
        self.path = path
        with self._open() as f:
            try:
                header = next(csv.reader(f))
            except StopIteration:
                raise ValueError(f"{path} is empty; a header row of column names is required") from None
        self.columns = [name.strip() for name in header]
        if not self.columns or any(not name for name in self.columns):
            raise ValueError(f"{path}: every column needs a name in the header row; got {header!r}")
        seen = set()
        for name in self.columns:
            if name in seen:
                raise ValueError(f"{path}: the column name {name!r} appears twice in the header row")
            seen.add(name)

    def _open(self):
        return open(self.path, newline="", encoding="utf-8-sig")

    def indices(self, names, what):
        """Column numbers of ``names``, or raise naming the missing ones."""
        missing = [name for name in names if name not in self.columns]
        if missing:
            raise ValueError(
                f"{what}: column(s) {', '.join(map(repr, missing))} not in {self.path} "
                f"(its columns: {', '.join(self.columns)})"
            )
        return [self.columns.index(name) for name in names]

    def _rows(self):
        """Yield (line number, fields) for every non-blank data row, checking the number of fields."""
        with self._open() as f:
            reader = csv.reader(f)
            next(reader, None)
            for fields in reader:
                if not fields or (len(fields) == 1 and not fields[0].strip()):
                    continue
                if len(fields) != len(self.columns):
                    raise ValueError(
                        f"{self.path}, line {reader.line_num}: {len(fields)} fields, but the header has "
                        f"{len(self.columns)}"
                    )
                yield reader.line_num, fields

    def count_rows(self):
        """The number of data rows (one pass over the file)."""
        return sum(1 for _ in self._rows())

    def chunks(self, columns, rows):
        """Yield ``(start, array)``: float64 arrays of ``columns`` for ``rows`` data rows at a time."""
        start = 0
        lines, block = [], []
        for line, fields in self._rows():
            lines.append(line)
            block.append([fields[i] for i in columns])
            if len(block) == rows:
                yield start, self._convert(block, lines, columns)
                start += len(block)
                lines, block = [], []
        if block:
            yield start, self._convert(block, lines, columns)

    def read(self, columns):
        """All rows of ``columns`` as one float64 array."""
        parts = [chunk for _, chunk in self.chunks(columns, DEFAULT_CHUNK_ROWS)]
        if not parts:
            raise ValueError(f"{self.path} has a header row but no data rows")
        return np.concatenate(parts)

    def _convert(self, block, lines, columns):
        try:
            return np.array(block, dtype=np.float64).reshape(len(block), len(columns))
        except ValueError:
            pass
        for line, values in zip(lines, block, strict=True):  # find the first bad cell for the message
            for column, value in zip(columns, values, strict=True):
                try:
                    np.array(value, dtype=np.float64)
                except ValueError:
                    what = "is empty" if not value.strip() else f"holds {value!r}, not a number"
                    raise ValueError(f"{self.path}, line {line}, column {self.columns[column]!r} {what}") from None
        raise ValueError(f"{self.path}: could not read the numbers of lines {lines[0]}-{lines[-1]}")


def _target_numbers(text):
    try:
        return [int(part) for part in text.split(",")]
    except ValueError:
        raise UsageError(
            f"--target for .npy and .npz data takes column numbers such as -1 or 0,3; got {text!r}"
        ) from None


def _split_columns(X, numbers, path):
    if X.ndim != 2:
        raise ValueError(f"{path}: the data must be 2-D (samples x columns); got shape {X.shape}")
    n = X.shape[1]
    if any(not -n <= k < n for k in numbers):
        raise ValueError(f"--target column numbers {numbers} out of range for the {n} columns of {path}")
    targets = sorted({k % n for k in numbers})
    if len(targets) != len(numbers):
        raise ValueError(f"--target names a column twice: {numbers}")
    features = [k for k in range(n) if k not in targets]
    if not features:
        raise ValueError(f"--target leaves no feature columns in {path}")
    return X[:, features], X[:, targets[0]] if len(targets) == 1 else X[:, targets]


def _load_training_data(args):
    """Return ``(X, Y, feature_names or None, target_names or None)`` from the command's data options."""
    suffix = _data_suffix(args.data, "DATA")
    if suffix == ".csv":
        if not args.target:
            raise UsageError("--target is required with .csv data: name the target column(s), e.g. --target price")
        if args.target_file:
            raise UsageError("--target-file applies to .npy data; with .csv data name the columns with --target")
        table = CsvTable(args.data)
        target_names = [name.strip() for name in args.target.split(",")]
        target_idx = table.indices(target_names, "--target")
        feature_idx = [i for i in range(len(table.columns)) if i not in target_idx]
        if not feature_idx:
            raise ValueError(f"--target leaves no feature columns in {args.data}")
        data = table.read(feature_idx + target_idx)
        X, Y = data[:, : len(feature_idx)], data[:, len(feature_idx) :]
        return X, Y[:, 0] if Y.shape[1] == 1 else Y, [table.columns[i] for i in feature_idx], target_names
    if suffix == ".npy":
        X = _check_numeric(_read_npy(args.data), f"the data in {args.data}")
        if args.target_file and args.target:
            raise UsageError("give either --target (column numbers) or --target-file, not both")
        if args.target_file:
            Y = _read_npy(args.target_file)
        elif args.target:
            X, Y = _split_columns(X, _target_numbers(args.target), args.data)
        else:
            raise UsageError("with .npy data give the targets: --target-file y.npy, or --target with column numbers")
    else:
        if args.target_file:
            raise UsageError("--target-file applies to .npy data; .npz data holds its targets (--y-key)")
        X = _check_numeric(_read_npz_array(args.data, args.x_key), f"array {args.x_key!r} of {args.data}")
        if args.target:
            X, Y = _split_columns(X, _target_numbers(args.target), args.data)
        else:
            Y = _read_npz_array(args.data, args.y_key)
    return X, Y, None, None


def _prepare_targets(Y, requested):
    """Choose the output activation and encode the targets: return (output, y, n_outputs, classes or None)."""
    from ._validation import as_array, assert_all_finite

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


# ---------------------------------------------------------------------------------------------------------------
# Commands


class _EpochLogger:
    """A fit callback that reports each epoch through the ``fastmlp`` logger (progress goes to stderr)."""

    def __init__(self, epochs):
        self.epochs = epochs

    def __call__(self, epoch, logs):
        figures = "  ".join(f"{name} {value:.4g}" for name, value in logs.items())
        log.info("epoch %d/%d  %s", epoch, self.epochs, figures)


def _show_progress(args, stream):
    """Progress on ``stream``: with --progress, or by default when ``stream`` is a terminal (never with --quiet)."""
    isatty = getattr(stream, "isatty", None)
    return bool(args.progress or (not args.quiet and isatty is not None and isatty()))


def _say(args, text):
    if not args.quiet:
        print(text, flush=True)


def _train(args):
    from . import Adam, AdamW, Model, SGD
    from .io import save_model

    _data_suffix(args.data, "DATA")
    if len(args.hidden) not in (1, len(args.layers)) or (len(args.hidden) > 1 and not args.layers):
        raise UsageError(f"--hidden gives {len(args.hidden)} activations for {len(args.layers)} hidden layers")
    out_dir = os.path.dirname(os.path.abspath(args.out))
    if not os.path.isdir(out_dir):
        raise ValueError(f"--out: the directory {out_dir!r} does not exist")
    X, Y, feature_names, target_names = _load_training_data(args)
    if X.ndim != 2 or X.shape[0] < 1 or X.shape[1] < 1:
        raise ValueError(f"the features from {args.data} must be a non-empty 2-D array; got shape {X.shape}")
    if np.shape(Y)[:1] != X.shape[:1]:
        raise ValueError(f"the targets have {np.shape(Y)[:1] or 'no'} rows but the features {X.shape[0]}")
    log.info("read %d rows x %d features from %s", X.shape[0], X.shape[1], args.data)
    output, y, n_out, classes = _prepare_targets(Y, args.output)

    metadata = {"trained_with": "fastmlp train", "n_features_in": int(X.shape[1])}
    if feature_names is not None:
        metadata["feature_names"] = feature_names
    if target_names is not None:
        metadata["target_names"] = target_names
    if classes is not None:
        metadata["classes"] = classes
    if args.standardize:
        X = np.asarray(X, dtype=np.float64)
        mean = X.mean(axis=0)
        scale = X.std(axis=0)
        scale[~(scale > 0)] = 1.0
        X = (X - mean) / scale
        metadata["input_mean"] = mean.tolist()
        metadata["input_scale"] = scale.tolist()

    hidden = args.hidden if len(args.hidden) > 1 else args.hidden[0]
    model = Model([X.shape[1], *args.layers, n_out], hidden=hidden, output=output, dtype=args.dtype, seed=args.seed)
    optimizers = {"sgd": SGD, "adam": Adam, "adamw": AdamW}
    optimizer = optimizers[args.optimizer]() if args.lr is None else optimizers[args.optimizer](lr=args.lr)
    log.info("training %s: %d parameters, %s, %d epochs", _arch(model), model.n_params, optimizer, args.epochs)
    callbacks = [_EpochLogger(args.epochs)] if _show_progress(args, sys.stderr) else None
    start = time.perf_counter()
    history = model.fit(
        X, y, epochs=args.epochs, batch_size=args.batch_size, optimizer=optimizer,
        validation_fraction=args.validation_fraction, seed=args.seed, callbacks=callbacks,
    )  # fmt: skip
    seconds = time.perf_counter() - start
    save_model(model, args.out, metadata=metadata)
    n_val = 0 if args.validation_fraction is None else math.ceil(args.validation_fraction * X.shape[0])
    rows = f"{X.shape[0] - n_val} rows" + (f" ({n_val} held out)" if n_val else "")
    figures = [f"loss {history.loss[-1]:.4g}", f"{history.metric_name} {history.metric[-1]:.4g}"]
    if history.val_loss:
        figures += [f"val_loss {history.val_loss[-1]:.4g}", f"val_{history.metric_name} {history.val_metric[-1]:.4g}"]
    _say(
        args,
        f"trained {_arch(model)} ({output}, {model.n_params} parameters) for {history.epochs} epochs on "
        f"{rows} in {seconds:.2f} s: {', '.join(figures)}; saved {args.out}",
    )
    return EXIT_OK


def _arch(model):
    return "-".join(str(s) for s in model.sizes)


class _InputSpec:
    """How to turn rows of an input file into the model's inputs: which CSV columns, and any standardisation."""

    def __init__(self, model, header, model_path):
        meta = header["metadata"]
        n_in = model.sizes[0]

        def bad(key, why):
            return ValueError(f"{model_path}: metadata {key!r} {why}")

        self.feature_names = meta.get("feature_names")
        if self.feature_names is not None:
            if not (isinstance(self.feature_names, list) and len(self.feature_names) == n_in
                    and all(isinstance(n, str) for n in self.feature_names)):  # fmt: skip
                raise bad("feature_names", f"must be a list of {n_in} column names")
        self.mean = self.scale = None
        if "input_mean" in meta or "input_scale" in meta:
            try:
                self.mean = np.array(meta["input_mean"], dtype=np.float64)
                self.scale = np.array(meta["input_scale"], dtype=np.float64)
            except (KeyError, TypeError, ValueError):
                raise bad("input_mean/input_scale", "must both be lists of numbers") from None
            if self.mean.shape != (n_in,) or self.scale.shape != (n_in,) or not (self.scale > 0).all():
                raise bad("input_mean/input_scale", f"must be lists of {n_in} numbers, the scales > 0")
        self.classes = meta.get("classes")
        self.target_names = meta.get("target_names")
        self.model = model

    def transform(self, X):
        if self.mean is None:
            return X
        return (np.asarray(X, dtype=np.float64) - self.mean) / self.scale

    def output_columns(self, labels):
        model = self.model
        names = self.target_names if isinstance(self.target_names, list) else None
        if labels:
            return [str(names[0]) if names and len(names) == 1 else "label"]
        n_out = model.sizes[-1]
        if model.output == "softmax" and isinstance(self.classes, list) and len(self.classes) == n_out:
            return [f"p_{c}" for c in self.classes]
        if names and len(names) == n_out:
            return [str(n) for n in names]
        return [f"output_{k}" for k in range(n_out)]

    def labels(self, outputs, model_path):
        """Class labels from a classifier's outputs (argmax for softmax, p >= 0.5 for one sigmoid output)."""
        model = self.model
        if model.output == "softmax":
            index = outputs.argmax(axis=1)
        elif model.output == "sigmoid" and model.sizes[-1] == 1:
            index = (outputs[:, 0] >= 0.5).astype(np.intp)
        else:
            raise ValueError(
                f"--labels needs a classifier (softmax, or sigmoid with one output); {model_path} has "
                f"output {model.output!r} with {model.sizes[-1]} output(s)"
            )
        classes = self.classes
        n_classes = model.sizes[-1] if model.output == "softmax" else 2
        if classes is None:
            return index.astype(np.int64)
        if not (isinstance(classes, list) and len(classes) == n_classes and all(type(c) is int for c in classes)):
            raise ValueError(f"{model_path}: metadata 'classes' must be a list of {n_classes} integers for --labels")
        return np.asarray(classes, dtype=np.int64)[index]


def _prediction_input(args, model, spec):
    """Return ``(n_rows or None, chunk iterator)`` for the INPUT file; chunks are ``(start, float array)``."""
    suffix = _data_suffix(args.input, "INPUT")
    n_in = model.sizes[0]
    if suffix == ".csv":
        table = CsvTable(args.input)
        if spec.feature_names is not None:
            columns = table.indices(spec.feature_names, f"the model's features ({args.model})")
        elif len(table.columns) == n_in:
            columns = list(range(n_in))
        else:
            raise ValueError(f"{args.input} has {len(table.columns)} columns; the model expects {n_in} features")
        n_rows = table.count_rows() if args.out.lower().endswith(".npy") else None
        return n_rows, table.chunks(columns, args.chunk_size)
    if suffix == ".npy":
        X = np.load(args.input, mmap_mode="r", allow_pickle=False)
    else:
        X = _read_npz_array(args.input, args.x_key)
    X = _check_numeric(X, f"the input {args.input}")
    if X.ndim != 2 or X.shape[1] != n_in:
        raise ValueError(f"{args.input} must have shape (n_rows, {n_in}) for this model; got {X.shape}")

    def chunks():
        for start in range(0, X.shape[0], args.chunk_size):
            yield start, X[start : start + args.chunk_size]

    return X.shape[0], chunks()


class _NpyWriter:
    def __init__(self, path, n_rows, n_cols, dtype):
        shape = (n_rows,) if n_cols is None else (n_rows, n_cols)
        self.array = np.lib.format.open_memmap(path, mode="w+", dtype=dtype, shape=shape)

    def write(self, start, block):
        self.array[start : start + len(block)] = block

    def close(self):
        if self.array is not None:
            self.array.flush()
            self.array = None  # unmaps the file


class _CsvWriter:
    def __init__(self, path, columns, dtype):
        self.file = open(path, "w", newline="", encoding="utf-8")
        writer = csv.writer(self.file, lineterminator="\n")
        writer.writerow(columns)
        self.fmt = "%d" if dtype.kind == "i" else ("%.9g" if dtype == np.float32 else "%.17g")  # exact round trip

    def write(self, start, block):
        np.savetxt(self.file, block, fmt=self.fmt, delimiter=",")

    def close(self):
        self.file.close()


def _predict(args):
    from ._atomic import atomic_path
    from .io import load_with_metadata

    _data_suffix(args.input, "INPUT")
    model, header = load_with_metadata(args.model)
    spec = _InputSpec(model, header, args.model)
    n_rows, chunks = _prediction_input(args, model, spec)
    if n_rows == 0:
        raise ValueError(f"{args.input} has no data rows")
    if args.labels:
        spec.labels(np.zeros((1, model.sizes[-1]), dtype=model.dtype), args.model)  # check before the work
    out_dtype = np.dtype(np.int64) if args.labels else model.dtype
    n_cols = None if args.labels else model.sizes[-1]  # labels: a 1-D array
    to_npy = args.out.lower().endswith(".npy")
    progress = _show_progress(args, sys.stderr)  # progress messages go through logging, to stderr
    log.info(
        "predicting %s rows of %s in chunks of %d rows into %s",
        "the" if n_rows is None else n_rows, args.input, args.chunk_size, args.out,
    )  # fmt: skip
    start_time = last_report = time.perf_counter()
    done = 0
    with atomic_path(args.out) as tmp, contextlib.closing(chunks):
        if to_npy:
            writer = _NpyWriter(tmp, n_rows, n_cols, out_dtype)
        else:
            writer = _CsvWriter(tmp, spec.output_columns(args.labels), out_dtype)
        try:
            for start, chunk in chunks:
                try:
                    outputs = model.predict(spec.transform(chunk), chunk_size=min(args.chunk_size, 4096))
                except ValueError as exc:
                    raise ValueError(f"{args.input}: {_locate(chunk, start)}{exc}") from None
                writer.write(start, spec.labels(outputs, args.model) if args.labels else outputs)
                done = start + len(chunk)
                if progress and time.perf_counter() - last_report >= 1.0:
                    last_report = time.perf_counter()
                    total = "" if n_rows is None else f"/{n_rows}"
                    log.info("predicted %d%s rows", done, total)
            if done == 0:
                raise ValueError(f"{args.input} has no data rows")
            if n_rows is not None and done != n_rows:
                raise ValueError(f"{args.input} changed while it was read ({n_rows} rows counted, {done} read)")
        finally:
            writer.close()
    _say(args, f"predicted {done} rows in {time.perf_counter() - start_time:.2f} s; wrote {args.out}")
    return EXIT_OK


def _locate(chunk, start):
    """``"row N: "`` for the first row of ``chunk`` holding NaN or infinity, else ``""``."""
    finite = np.isfinite(np.asarray(chunk, dtype=np.float64)).all(axis=1)
    bad = np.flatnonzero(~finite)
    return f"data row {start + int(bad[0])} (counting from 0): " if bad.size else ""


def _info(args):
    from .io import load_with_metadata

    _, header = load_with_metadata(args.model)
    if args.json:
        print(json.dumps(header, indent=2, ensure_ascii=False))
        return EXIT_OK
    sizes = header["sizes"]
    training = header["training"]
    lines = [
        ("file", args.model),
        ("format", f"{header['format']} version {header['format_version']}, written by fastmlp "
                   f"{header['fastmlp_version']} on {header['created']}"),
        ("layers", f"{'-'.join(map(str, sizes))} ({len(sizes) - 2} hidden)"),
        ("activations", f"hidden {', '.join(header['hidden']) or '(none)'}; output {header['output']}"),
        ("loss", header["loss"]),
        ("dtype", header["dtype"]),
        ("bias", "yes" if header["bias"] else "no"),
        ("init", ", ".join(header["init"])),
        ("parameters", f"{header['n_params']} (sha256 {header['sha256'][:16]}...)"),
        ("training", "none recorded" if training is None else
                     f"{training['epochs']} epochs, {training['samples_seen']} samples seen, {training['optimizer']}"),
    ]  # fmt: skip
    for key, value in header["metadata"].items():
        text = json.dumps(value, ensure_ascii=False)
        lines.append((f"metadata.{key}", text if len(text) <= 200 else text[:197] + "..."))
    width = max(len(key) for key, _ in lines) + 1
    for key, value in lines:
        print(f"{key + ':':<{width}} {value}")
    return EXIT_OK


def _demo(args):
    """Train on two interleaved spirals: a model without hidden layers fails, an MLP succeeds."""
    from . import SGD, Model, make_spirals

    def say(*parts):
        if not args.quiet:
            print(*parts, flush=True)

    X_train, y_train = make_spirals(args.samples, seed=args.seed)
    X_test, y_test = make_spirals(args.samples // 2, seed=args.seed + 1)
    # Standardise with the training set's statistics, as one would with real data.
    mean, std = X_train.mean(axis=0), X_train.std(axis=0)
    X_train, X_test = (X_train - mean) / std, (X_test - mean) / std
    say(f"fastmlp demo: two interleaved spirals, {len(X_train)} training and {len(X_test)} test points\n")

    results = []
    for title, sizes in (("no hidden layer (linear)", [2, 2]), ("MLP 2-64-64-2, relu", [2, 64, 64, 2])):
        model = Model(sizes, hidden="relu", output="softmax", seed=args.seed)
        say(f"{title}: {model.n_params} parameters, {args.epochs} epochs of minibatch SGD (batch 8, lr 0.1)")
        # Compile (or load from the on-disk cache) on a throwaway copy, so the time below is training alone.
        model.copy().fit(X_train[:8], y_train[:8], epochs=1)
        start = time.perf_counter()
        model.fit(
            X_train, y_train, epochs=args.epochs, batch_size=8, optimizer=SGD(lr=0.1), seed=args.seed,
            verbose=not args.quiet,
        )  # fmt: skip
        seconds = time.perf_counter() - start
        accuracy = float(np.mean(model.predict(X_test).argmax(axis=1) == y_test))
        say(f"  test accuracy {accuracy:.1%}, training took {seconds:.3f} s\n")
        results.append((title, accuracy, seconds))
    linear, mlp = results
    print(
        f"summary: linear model {linear[1]:.1%}, MLP {mlp[1]:.1%} test accuracy; "
        f"MLP trained {args.epochs} epochs in {mlp[2]:.2f} s"
    )
    return 0


# ---------------------------------------------------------------------------------------------------------------
# The parser and the entry point


def _add_output_options(parser):
    group = parser.add_mutually_exclusive_group()
    group.add_argument("-q", "--quiet", action="store_true", help="print nothing but errors")
    group.add_argument("--progress", action="store_true", help="show progress even when not on a terminal")


def build_parser():
    """Return the argument parser of the ``fastmlp`` command."""
    parser = argparse.ArgumentParser(
        prog="fastmlp",
        description="A small, fast multi-layer perceptron.",
        epilog="Exit status: 0 success, 1 bad data or files, 2 usage error, 128+N after signal N.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    train = commands.add_parser("train", help="train a model on a .csv, .npy or .npz file and save it")
    add = train.add_argument
    add("data", metavar="DATA", help="training data: .csv (with a header row), .npy or .npz")
    add("--out", required=True, metavar="MODEL", help="where to write the model file (.npz)")
    add("--target", metavar="COLUMNS", help="target column names (.csv) or numbers (.npy, .npz), comma-separated")
    add("--target-file", metavar="Y.npy", help="targets of .npy data, as a .npy file")
    add("--x-key", default="X", metavar="NAME", help="name of the features in .npz data (default: X)")
    add("--y-key", default="y", metavar="NAME", help="name of the targets in .npz data (default: y)")
    add("--layers", type=_layers, default=[64], metavar="WIDTHS",
        help="hidden layer widths, e.g. 64,64; 'none' for no hidden layer (default: 64)")  # fmt: skip
    add("--hidden", type=_activations, default=["relu"], metavar="NAMES",
        help="hidden activation, or one per hidden layer comma-separated: identity, sigmoid, tanh, relu, "
             "leaky_relu (default: relu)")  # fmt: skip
    add("--output", choices=["auto", "identity", "sigmoid", "softmax"], default="auto",
        help="output activation and loss (default: auto, chosen from the targets)")  # fmt: skip
    add("--dtype", choices=["float32", "float64"], default="float32", help="(default: float32)")
    add("--epochs", type=_int_at_least(1), default=10, metavar="N", help="(default: 10)")
    add("--batch-size", type=_int_at_least(1), default=32, metavar="N", help="(default: 32)")
    add("--optimizer", choices=["sgd", "adam", "adamw"], default="adam", help="(default: adam)")
    add("--lr", type=_positive_float, metavar="RATE", help="learning rate (default: 0.01 for sgd, 0.001 for adam)")
    add("--seed", type=_int_at_least(0), default=0, metavar="N", help="seed of weights and shuffling (default: 0)")
    add("--validation-fraction", type=_fraction, metavar="F", help="hold out this fraction of the rows")
    add("--standardize", action="store_true",
        help="scale each feature to mean 0 and standard deviation 1 (stored in the model file, applied by "
             "predict)")  # fmt: skip
    _add_output_options(train)
    train.set_defaults(handler=_train)

    predict = commands.add_parser("predict", help="apply a saved model to a .csv, .npy or .npz file, in chunks")
    add = predict.add_argument
    add("model", metavar="MODEL", help="a model file written by fastmlp train or Model.save")
    add("input", metavar="INPUT", help="inputs: .csv (with a header row), .npy (memory-mapped) or .npz")
    add("--out", required=True, type=_prediction_path, metavar="OUT", help="where to write the outputs: .npy or .csv")
    add("--chunk-size", type=_int_at_least(1), default=DEFAULT_CHUNK_ROWS, metavar="ROWS",
        help=f"rows read and predicted at a time (default: {DEFAULT_CHUNK_ROWS})")  # fmt: skip
    add("--x-key", default="X", metavar="NAME", help="name of the inputs in .npz data (default: X)")
    add("--labels", action="store_true", help="write class labels instead of probabilities (classifiers)")
    _add_output_options(predict)
    predict.set_defaults(handler=_predict)

    info = commands.add_parser("info", help="describe a model file")
    info.add_argument("model", metavar="MODEL", help="a model file")
    info.add_argument("--json", action="store_true", help="print the file's header as JSON")
    info.set_defaults(handler=_info, quiet=False)

    demo = commands.add_parser("demo", help="train on a generated two-spirals problem and report accuracy and time")
    demo.add_argument("--epochs", type=_int_at_least(1), default=40, help="training epochs (default: 40)")
    demo.add_argument("--samples", type=_int_at_least(4), default=2000, help="training points (default: 2000)")
    demo.add_argument(
        "--seed", type=_int_at_least(0), default=0, help="seed for data, weights and shuffling (default: 0)"
    )
    demo.add_argument("--quiet", action="store_true", help="print only the summary line")
    demo.set_defaults(handler=_demo)
    return parser


class _Formatter(logging.Formatter):
    def format(self, record):
        message = " ".join(record.getMessage().split("\n"))
        if record.levelno >= logging.WARNING:
            return f"fastmlp: {record.levelname.lower()}: {message}"
        return f"fastmlp: {message}"


@contextlib.contextmanager
def _logging_to_stderr(quiet):
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_Formatter())
    saved = log.level, log.propagate
    log.addHandler(handler)
    log.setLevel(logging.WARNING if quiet else logging.INFO)
    log.propagate = False
    try:
        yield
    finally:
        log.removeHandler(handler)
        log.setLevel(saved[0])
        log.propagate = saved[1]


def _raise_terminated(signum, frame):
    raise Terminated(signum)


@contextlib.contextmanager
def _signals_raise():
    """Turn SIGTERM (and SIGHUP) into an exception while a command runs, so that temporary files are removed."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    names = ("SIGTERM", "SIGHUP")
    saved = {}
    for name in names:
        if hasattr(signal, name):
            signum = getattr(signal, name)
            saved[signum] = signal.signal(signum, _raise_terminated)
    try:
        yield
    finally:
        for signum, handler in saved.items():
            signal.signal(signum, handler)


def main(argv=None):
    """Run the command line; return the exit status.

    Parameters
    ----------
    argv : list of str, optional
        The arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        0 on success, 1 on bad data or files, 2 on usage errors (argparse's own usage errors raise
        ``SystemExit(2)``), 130 after Ctrl-C, 128 + N after signal N.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    with _logging_to_stderr(args.quiet), _signals_raise():
        try:
            return args.handler(args)
        except UsageError as exc:
            log.error("%s (see: fastmlp %s --help)", exc, args.command)
            return EXIT_USAGE
        except Terminated as exc:
            log.error("stopped by %s; no partial output was left", signal.Signals(exc.signum).name)
            return 128 + exc.signum
        except BrokenPipeError:  # the reader of stdout went away (| head): stop quietly, as shell tools do
            with contextlib.suppress(OSError):
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 128 + 13
        except KeyboardInterrupt:
            log.error("interrupted; no partial output was left")
            return 130
        except (ValueError, TypeError, OSError, MemoryError, *_CORRUPT_FILE_ERRORS) as exc:
            log.error("%s", _message(exc))
            return EXIT_ERROR


# What reading a damaged .npz or .npy data file can raise besides ValueError and OSError.
_CORRUPT_FILE_ERRORS = (zipfile.BadZipFile, EOFError, zlib.error, NotImplementedError)


def _message(exc):
    if isinstance(exc, _CORRUPT_FILE_ERRORS):
        return f"a data file is damaged or not in a supported format ({type(exc).__name__}: {exc})"
    if isinstance(exc, MemoryError):
        return "out of memory" + (f": {exc}" if str(exc) else "")
    if isinstance(exc, OSError) and exc.filename is not None and exc.strerror:
        return f"{exc.strerror}: {exc.filename!r}"
    return str(exc) or type(exc).__name__
