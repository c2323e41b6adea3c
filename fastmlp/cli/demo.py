"""``fastmlp demo``: train on two generated interleaved spirals, a linear model and an MLP, and compare them.

Notes
-----
The demo needs no data file and shows in seconds that the installation works: a model without hidden layers cannot
separate the spirals, an MLP can. ``--quiet`` prints only the summary line, which the installation tests read.
Progress goes to stderr, as in ``train``: one redrawn line per model on a terminal, a few lines elsewhere.
"""

import contextlib
import sys
import time

import numpy as np

from ..datasets import make_spirals
from ..model import Model
from ..optimizers import SGD
from .common import EXIT_OK, EpochProgress, say

__all__ = ["run_demo"]


def run_demo(args):
    """Run ``fastmlp demo``; return the exit status.

    Trains on two interleaved spirals: a model without hidden layers fails, an MLP succeeds.
    """
    X_train, y_train = make_spirals(args.samples, seed=args.seed)
    X_test, y_test = make_spirals(args.samples // 2, seed=args.seed + 1)
    # Standardise with the training set's statistics, as one would with real data.
    mean, std = X_train.mean(axis=0), X_train.std(axis=0)
    X_train, X_test = (X_train - mean) / std, (X_test - mean) / std
    say(args, f"fastmlp demo: two interleaved spirals, {len(X_train)} training and {len(X_test)} test points\n")

    results = []
    for title, sizes in (("no hidden layer (linear)", [2, 2]), ("MLP 2-64-64-2, relu", [2, 64, 64, 2])):
        model = Model(sizes, hidden="relu", output="softmax", seed=args.seed)
        say(args, f"{title}: {model.n_params} parameters, {args.epochs} epochs of minibatch SGD (batch 8, lr 0.1)")
        # Compile (or load from the on-disk cache) on a throwaway copy, so the time below is training alone.
        model.copy().fit(X_train[:8], y_train[:8], epochs=1)
        # Off a terminal, 4 lines a model (epochs 1, 10, 20, 30, 40 by default): the demo is read, not logged.
        progress = None if args.quiet else EpochProgress(args.epochs, sys.stderr, lines=4)
        start = time.perf_counter()
        with progress or contextlib.nullcontext():
            model.fit(
                X_train, y_train, epochs=args.epochs, batch_size=8, optimizer=SGD(lr=0.1), seed=args.seed,
                callbacks=None if progress is None else [progress],
            )  # fmt: skip
        seconds = time.perf_counter() - start
        accuracy = float(np.mean(model.predict(X_test).argmax(axis=1) == y_test))
        say(args, f"  test accuracy {accuracy:.1%}, training took {seconds:.3f} s\n")
        results.append((title, accuracy, seconds))
    linear, mlp = results
    print(
        f"summary: linear model {linear[1]:.1%}, MLP {mlp[1]:.1%} test accuracy; "
        f"MLP trained {args.epochs} epochs in {mlp[2]:.2f} s"
    )
    return EXIT_OK
