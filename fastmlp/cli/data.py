"""Reading the command line's data files: ``.csv``, ``.npy`` and ``.npz``.

Notes
-----
``.csv`` files are read with :class:`CsvTable` (a header row of column names, then numbers), ``.npy`` and ``.npz``
files with NumPy, never unpickling. :func:`load_training_data` applies ``train``'s data options.
"""

import contextlib
import csv
import os

import numpy as np

from .._validation import as_array
from .common import UsageError

__all__ = [
    "DATA_SUFFIXES",
    "MAX_ROW_CHARS",
    "READ_CHUNK_ROWS",
    "CsvTable",
    "data_suffix",
    "load_training_data",
    "read_npy",
    "read_npz_array",
]

READ_CHUNK_ROWS = 65536
"""Rows of a data file read at a time: :meth:`CsvTable.read`'s chunks, and ``predict --chunk-size``'s default."""
DATA_SUFFIXES = (".csv", ".npy", ".npz")
MAX_ROW_CHARS = 1 << 25
"""The most characters one row of a ``.csv`` file may hold (32 Mi: a million columns of 32-character numbers)."""


def data_suffix(path, what):
    """Return the lower-case suffix of a data file's ``path``, one of :data:`DATA_SUFFIXES`.

    Parameters
    ----------
    path : str
        The file named on the command line.
    what : str
        Its name in the usage message, such as ``"DATA"``.

    Raises
    ------
    UsageError
        For any other suffix: no content could make the command work.
    """
    suffix = os.path.splitext(path)[1].lower()
    if suffix not in DATA_SUFFIXES:
        raise UsageError(f"{what} {path!r} must be a .csv, .npy or .npz file")
    return suffix


def read_npz_array(path, key):
    """Return the array ``key`` of the ``.npz`` file ``path``, refusing pickled objects.

    Raises
    ------
    ValueError
        If the archive holds no array ``key`` (the message lists the arrays it holds), or NumPy refuses the file or
        the array (an object array, say); the message names ``path``.
    """
    # Our own file handle: np.load leaves its own open when a damaged archive makes it fail.
    with open(path, "rb") as handle:
        with _naming(path):
            archive = np.load(handle, allow_pickle=False)
        with archive:
            if key not in archive.files:
                held = ", ".join(archive.files) or "nothing"
                raise ValueError(f"{path} has no array named {key!r} (it holds {held})")
            with _naming(path):
                return archive[key]


def read_npy(path, mmap_mode=None):
    """Return the array of the ``.npy`` file ``path`` (memory-mapped with ``mmap_mode="r"``), refusing pickles.

    Raises
    ------
    ValueError
        If NumPy refuses the file (an object array, or one that cannot be memory-mapped); the message names ``path``.
    """
    with _naming(path):
        if mmap_mode is not None:
            return np.load(path, mmap_mode=mmap_mode, allow_pickle=False)
        with open(path, "rb") as handle:
            return np.load(handle, allow_pickle=False)


@contextlib.contextmanager
def _naming(path):
    """Prefix ``path`` to NumPy's ``ValueError`` messages, which do not say which file they are about."""
    try:
        yield
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None


class _BoundedLines:
    """The lines of a text file, for :func:`csv.reader`, refusing a row longer than :data:`MAX_ROW_CHARS`.

    A file without line breaks would otherwise be read into memory whole before the :mod:`csv` module's field
    limit could refuse it. The reader of rows sets :attr:`row_chars` to 0 after each row, which may span lines
    (a quoted field holding a line break).
    """

    def __init__(self, f, path):
        self.f = f
        self.path = path
        self.line = 0
        self.row_chars = 0

    def __iter__(self):
        return self

    def __next__(self):
        text = self.f.readline(MAX_ROW_CHARS - self.row_chars + 1)
        if not text:
            raise StopIteration
        self.line += 1
        self.row_chars += len(text)
        if self.row_chars > MAX_ROW_CHARS:
            raise ValueError(
                f"{self.path}, line {self.line}: a row of more than {MAX_ROW_CHARS:,} characters; is it a CSV file?"
            )
        return text


class CsvTable:
    """A CSV file with a header row, read in chunks of rows converted to float64.

    Parameters
    ----------
    path : str
        The file.
    """

    def __init__(self, path):
        self.path = path
        header = next(self._records(), (None, None))[1]
        if header is None:
            raise ValueError(f"{path} is empty; a header row of column names is required")
        self.columns = [name.strip() for name in header]
        if not self.columns or any(not name for name in self.columns):
            raise ValueError(f"{path}: every column needs a name in the header row; got {header!r}")
        seen = set()
        for name in self.columns:
            if name in seen:
                raise ValueError(f"{path}: the column name {name!r} appears twice in the header row")
            seen.add(name)

    def indices(self, names, what):
        """Column numbers of ``names``, or raise naming the missing ones."""
        missing = [name for name in names if name not in self.columns]
        if missing:
            raise ValueError(
                f"{what}: column(s) {', '.join(map(repr, missing))} not in {self.path} "
                f"(its columns: {', '.join(self.columns)})"
            )
        return [self.columns.index(name) for name in names]

    def _records(self):
        """Yield (line number, fields) for every record of the file, the header first.

        Raises
        ------
        ValueError
            Naming the file and the line, for what the :mod:`csv` module refuses (a field over its
            :func:`csv.field_size_limit`), a row of more than :data:`MAX_ROW_CHARS` characters, or text that is
            not UTF-8.
        """
        with open(self.path, newline="", encoding="utf-8-sig") as f:
            lines = _BoundedLines(f, self.path)
            reader = csv.reader(lines)
            while True:
                try:
                    fields = next(reader)
                except StopIteration:
                    return
                except csv.Error as exc:
                    where = f"{self.path}, line {reader.line_num}"
                    if "field limit" in str(exc):
                        limit = csv.field_size_limit()
                        raise ValueError(f"{where}: a field of more than {limit:,} characters") from None
                    raise ValueError(f"{where}: not readable as CSV ({exc})") from None
                except UnicodeDecodeError as exc:
                    raise ValueError(
                        f"{self.path} is not UTF-8 text ({exc.reason} in line {lines.line + 1} or after); save it "
                        "as UTF-8"
                    ) from None
                lines.row_chars = 0
                yield reader.line_num, fields

    def _rows(self):
        """Yield (line number, fields) for every non-blank data row, checking the number of fields."""
        records = self._records()
        next(records, None)
        for line, fields in records:
            if not fields or (len(fields) == 1 and not fields[0].strip()):
                continue
            if len(fields) != len(self.columns):
                raise ValueError(
                    f"{self.path}, line {line}: {len(fields)} fields, but the header has {len(self.columns)}"
                )
            yield line, fields

    def count_rows(self):
        """The number of data rows (one pass over the file)."""
        return sum(1 for _ in self._rows())

    def _blocks(self, columns, rows):
        """Yield ``(start, lines, cells)``: the text of ``columns`` for ``rows`` data rows at a time."""
        start = 0
        lines, block = [], []
        for line, fields in self._rows():
            lines.append(line)
            block.append([fields[i] for i in columns])
            if len(block) == rows:
                yield start, lines, block
                start += len(block)
                lines, block = [], []
        if block:
            yield start, lines, block

    def chunks(self, columns, rows):
        """Yield ``(start, array)``: float64 arrays of ``columns`` for ``rows`` data rows at a time."""
        for start, lines, block in self._blocks(columns, rows):
            yield start, self._convert(block, lines, columns)

    def read(self, features, targets):
        """All rows: the ``features`` columns as float64, the ``targets`` columns exactly where they hold integers.

        Returns
        -------
        X : ndarray of float64, shape (n_rows, len(features))
        Y : ndarray, shape (n_rows, len(targets))
            int64 when every target cell is an integer (text such as ``-12``, no decimal point or exponent) within
            int64's range; an object array of Python ints when they are integers beyond it; float64 otherwise.
            Class labels keep every digit this way, which float64 keeps only within 2**53.
        """
        columns = [*features, *targets]
        n = len(features)
        numbers, integers = [], []
        for _, lines, block in self._blocks(columns, READ_CHUNK_ROWS):
            numbers.append(self._convert(block, lines, columns))  # checks every cell is a number
            if integers is not None:
                integers = _integer_cells(block, n, integers)
        if not numbers:
            raise ValueError(f"{self.path} has a header row but no data rows")
        data = np.concatenate(numbers)
        Y = data[:, n:] if integers is None else np.concatenate(integers)
        return data[:, :n], Y

    def _convert(self, block, lines, columns):
        try:
            array = np.array(block, dtype=np.float64).reshape(len(block), len(columns))
        except ValueError:
            pass
        else:
            finite = np.isfinite(array)
            if finite.all():
                return array
            row, k = np.argwhere(~finite)[0]  # nan, inf, or a number beyond float64 such as 1e999
            raise ValueError(
                f"{self.path}, line {lines[row]}, column {self.columns[columns[k]]!r} holds {block[row][k]!r}, not a "
                "finite number"
            )
        for line, values in zip(lines, block, strict=True):  # find the first bad cell for the message
            for column, value in zip(columns, values, strict=True):
                try:
                    np.array(value, dtype=np.float64)
                except ValueError:
                    what = "is empty" if not value.strip() else f"holds {value!r}, not a number"
                    raise ValueError(f"{self.path}, line {line}, column {self.columns[column]!r} {what}") from None
        raise ValueError(f"{self.path}: could not read the numbers of lines {lines[0]}-{lines[-1]}")


def _integer_cells(block, first, parts):
    """Append to ``parts`` the cells of ``block`` from column ``first`` on as integers and return it; or None.

    None when a cell is not integer text; an int64 array when the integers fit it, else an object array of ints.
    """
    try:
        values = [[int(cell) for cell in row[first:]] for row in block]
    except ValueError:
        return None
    try:
        parts.append(np.array(values, dtype=np.int64))
    except OverflowError:
        parts.append(np.array(values, dtype=object))
    return parts


# ---------------------------------------------------------------------------------------------------------------
# Training data


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
    targets = [k % n for k in numbers]  # the outputs in the order given
    if len(set(targets)) != len(targets):
        raise ValueError(f"--target names a column twice: {numbers}")
    features = [k for k in range(n) if k not in targets]
    if not features:
        raise ValueError(f"--target leaves no feature columns in {path}")
    return X[:, features], X[:, targets[0]] if len(targets) == 1 else X[:, targets]


def load_training_data(args):
    """Read ``train``'s data file as its options (``--target``, ``--target-file``, the keys) say.

    Parameters
    ----------
    args : argparse.Namespace
        The parsed ``train`` command line.

    Returns
    -------
    X : ndarray
        The features, not yet checked for shape or finiteness.
    Y : array-like
        The targets, as read.
    feature_names, target_names : list of str or None
        The column names of ``.csv`` data; None for ``.npy`` and ``.npz`` data.
    """
    suffix = data_suffix(args.data, "DATA")
    if suffix == ".csv":
        if not args.target:
            raise UsageError("--target is required with .csv data: name the target column(s), e.g. --target price")
        if args.target_file:
            raise UsageError("--target-file applies to .npy data; with .csv data name the columns with --target")
        table = CsvTable(args.data)
        target_names = [name.strip() for name in args.target.split(",")]
        target_idx = table.indices(target_names, "--target")
        if len(set(target_idx)) != len(target_idx):
            raise ValueError(f"--target names a column twice: {args.target}")
        feature_idx = [i for i in range(len(table.columns)) if i not in target_idx]
        if not feature_idx:
            raise ValueError(f"--target leaves no feature columns in {args.data}")
        X, Y = table.read(feature_idx, target_idx)
        return X, Y[:, 0] if Y.shape[1] == 1 else Y, [table.columns[i] for i in feature_idx], target_names
    if suffix == ".npy":
        X = as_array(read_npy(args.data), f"the data in {args.data}")
        if args.target_file and args.target:
            raise UsageError("give either --target (column numbers) or --target-file, not both")
        if args.target_file:
            Y = read_npy(args.target_file)
        elif args.target:
            X, Y = _split_columns(X, _target_numbers(args.target), args.data)
        else:
            raise UsageError("with .npy data give the targets: --target-file y.npy, or --target with column numbers")
    else:
        if args.target_file:
            raise UsageError("--target-file applies to .npy data; .npz data holds its targets (--y-key)")
        X = as_array(read_npz_array(args.data, args.x_key), f"array {args.x_key!r} of {args.data}")
        if args.target:
            X, Y = _split_columns(X, _target_numbers(args.target), args.data)
        else:
            Y = read_npz_array(args.data, args.y_key)
    return X, Y, None, None
