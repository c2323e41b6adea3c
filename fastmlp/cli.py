"""The ``fastmlp`` command line (also ``python -m fastmlp``)."""

import argparse
import sys
import time

import numpy as np


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
        model.fit(X_train, y_train, epochs=args.epochs, batch_size=8, optimizer=SGD(lr=0.1), seed=args.seed, verbose=not args.quiet)
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


def build_parser():
    """Return the argument parser of the ``fastmlp`` command."""
    parser = argparse.ArgumentParser(prog="fastmlp", description="A small, fast multi-layer perceptron.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    demo = commands.add_parser("demo", help="train on a generated two-spirals problem and report accuracy and time")
    demo.add_argument("--epochs", type=int, default=40, help="training epochs (default: 40)")
    demo.add_argument("--samples", type=int, default=2000, help="training points (default: 2000)")
    demo.add_argument("--seed", type=int, default=0, help="seed for data, weights and shuffling (default: 0)")
    demo.add_argument("--quiet", action="store_true", help="print only the summary line")
    demo.set_defaults(handler=_demo)
    return parser


def main(argv=None):
    """Run the command line; return the process exit code (0 success, 2 usage error, 1 bad data)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    if getattr(args, "epochs", 1) < 1 or getattr(args, "samples", 4) < 4:
        parser.error("--epochs must be >= 1 and --samples >= 4")
    try:
        return args.handler(args)
    except (ValueError, TypeError) as exc:
        print(f"fastmlp: error: {exc}", file=sys.stderr)
        return 1
