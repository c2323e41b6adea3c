"""``fastmlp predict``: apply a saved model to a data file, chunk by chunk, and write the outputs atomically.

Notes
-----
The input is read :data:`~fastmlp.cli.data.READ_CHUNK_ROWS` rows (``--chunk-size``) at a time: a ``.csv`` file row
by row, a ``.npy`` file memory-mapped. Outputs go to a ``.npy`` file (memory-mapped, so larger than memory is
fine) or a ``.csv`` file, through :func:`fastmlp._atomic.atomic_path`: they appear complete or not at all.
"""

import contextlib
import csv
import sys
import time

import numpy as np

from .._atomic import atomic_path
from .._validation import as_array, class_labels
from ..io import load_with_metadata
from ..model import DEFAULT_CHUNK_ROWS
from .common import EXIT_OK, check_input_file, check_output_path, log, say, show_progress
from .data import CsvTable, data_suffix, read_npy, read_npz_array

__all__ = ["run_predict"]

INT64_MIN, INT64_MAX = int(np.iinfo(np.int64).min), int(np.iinfo(np.int64).max)


class _InputSpec:
    """How to turn rows of an input file into the model's inputs: which CSV columns, and any standardisation."""

    def __init__(self, model, header, model_path):
        meta = header["metadata"]
        n_in = model.sizes[0]

        def bad(key, why):
            return ValueError(f"{model_path}: metadata {key!r} {why}")

        arrays = getattr(header, "arrays", {})
        # Files from this version keep names and classes in array members; older ones in the JSON metadata.
        names = arrays.get("feature_names")
        self.feature_names = meta.get("feature_names") if names is None else names.tolist()
        if self.feature_names is not None:
            if not (isinstance(self.feature_names, list) and len(self.feature_names) == n_in
                    and all(isinstance(n, str) for n in self.feature_names)):  # fmt: skip
                raise bad("feature_names", f"must be a list of {n_in} column names")
        if ("input_mean" in meta or "input_scale" in meta) and model.input_scaling is None:
            # A model written before the scaling was part of the model: make it so.
            try:
                mean = np.array(meta["input_mean"], dtype=np.float64)
                scale = np.array(meta["input_scale"], dtype=np.float64)
            except (KeyError, TypeError, ValueError, OverflowError):
                raise bad("input_mean/input_scale", "must both be lists of float64 numbers") from None
            if mean.shape != (n_in,) or scale.shape != (n_in,) or not (scale > 0).all():
                raise bad("input_mean/input_scale", f"must be lists of {n_in} numbers, the scales > 0")
            model.set_input_scaling(mean, scale)
        self.classes = arrays["classes"].tolist() if "classes" in arrays else meta.get("classes")
        self.target_names = meta.get("target_names")
        self.model = model

    def output_columns(self, labels):
        """The header of a ``.csv`` output: what each column holds.

        ``label`` for ``--labels``; for probabilities ``proba_<class>`` per class of a softmax model,
        ``proba_<positive class>`` for the one column of a binary sigmoid model (the probability of its second
        class), ``proba_<target>`` per column of a multilabel model; the target names for a regression (``y``,
        or ``y_0``, ``y_1``, ... without them). Unnamed classes are numbered as ``--labels`` numbers them.
        """
        if labels:
            return ["label"]
        model = self.model
        n_out = model.sizes[-1]
        names = self.target_names
        names = [str(n) for n in names] if isinstance(names, list) and len(names) == n_out else None
        classes = self.classes if isinstance(self.classes, list) else None
        if model.output == "softmax":
            return [f"proba_{c}" for c in (classes if classes is not None and len(classes) == n_out else range(n_out))]
        if model.output == "sigmoid":
            if n_out == 1 and classes is not None and len(classes) == 2:
                return [f"proba_{classes[1]}"]  # trained on y == classes[1]
            if names is not None:
                return [f"proba_{name}" for name in names]
            return ["proba_1"] if n_out == 1 else [f"proba_y_{k}" for k in range(n_out)]
        if names is not None:
            return names
        return ["y"] if n_out == 1 else [f"y_{k}" for k in range(n_out)]

    def labels(self, outputs, model_path):
        """Class labels from a classifier's outputs (argmax for softmax, p >= 0.5 for one sigmoid output)."""
        model = self.model
        try:
            index = class_labels(model.output, model.sizes[-1], outputs)
        except ValueError:  # its message speaks of class_weight
            raise ValueError(
                f"--labels needs a classifier (softmax, or sigmoid with one output); {model_path} has "
                f"output {model.output!r} with {model.sizes[-1]} output(s)"
            ) from None
        classes = self.classes
        n_classes = model.sizes[-1] if model.output == "softmax" else 2
        if classes is None:
            return index.astype(np.int64)
        if not (
            isinstance(classes, list) and len(classes) == n_classes
            and all(type(c) is int and INT64_MIN <= c <= INT64_MAX for c in classes)
        ):  # fmt: skip
            raise ValueError(
                f"{model_path}: metadata 'classes' must be a list of {n_classes} integers within the int64 range for "
                "--labels"
            )
        return np.asarray(classes, dtype=np.int64)[index]


def _prediction_input(args, model, spec):
    """Return ``(n_rows or None, chunk iterator)`` for the INPUT file; chunks are ``(start, float array)``."""
    suffix = data_suffix(args.input, "INPUT")
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
        X = read_npy(args.input, mmap_mode="r")
    else:
        X = read_npz_array(args.input, args.x_key)
    X = as_array(X, f"the input {args.input}")
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


def run_predict(args):
    """Run ``fastmlp predict``; return the exit status."""
    data_suffix(args.input, "INPUT")
    check_output_path(args.out)
    check_input_file(args.model)
    check_input_file(args.input)
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
    progress = show_progress(args, sys.stderr)  # progress messages go through logging, to stderr
    log.info(
        "predicting %s rows of %s in chunks of %d rows into %s",
        "the" if n_rows is None else n_rows, args.input, args.chunk_size, args.out,
    )  # fmt: skip
    # A large --chunk-size sets how much is read at a time, not the kernels' workspace: that stays the library's.
    kernel_rows = min(args.chunk_size, DEFAULT_CHUNK_ROWS)
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
                    outputs = model.predict(chunk, chunk_size=kernel_rows)
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
    say(args, f"predicted {done} rows in {time.perf_counter() - start_time:.2f} s; wrote {args.out}")
    return EXIT_OK


def _locate(chunk, start):
    """``"data row N (counting from 0): "`` for the first row of ``chunk`` holding NaN or infinity, else ``""``."""
    finite = np.isfinite(np.asarray(chunk, dtype=np.float64)).all(axis=1)
    bad = np.flatnonzero(~finite)
    return f"data row {start + int(bad[0])} (counting from 0): " if bad.size else ""
