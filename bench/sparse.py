"""fastmlp's sparse first layer against scikit-learn's MLP on a TF-IDF-like matrix: seconds per fit.

A random CSR matrix shaped like a bag of words (rows of a few dozen nonzero, positive, L2-normalised entries), the
same ``MLPClassifier`` parameters for both libraries, one BLAS thread; the two fit in turn (A B A B) over several
rounds and the report gives each one's median and the per-round ratios::

    python -m bench.sparse                                  # 20,000 x 50,000 at 0.1%, 3 rounds
    python -m bench.sparse --rows 5000 --features 20000 --rounds 2
"""

import argparse
import statistics
import time
import warnings

import numpy as np
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

__all__ = ["main", "tfidf_like"]


def tfidf_like(n_rows, n_features, density, n_classes=5, seed=0):
    """A CSR matrix with ``density * n_features`` positive entries per row (L2-normalised) and class labels."""
    rng = np.random.default_rng(seed)
    per_row = max(1, int(round(density * n_features)))
    rows = np.repeat(np.arange(n_rows), per_row)
    cols = rng.integers(0, n_features, size=n_rows * per_row)
    values = rng.exponential(size=n_rows * per_row)
    X = sp.csr_matrix((values, (rows, cols)), shape=(n_rows, n_features))
    X = sp.csr_matrix(X.multiply(1 / np.sqrt(X.multiply(X).sum(axis=1))))
    y = rng.integers(0, n_classes, size=n_rows)
    return X, y


def _fit_seconds(estimator, X, y):
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a few epochs do not converge
        estimator.fit(X, y)
    return time.perf_counter() - start


def main(argv=None):
    """Time the fits and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--features", type=int, default=50_000)
    parser.add_argument("--density", type=float, default=0.001)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)

    from sklearn.neural_network import MLPClassifier as ScikitLearnMLP

    import fastmlp

    X, y = tfidf_like(args.rows, args.features, args.density)
    params = {"hidden_layer_sizes": (100,), "max_iter": args.epochs, "random_state": 0, "tol": 0.0,
              "n_iter_no_change": args.epochs + 1}  # fmt: skip
    times = {"fastmlp": [], "scikit-learn": []}
    with threadpool_limits(1):
        fastmlp.MLPClassifier(**{**params, "max_iter": 1}).fit(X[:100], y[:100])  # compile outside the timing
        for _ in range(args.rounds):
            times["fastmlp"].append(_fit_seconds(fastmlp.MLPClassifier(**params), X, y))
            times["scikit-learn"].append(_fit_seconds(ScikitLearnMLP(**params), X, y))
    ratios = [s / f for s, f in zip(times["scikit-learn"], times["fastmlp"], strict=True)]
    print(f"MLPClassifier(hidden_layer_sizes=(100,), adam) on a {args.rows:,} x {args.features:,} CSR matrix, "
          f"{X.nnz:,} entries ({X.nnz / X.shape[0] / X.shape[1]:.2%}), {args.epochs} epochs, 1 BLAS thread, "
          f"{args.rounds} alternating rounds")  # fmt: skip
    for name, values in times.items():
        print(f"  {name:13s} {statistics.median(values):8.2f} s per fit (range {min(values):.2f}-{max(values):.2f})")
    spread = f"range {min(ratios):.1f}-{max(ratios):.1f}"
    print(f"  scikit-learn / fastmlp: median {statistics.median(ratios):.1f}x ({spread})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
