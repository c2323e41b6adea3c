"""The ``fastmlp`` argument parser, and the argument types that check each option's text.

Notes
-----
An argument type raises :class:`argparse.ArgumentTypeError`, which argparse reports as a usage error (exit
status 2) naming the option. :class:`Parser` reports every usage error as one line on stderr,
``fastmlp: error: ... (see: fastmlp COMMAND --help)``, the form of the commands' own usage errors.
"""

import argparse
import functools
import itertools
import os
import sys

from .._modelfile import MAX_PARAMS
from .._validation import (
    DTYPES,
    HIDDEN_ACTIVATIONS,
    OUTPUT_ACTIVATIONS,
    check_fraction,
    check_hidden,
    check_int,
    check_positive_float,
)
from .._version import __version__
from ..optimizers import OPTIMIZERS
from .data import READ_CHUNK_ROWS
from .demo import run_demo
from .info import run_info
from .predict import run_predict
from .train import run_train

__all__ = ["Parser", "build_parser", "usage_hint"]

_HIDDEN_NAMES = ", ".join(HIDDEN_ACTIVATIONS)

MAX_EPOCHS = 10**9
"""The most ``--epochs`` the commands accept: more would never finish (and the model is saved only at the end)."""
MAX_DEMO_SAMPLES = 10**7
"""The most ``demo --samples``: the demo is a seconds-long check of the installation, not a benchmark."""


def usage_hint(prog):
    """The end of every usage error line: where to read the usage of ``prog`` (``"fastmlp"``, ``"fastmlp train"``)."""
    return f"(see: {prog} --help)"


class Parser(argparse.ArgumentParser):
    """An :class:`argparse.ArgumentParser` whose usage errors are one ``fastmlp: error:`` line and exit status 2.

    argparse prints a usage block and ``PROG: error: ...``; the command line promises one line on stderr, which a
    script can log or match, with a pointer to ``--help`` instead of the block. The sub-command parsers are of this
    class too (``add_subparsers`` uses the parent's class).
    """

    command_parsers = {}
    """The sub-command parsers by name (set by :func:`build_parser`), to which unrecognised arguments are reported."""

    def parse_args(self, args=None, namespace=None):
        """Parse like argparse, but report unrecognised arguments with the usage hint of the command they follow."""
        namespace, extras = self.parse_known_args(args, namespace)
        if extras:
            parser = self.command_parsers.get(getattr(namespace, "command", None), self)
            parser.error(f"unrecognized arguments: {' '.join(extras)}")
        return namespace

    def error(self, message):
        """Print ``fastmlp: error: MESSAGE (see: PROG --help)`` to stderr and exit with status 2."""
        message = " ".join(message.split())
        sys.stderr.write(f"fastmlp: error: {message} {usage_hint(self.prog)}\n")
        sys.exit(2)


# ---------------------------------------------------------------------------------------------------------------
# Argument types (argparse turns their ArgumentTypeError into a usage error, exit status 2)


def _number(convert, check, expected):
    """An argument type: ``convert`` the text (``int`` or ``float``), then let the library's ``check`` judge it."""

    def parse(text):
        try:
            # The checks' own messages name a Python parameter; the option's name comes from argparse.
            return check(convert(text), "value")
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None

    return parse


def _int_at_least(minimum):
    return _number(int, functools.partial(check_int, minimum=minimum), f"an integer >= {minimum}")


def _int_in(minimum, maximum):
    def check(value, name):
        value = check_int(value, name, minimum)
        if value > maximum:
            raise ValueError(f"{name} must be at most {maximum}")
        return value

    return _number(int, check, f"an integer in [{minimum}, {maximum}]")


_positive_float = _number(float, check_positive_float, "a finite number > 0")
_fraction = _number(float, functools.partial(check_fraction, low_open=True), "a number in (0, 1)")


def _layers(text):
    """``"64,32"`` -> [64, 32]; ``""`` or ``"none"`` -> [] (no hidden layer).

    Widths whose weights alone would not fit in a model file (:data:`~fastmlp._modelfile.MAX_PARAMS`) are refused
    here, before any data is read or memory allocated; :func:`~fastmlp.cli.train.run_train` checks the whole model
    once it knows the number of features.
    """
    if text.strip().lower() in ("", "none"):
        return []
    widths = []
    for part in text.split(","):
        try:
            width = int(part)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected comma-separated widths such as 64,64, got {text!r}") from None
        if not 1 <= width <= MAX_PARAMS:
            raise argparse.ArgumentTypeError(f"layer widths must be between 1 and {MAX_PARAMS:,}, got {width}")
        widths.append(width)
    if widths:  # the fewest parameters these widths give: with 1 feature and 1 output (Python ints: no overflow)
        n_params = sum(a * b + b for a, b in itertools.pairwise([1, *widths, 1]))
        if n_params > MAX_PARAMS:
            raise argparse.ArgumentTypeError(
                f"widths {text} give at least {n_params:,} parameters; a model file holds at most {MAX_PARAMS:,}"
            )
    return widths


def _activations(text):
    """``"relu,logistic"`` -> ["relu", "sigmoid"]: canonical names, the library resolving aliases."""
    activations = []
    for name in (part.strip().lower() for part in text.split(",")):
        try:
            activations.append(check_hidden(name, 1)[0])
        except ValueError:
            raise argparse.ArgumentTypeError(f"unknown activation {name!r}; choose from {_HIDDEN_NAMES}") from None
    return activations


def _prediction_path(text):
    if os.path.splitext(text)[1].lower() not in (".npy", ".csv"):
        raise argparse.ArgumentTypeError(f"the output must be a .npy or .csv file, got {text!r}")
    return text


def _add_output_options(parser):
    group = parser.add_mutually_exclusive_group()
    group.add_argument("-q", "--quiet", action="store_true", help="print nothing but errors")
    group.add_argument("--progress", action="store_true", help="show progress even when not on a terminal")


def build_parser():
    """Return the argument parser of the ``fastmlp`` command."""
    parser = Parser(
        prog="fastmlp",
        description="A small, fast multi-layer perceptron.",
        epilog="Exit status: 0 success, 1 bad data or files, 2 usage error, 128+N after signal N.",
    )
    parser.add_argument("--version", action="version", version=f"fastmlp {__version__}")
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
        help=f"hidden activation, or one per hidden layer comma-separated: {_HIDDEN_NAMES} "
             "(default: relu)")  # fmt: skip
    add("--output", choices=["auto", *OUTPUT_ACTIVATIONS], default="auto",
        help="output activation and loss (default: auto, chosen from the targets)")  # fmt: skip
    add("--dtype", choices=list(DTYPES), default="float32", help="(default: float32)")
    add("--epochs", type=_int_in(1, MAX_EPOCHS), default=10, metavar="N", help="(default: 10)")
    add("--batch-size", type=_int_at_least(1), default=32, metavar="N", help="(default: 32)")
    add("--optimizer", choices=list(OPTIMIZERS), default="adam", help="(default: adam)")
    default_lr = {name: optimizer().lr for name, optimizer in OPTIMIZERS.items()}
    add("--lr", type=_positive_float, metavar="RATE",
        help=f"learning rate (default: {default_lr['sgd']:g} for sgd, {default_lr['adam']:g} for adam)")  # fmt: skip
    add("--seed", type=_int_at_least(0), default=0, metavar="N", help="seed of weights and shuffling (default: 0)")
    add("--validation-fraction", type=_fraction, metavar="F", help="hold out this fraction of the rows")
    add("--standardize", action="store_true",
        help="scale each feature to mean 0 and standard deviation 1 (stored in the model file, applied by "
             "predict)")  # fmt: skip
    _add_output_options(train)
    train.set_defaults(handler=run_train)

    predict = commands.add_parser("predict", help="apply a saved model to a .csv, .npy or .npz file, in chunks")
    add = predict.add_argument
    add("model", metavar="MODEL", help="a model file written by fastmlp train or Model.save")
    add("input", metavar="INPUT", help="inputs: .csv (with a header row), .npy (memory-mapped) or .npz")
    add("--out", required=True, type=_prediction_path, metavar="OUT", help="where to write the outputs: .npy or .csv")
    add("--chunk-size", type=_int_at_least(1), default=READ_CHUNK_ROWS, metavar="ROWS",
        help=f"rows read and predicted at a time (default: {READ_CHUNK_ROWS})")  # fmt: skip
    add("--x-key", default="X", metavar="NAME", help="name of the inputs in .npz data (default: X)")
    add("--labels", action="store_true", help="write class labels instead of probabilities (classifiers)")
    _add_output_options(predict)
    predict.set_defaults(handler=run_predict)

    info = commands.add_parser("info", help="describe a model file, or without one this installation")
    info.add_argument("model", metavar="MODEL", nargs="?", default=None,
                      help="a model file; without one, the versions, the BLAS and its threads are shown")  # fmt: skip
    info.add_argument("--json", action="store_true", help="print the file's header (or the installation) as JSON")
    info.set_defaults(handler=run_info, quiet=False)

    demo = commands.add_parser("demo", help="train on a generated two-spirals problem and report accuracy and time")
    demo.add_argument("--epochs", type=_int_in(1, MAX_EPOCHS), default=40, help="training epochs (default: 40)")
    demo.add_argument(
        "--samples", type=_int_in(4, MAX_DEMO_SAMPLES), default=2000, help="training points (default: 2000)"
    )
    demo.add_argument(
        "--seed", type=_int_at_least(0), default=0, help="seed for data, weights and shuffling (default: 0)"
    )
    demo.add_argument("-q", "--quiet", action="store_true", help="print only the summary line")
    demo.set_defaults(handler=run_demo)
    parser.command_parsers = commands.choices
    return parser
