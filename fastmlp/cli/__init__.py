"""The ``fastmlp`` command line (also ``python -m fastmlp``): ``train``, ``predict``, ``info`` and ``demo``.

::

    fastmlp train data.csv --target species --layers 64,64 --epochs 50 --out model.npz
    fastmlp info model.npz [--json]
    fastmlp info [--json]                 # the installation: versions, the BLAS and its threads
    fastmlp predict model.npz new.csv --out predictions.csv [--chunk-size 65536] [--labels]
    fastmlp demo
    fastmlp --version

Data files
    ``.csv``: a header row of column names, then one row of numbers per sample. ``train --target a,b`` names the
    target column(s); every other column is a feature. ``predict`` reads the model's feature columns by name (other
    columns, such as the target, are ignored), or all columns for a model trained from arrays.
    ``.npy``: the feature matrix; ``train`` takes the targets from ``--target-file y.npy`` or from the columns
    numbered in ``--target`` (``--target -1``: the last column). ``predict`` memory-maps it.
    ``.npz``: arrays ``X`` and ``y`` (``--x-key``, ``--y-key``), or ``--target`` column numbers of ``X``.

Prediction files
    ``predict --out`` writes ``.npy`` (the outputs as an array: one column per output, or the labels as a 1-D array)
    or ``.csv`` with a header row naming what each column holds: ``proba_<class>`` for each class of a softmax
    model; ``proba_<positive class>`` for the one output of a binary (sigmoid) classifier, the probability of the
    second of its two classes (that of the first is 1 minus it, so it gets no column, as in the ``.npy`` file);
    ``proba_<target>`` for each column of a multilabel model; the target names of a regression (``y``, or ``y_0``,
    ``y_1``, ... for a model trained from arrays); ``label`` for ``--labels``. Classes a file does not name are
    numbered 0, 1, ..., as ``--labels`` writes them.

Output activation (``train --output``, default ``auto``)
    ``auto`` picks ``sigmoid`` for one target column of integers with exactly 2 distinct values, or for several
    columns of 0/1 values; ``softmax`` for one target column of integers with 3 to 50 distinct values; ``identity``
    (regression) otherwise. Class labels are mapped to 0..k-1 and stored in the model file as ``classes``. Pass
    ``--output identity`` to regress on integer targets.

Unattended use
    Exit status 0 on success, 2 on usage errors (bad options, unknown file types), 1 on bad data or files (a
    :class:`~fastmlp.io.ModelFileError`, ``ValueError``, ``TypeError``, ``OverflowError`` or ``OSError``,
    including a diverged training), 130 after Ctrl-C and 128 + N after signal N (143 for SIGTERM). Each error is
    one line on stderr, ``fastmlp: error: ...``, ending ``(see: fastmlp COMMAND --help)`` for usage errors.
    Output files (the model, the predictions) are written to a temporary file and renamed into place when
    complete, so a failure or a SIGTERM never leaves a partial file. Messages go through the :mod:`logging` logger
    ``"fastmlp"`` to stderr, among them ``fastmlp: compiling kernels (first run only...)`` when a run compiles
    rather than loads the kernels from Numba's cache; ``--quiet`` keeps only errors; progress is shown on a
    terminal or with ``--progress``: on a terminal one line redrawn in place, elsewhere a line for the first
    epoch, each tenth of the epochs and the last. The result line of ``train`` and ``predict`` goes to stdout.

The package
    :mod:`~fastmlp.cli.parsing` builds the parser; :mod:`~fastmlp.cli.train`, :mod:`~fastmlp.cli.predict`,
    :mod:`~fastmlp.cli.info` and :mod:`~fastmlp.cli.demo` run the commands, reading files with
    :mod:`~fastmlp.cli.data` and preparing targets with :mod:`~fastmlp.cli.targets`; :mod:`~fastmlp.cli.common`
    holds what they share. This module runs a command and turns its outcome into an exit status and a message.
"""

import contextlib
import logging
import os
import signal
import sys
import threading
import zipfile
import zlib

from .common import EXIT_ERROR, EXIT_OK, EXIT_USAGE, UsageError, compile_notice, log
from .parsing import build_parser, usage_hint

__all__ = ["EXIT_ERROR", "EXIT_OK", "EXIT_USAGE", "Terminated", "UsageError", "build_parser", "main"]


class Terminated(BaseException):
    """Raised by the signal handler, so that ``finally`` blocks remove temporary files."""

    def __init__(self, signum):
        super().__init__(signum)
        self.signum = signum


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
        0 on success (``--help`` included), 1 on bad data or files, 2 on usage errors, 130 after Ctrl-C,
        128 + N after signal N.
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help (0), or a usage error already reported on one line (2)
        return exc.code
    if args.command is None:
        parser.print_help()
        sys.stderr.write(
            f"fastmlp: error: a command is required: train, predict, info or demo {usage_hint(parser.prog)}\n"
        )
        return EXIT_USAGE
    with _logging_to_stderr(args.quiet), _signals_raise(), compile_notice():
        try:
            return args.handler(args)
        except UsageError as exc:
            log.error("%s %s", exc, usage_hint(f"{parser.prog} {args.command}"))
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
        except (ValueError, TypeError, OverflowError, OSError, MemoryError, *_CORRUPT_FILE_ERRORS) as exc:
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
