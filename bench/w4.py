"""W4, the small full-batch workload: ms per epoch, and the share of it in the hidden activations.

A 4-32-16-4 network (tanh, sigmoid or relu hidden layers, identity output, mse: ``--output`` softmax or sigmoid
for four classes or four labels instead), 10,000 rows of float32, Adam,
one batch of all 10,000 rows per epoch, no shuffling. Each process trains a warm-up epoch, then ``--epochs``
epochs; the figure is the median of their compiled epoch times (``History.seconds``). It also times the hidden
layers' activation passes alone (``add_bias_and_activate`` on the 10,000 x 32 and 10,000 x 16 blocks, then
``multiply_by_derivative`` on both, in a compiled loop): the part of the epoch they account for. An epoch with
``--hidden identity`` (no activation at all: the bias only) gives the rest of the epoch directly.

With ``--against REV`` the working tree and a git revision run alternately in fresh processes (A B A B ...), each
with its own Numba cache and one CPU and one BLAS thread, so that a slow stretch of a shared machine hits both.
With ``--threads N`` the working tree runs alternately on 1 thread (one CPU) and on N threads (the first N CPUs,
fastmlp's row chunks and the BLAS both set to N), and the per-round speed-up is printed::

    python -m bench.w4                                   # the working tree
    python -m bench.w4 --against HEAD~8 --rounds 7       # against an earlier revision
    python -m bench.w4 --threads 2 --hidden tanh sigmoid --rounds 7   # 2 threads against 1
    python -m bench.w4 --output softmax --hidden tanh --against HEAD~1  # a classifier's epoch
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

__all__ = ["main", "run"]

ROOT = Path(__file__).resolve().parent.parent

# One process: the W4 epochs, then the activation passes alone. Prints JSON.
_CHILD = r"""
import json, statistics, sys, time
import numpy as np
from numba import njit
import fastmlp as fm
from fastmlp._jit import activations as act

hidden, epochs, dtype, output = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
rng = np.random.default_rng(0)
X = rng.normal(size=(10_000, 4)).astype(dtype)
y = rng.normal(size=(10_000, 4)).astype(dtype)
if output == "softmax":  # four classes, from the same draws
    y = y.argmax(axis=1)
elif output == "sigmoid":  # four labels
    y = (y > 0).astype(dtype)
model = fm.Model([4, 32, 16, 4], hidden=hidden, output=output, dtype=dtype, seed=0)
adam = fm.Adam()
model.fit(X, y, epochs=2, batch_size=10_000, optimizer=adam, shuffle=False)
start = time.perf_counter()
history = model.fit(X, y, epochs=epochs, batch_size=10_000, optimizer=adam, shuffle=False)
wall = (time.perf_counter() - start) / epochs

@njit
def passes(reps, code, use_bias, b1, Z1, A1, E1, b2, Z2, A2, E2):  # use_bias from Python: no Literal[bool] version
    for r in range(reps):
        if r % 16 == 0:  # keep the deltas far from the subnormals
            E1[:, :] = 1.0
            E2[:, :] = 1.0
        act.add_bias_and_activate(code, use_bias, b1, Z1, A1)
        act.add_bias_and_activate(code, use_bias, b2, Z2, A2)
        act.multiply_by_derivative(code, Z2, A2, E2)
        act.multiply_by_derivative(code, Z1, A1, E1)

code = {"tanh": act.ACT_TANH, "sigmoid": act.ACT_SIGMOID, "relu": act.ACT_RELU, "identity": act.ACT_IDENTITY}[hidden]
blocks = []
for width in (32, 16):
    Z = (rng.normal(size=(10_000, width)) * 0.5).astype(dtype)
    blocks += [np.zeros(width, dtype), Z, np.empty_like(Z), np.empty_like(Z)]
passes(1, code, True, *blocks)
times = []
for _ in range(5):
    t = time.perf_counter()
    passes(20, code, True, *blocks)
    times.append((time.perf_counter() - t) / 20)
print(json.dumps({"epoch": statistics.median(history.seconds), "wall": wall, "activation": statistics.median(times)}))
"""


def _environment(tree, cache, threads=1):
    env = dict(os.environ, PYTHONPATH=str(tree), NUMBA_CACHE_DIR=str(cache))
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "FASTMLP_NUM_THREADS"):
        env[name] = str(threads)
    return env


def run(tree, cache, hidden, epochs, dtype="float32", cpu=None, threads=1, output="identity"):
    """One fresh process on ``tree``: ``{"epoch": s, "wall": s, "activation": s}`` (medians, seconds).

    ``threads`` sets fastmlp's and the BLAS's thread counts; with more than 1 (and no ``cpu``) the process is
    pinned to the first ``threads`` CPUs it may use.
    """
    cpus = {cpu} if cpu is not None else None
    if cpus is None and threads > 1 and hasattr(os, "sched_getaffinity"):
        cpus = set(sorted(os.sched_getaffinity(0))[:threads])

    def pin():
        if cpus and hasattr(os, "sched_setaffinity"):
            os.sched_setaffinity(0, cpus)

    result = subprocess.run(
        [sys.executable, "-c", _CHILD, hidden, str(epochs), dtype, output],
        env=_environment(tree, cache, threads), cwd=tree, capture_output=True, text=True, check=True,
        preexec_fn=pin if cpus else None,  # none unless pinning: a preexec_fn makes subprocess fork this process
    )  # fmt: skip
    return json.loads(result.stdout.strip().splitlines()[-1])


def _summary(values):
    median = statistics.median(values)
    return f"{1e3 * median:.3f} ms (range {1e3 * min(values):.3f}-{1e3 * max(values):.3f})"


def main(argv=None):
    """Run and print one line per activation."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--against", help="a git revision to compare the working tree with")
    parser.add_argument("--hidden", nargs="+", default=["tanh", "sigmoid", "relu", "identity"])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=100, help="epochs per process (their median counts)")
    parser.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    parser.add_argument("--output", default="identity", choices=["identity", "softmax", "sigmoid"])
    parser.add_argument("--cpu", type=int, default=None, help="pin every process to this CPU")
    parser.add_argument("--threads", type=int, default=None, help="alternate 1 thread and this many")
    args = parser.parse_args(argv)
    if args.threads is not None and (args.against or args.threads < 2):
        parser.error("--threads takes a count >= 2, and not together with --against")
    with tempfile.TemporaryDirectory(prefix="fastmlp-w4-") as tmp:
        tmp = Path(tmp)
        sides = {"current": (ROOT, tmp / "cache-current", 1)}
        if args.threads:
            sides = {"1 thread": (ROOT, tmp / "cache-current", 1),
                     f"{args.threads} threads": (ROOT, tmp / "cache-current", args.threads)}  # fmt: skip
        if args.against:
            old = tmp / "reference"
            subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(old), args.against],
                           check=True, capture_output=True)  # fmt: skip
            sides["reference"] = (old, tmp / "cache-reference", 1)
        try:
            print(f"W4 (4-32-16-4, 10,000 rows, {args.dtype}, {args.output} output, Adam, full batch): medians over "
                  f"{args.rounds} "
                  f"alternating processes of each one's median epoch, {args.epochs} epochs each")  # fmt: skip
            for hidden in args.hidden:
                results = {side: [] for side in sides}
                for tree, cache, threads in sides.values():
                    run(tree, cache, hidden, 2, args.dtype, args.cpu, threads, args.output)  # fill this side's cache
                for _ in range(args.rounds):
                    for side, (tree, cache, threads) in sides.items():
                        results[side].append(
                            run(tree, cache, hidden, args.epochs, args.dtype, args.cpu, threads, args.output)
                        )
                for side, rows in results.items():
                    epoch = [r["epoch"] for r in rows]
                    activation = [r["activation"] for r in rows]
                    share = statistics.median(activation) / statistics.median(epoch)
                    print(f"  {hidden:8s} {side:10s}: epoch {_summary(epoch)}; wall per epoch "
                          f"{_summary([r['wall'] for r in rows])}; activation passes {_summary(activation)}, "
                          f"{100 * share:.0f}% of the epoch")  # fmt: skip
                if args.threads:
                    one, many = results.values()
                    ratios = [a["wall"] / b["wall"] for a, b in zip(one, many, strict=True)]
                    print(f"  {hidden:8s} {args.threads} threads' speed-up over 1, wall per epoch: median "
                          f"{statistics.median(ratios):.2f} (range {min(ratios):.2f}-{max(ratios):.2f})")  # fmt: skip
                if "reference" in results:
                    ratios = [c["epoch"] / r["epoch"] for c, r in zip(results["current"], results["reference"],
                                                                       strict=True)]  # fmt: skip
                    print(f"  {hidden:8s} current / reference epoch: median {statistics.median(ratios):.3f} "
                          f"(range {min(ratios):.3f}-{max(ratios):.3f})")  # fmt: skip
        finally:
            if args.against:
                subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(old)], check=False,
                               capture_output=True)  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
