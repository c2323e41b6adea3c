"""Backpropagation against finite differences over many random small architectures: the worst error.

Usage: ``python -m bench.gradcheck [--architectures 200] [--seed 0]``

Each architecture has 0-3 hidden layers of width 1-6 with random activations, a random output (identity, sigmoid
or softmax), biases on or off, 1-8 rows, float64. Architectures with a ReLU pre-activation within 1e-4 of the kink
are skipped (a finite difference straddling the kink measures nothing). Prints the worst and median of
``check_gradients``' per-layer error and of its whole-vector error.
"""

import argparse
import sys

import numpy as np

import fastmlp as fm

HIDDEN = ["identity", "sigmoid", "tanh", "relu", "leaky_relu"]
OUTPUTS = ["identity", "sigmoid", "softmax"]


def random_problem(rng):
    """A random small model and data for it."""
    depth = int(rng.integers(0, 4))
    sizes = [int(rng.integers(1, 6))] + [int(w) for w in rng.integers(1, 7, size=depth)] + [int(rng.integers(1, 4))]
    output = str(rng.choice(OUTPUTS))
    if output == "softmax":
        sizes[-1] = max(sizes[-1], 2)
    hidden = [str(h) for h in rng.choice(HIDDEN, size=depth)]
    model = fm.Model(sizes, hidden=hidden, output=output, dtype="float64", seed=int(rng.integers(2**31)),
                     bias=bool(rng.random() < 0.8))  # fmt: skip
    if model.bias:
        for b in model.biases:
            b[...] = rng.normal(scale=0.5, size=b.shape)
    n = int(rng.integers(1, 9))
    X = rng.normal(size=(n, sizes[0]))
    if output == "identity":
        y = rng.normal(size=(n, sizes[-1]))
    elif output == "sigmoid":
        y = (rng.random((n, sizes[-1])) < 0.5).astype(float)
    else:
        y = rng.integers(0, sizes[-1], size=n)
    return model, X, y


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--architectures", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    per_layer, whole, skipped = [], [], 0
    for _ in range(args.architectures):
        model, X, y = random_problem(rng)
        trace = model.forward(X)
        layers = zip(trace.Z, model.activations, strict=True)
        kinks = [np.abs(z).min() for z, act in layers if act in ("relu", "leaky_relu")]
        if min(kinks, default=np.inf) < 1e-4:
            skipped += 1
            continue
        check = fm.check_gradients(model, X, y)
        per_layer.append(check.max_rel_error)
        whole.append(check.rel_error)
    print(
        f"{len(per_layer)} architectures checked ({skipped} skipped at a ReLU kink): per-layer error worst "
        f"{max(per_layer):.2e}, median {np.median(per_layer):.2e}; whole-vector error worst {max(whole):.2e}, "
        f"median {np.median(whole):.2e}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
