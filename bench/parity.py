"""Parity with scikit-learn's MLP on the datasets scikit-learn ships: same hyperparameters, same seeds.

For each dataset, both libraries fit ``StandardScaler() + MLP*(hidden_layer_sizes=(100,), max_iter=200)`` with
the default solver (adam) under 5-fold cross-validation, for several random states. The table gives the mean
cross-validated score (accuracy for classifiers, R^2 for diabetes) with its spread across seeds, and the ratio of
scikit-learn's total fit time to fastmlp's, measured in the same process at the same BLAS thread count.

Usage: ``python -m bench.parity [--seeds 3] [--folds 5] [--threads 1] [--datasets iris digits] [--max-iter 200]``
"""

import argparse
import os
import sys
import time
import warnings


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--datasets", nargs="+", default=None, help="a subset of the datasets (default: all five)")
    parser.add_argument("--max-iter", type=int, default=200)
    args = parser.parse_args(argv)
    os.environ["FASTMLP_BENCH_THREADS"] = str(args.threads)

    import numpy as np
    from sklearn import datasets
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.model_selection import KFold, StratifiedKFold, cross_validate
    from sklearn.neural_network import MLPClassifier as SkClassifier
    from sklearn.neural_network import MLPRegressor as SkRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from threadpoolctl import threadpool_limits

    import fastmlp

    warnings.filterwarnings("ignore", category=ConvergenceWarning)
    loaders = {
        "iris": (datasets.load_iris, True),
        "wine": (datasets.load_wine, True),
        "breast_cancer": (datasets.load_breast_cancer, True),
        "digits": (datasets.load_digits, True),
        "diabetes": (datasets.load_diabetes, False),
    }
    if args.datasets:
        unknown = set(args.datasets) - set(loaders)
        if unknown:
            parser.error(f"unknown datasets {sorted(unknown)}; choose from {sorted(loaders)}")
        loaders = {name: loaders[name] for name in args.datasets}
    # Compile (or load from the cache) fastmlp's float64 kernels before any timing.
    X0, y0 = datasets.load_iris(return_X_y=True)
    fastmlp.MLPClassifier(max_iter=2).fit(X0, y0)
    fastmlp.MLPRegressor(max_iter=2).fit(X0, y0.astype(float))

    rows = []
    with threadpool_limits(args.threads):
        for name, (load, is_classifier) in loaders.items():
            X, y = load(return_X_y=True)
            scores = {"fastmlp": [], "scikit-learn": []}
            seconds = {"fastmlp": 0.0, "scikit-learn": 0.0}
            for seed in range(args.seeds):
                cv = (StratifiedKFold if is_classifier else KFold)(args.folds, shuffle=True, random_state=seed)
                for library in ("fastmlp", "scikit-learn"):
                    if is_classifier:
                        cls = fastmlp.MLPClassifier if library == "fastmlp" else SkClassifier
                    else:
                        cls = fastmlp.MLPRegressor if library == "fastmlp" else SkRegressor
                    estimator = cls(hidden_layer_sizes=(100,), max_iter=args.max_iter, random_state=seed)
                    pipe = make_pipeline(StandardScaler(), estimator)
                    result = cross_validate(pipe, X, y, cv=cv)
                    scores[library].append(result["test_score"].mean())
                    seconds[library] += result["fit_time"].sum()
            rows.append((name, X.shape, scores, seconds))

    print("| dataset | shape | metric | fastmlp | scikit-learn | fit-time ratio (scikit-learn / fastmlp) |")
    print("|---|---|---|---|---|---|")
    for name, shape, scores, seconds in rows:
        metric = "R²" if name == "diabetes" else "accuracy"
        ours, theirs = np.array(scores["fastmlp"]), np.array(scores["scikit-learn"])
        ratio = seconds["scikit-learn"] / seconds["fastmlp"]
        print(
            f"| {name} | {shape[0]}×{shape[1]} | {metric} | {ours.mean():.3f} ± {ours.std():.3f} | "
            f"{theirs.mean():.3f} ± {theirs.std():.3f} | {ratio:.1f}× |"
        )
    print(
        f"\n{args.seeds} seeds × {args.folds}-fold CV, hidden_layer_sizes=(100,), adam, max_iter={args.max_iter}, "
        f"BLAS threads {args.threads}; fastmlp {fastmlp.__version__}, "
        f"scikit-learn {__import__('sklearn').__version__}, numpy {np.__version__}; {time.strftime('%Y-%m-%d')}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
