"""fastmlp against an earlier revision of itself: W1 and W2 SGD epochs, the two alternating in fresh processes.

Each round runs one process per revision, in turn (A B A B ...), each timing a few whole epochs after a warm-up;
the report gives each revision's median samples per second and the median and range of the per-round ratios, so
a slow patch of a shared machine hits both sides::

    python -m bench.revisions HEAD~5                  # the working tree against a git revision
    python -m bench.revisions HEAD~5 --rounds 7 --workloads W1

The revision is checked out into a temporary git worktree; each side compiles into its own Numba cache first.
One BLAS thread and one CPU per process, as ``bench.compare`` runs its peers.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

__all__ = ["main"]

ROOT = Path(__file__).resolve().parent.parent

# What one process runs: W1/W2's network, data and plain SGD (as bench.compare's fastmlp peer), a warm-up epoch,
# then the median of `reps` epochs, printed as JSON samples per second.
_CHILD = r"""
import json, statistics, sys, time
import numpy as np
import fastmlp as fm
WORKLOADS = {"W1": ((16, 32, 32, 1), "identity", 32, 65536), "W2": ((784, 256, 128, 10), "softmax", 128, 60000)}
sizes, output, batch, n = WORKLOADS[sys.argv[1]]
reps = int(sys.argv[2])
rng = np.random.default_rng(0)
X = rng.normal(size=(n, sizes[0])).astype(np.float32)
y = rng.integers(0, sizes[-1], size=n) if output == "softmax" else rng.normal(size=n).astype(np.float32)
model = fm.Model(list(sizes), hidden="relu", output=output, dtype="float32", seed=0)
sgd = fm.SGD(lr=1e-3)
model.fit(X, y, epochs=1, batch_size=batch, optimizer=sgd, shuffle=False)
times = []
for _ in range(reps):
    start = time.perf_counter()
    model.fit(X, y, epochs=1, batch_size=batch, optimizer=sgd, shuffle=False)
    times.append(time.perf_counter() - start)
print(json.dumps(n / statistics.median(times)))
"""


def _environment(tree, cache):
    env = dict(os.environ, PYTHONPATH=str(tree), NUMBA_CACHE_DIR=str(cache))
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        env[name] = "1"
    return env


def _run(tree, cache, workload, reps):
    result = subprocess.run(
        [sys.executable, "-c", _CHILD, workload, str(reps)],
        env=_environment(tree, cache),
        cwd=tree,
        capture_output=True,
        text=True,
        check=True,
        preexec_fn=lambda: os.sched_setaffinity(0, {0}) if hasattr(os, "sched_setaffinity") else None,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def compare(reference, workloads=("W1", "W2"), rounds=5, reps=3):
    """Return ``{workload: {"current": [...], "reference": [...]}}``, samples per second per round."""
    with tempfile.TemporaryDirectory(prefix="fastmlp-revisions-") as tmp:
        tmp = Path(tmp)
        old_tree = tmp / "reference"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(old_tree), reference], check=True,
                       capture_output=True)  # fmt: skip
        try:
            sides = {"current": (ROOT, tmp / "cache-current"), "reference": (old_tree, tmp / "cache-reference")}
            results = {w: {side: [] for side in sides} for w in workloads}
            for workload in workloads:
                for tree, cache in sides.values():
                    _run(tree, cache, workload, 1)  # compile into this side's cache outside the timed rounds
                for _ in range(rounds):
                    for side, (tree, cache) in sides.items():
                        results[workload][side].append(_run(tree, cache, workload, reps))
            return results
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(old_tree)], check=False,
                           capture_output=True)  # fmt: skip


def main(argv=None):
    """Run the comparison and print one line per workload."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("reference", help="a git revision to compare the working tree against")
    parser.add_argument("--workloads", nargs="+", default=["W1", "W2"], choices=["W1", "W2"])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--reps", type=int, default=3, help="epochs timed per process (their median counts)")
    args = parser.parse_args(argv)
    results = compare(args.reference, args.workloads, args.rounds, args.reps)
    print(f"working tree vs {args.reference}: SGD epochs, float32, 1 thread, {args.rounds} alternating rounds")
    for workload, sides in results.items():
        ratios = [c / r for c, r in zip(sides["current"], sides["reference"], strict=True)]
        print(
            f"  {workload}: current {statistics.median(sides['current']):,.0f} samples/s, reference "
            f"{statistics.median(sides['reference']):,.0f}; ratio median {statistics.median(ratios):.3f} "
            f"(range {min(ratios):.3f}-{max(ratios):.3f})"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
