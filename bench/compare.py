"""fastmlp side by side with PyTorch, JAX, scikit-learn and plain NumPy on the benchmark workloads, and the BLAS floor.

Every (implementation, workload, thread count, round) runs in its own subprocess, with the thread count pinned
through the environment before anything is imported (OMP/OpenBLAS/MKL/Numba/fastmlp variables,
``torch.set_num_threads``, XLA flags for JAX) and through the CPU affinity (the first N CPUs; JAX sizes its pool by
the CPUs it may use and ignores the variables), and reports JSON. The implementations of a workload take turns,
round after round (fastmlp, PyTorch, ..., fastmlp, PyTorch, ...), so that a slow stretch of a shared machine hits
them all; within a process each hidden activation of the workload is timed in turn (the order rotating from round to
round). A round's figure is the median of its repetitions after a warm-up (JIT compilation, tracing), so no compile
time is counted except in C1's empty-cache variant, which is what it measures. The table shows the median over the
rounds, and each speed-up is the median of the per-round ratios with their range (min-max)::

    python -m bench.compare                                  # everything, 1 and 2 threads (~20-25 min on 2 cores)
    python -m bench.compare --threads 1 --workloads W1 P1    # a subset
    python -m bench.compare --workloads W4 --activations tanh sigmoid --rounds 5
    python -m bench.compare --workloads W1-tanh W2           # one activation of a workload, or all three
    python -m bench.compare --peers fastmlp numpy --quick    # tiny data, one repetition, one round: a smoke run
    python -m bench.compare --out results/                   # compare.md, compare.json, compare.png there
    python -m bench.compare --render results/compare.json --out results/   # re-render a run, measuring nothing

Options: ``--workloads`` (W1 W2 W3 W4 P1 P2 C1, or a workload with one activation such as ``W1-tanh``; default
all), ``--activations`` (the hidden activations of W1, W2 and W4: relu tanh sigmoid, the default), ``--rounds``
(processes per implementation and workload, alternating; default 3, 1 with ``--quick``), ``--threads`` (default
1 2), ``--peers`` (fastmlp torch jax-step jax-scan sklearn numpy, or ``jax`` for both JAX variants), ``--quick``
(tiny data, one repetition: checks that everything runs, measures nothing).

Workloads (``bench/workloads.py``): W1 (16-32-32-1, mse, batch 32, 65,536 rows), W2 (784-256-128-10, softmax, batch
128, 60,000 rows) and W3 (1024-2048-2048-10, softmax, batch 512, on its first 2,048 rows) train one epoch of plain
SGD (samples/s). W4 (4-32-16-4, mse, 10,000 rows) trains with Adam (lr 1e-3, betas 0.9/0.999, eps 1e-8) on the whole
data set at once, one step per epoch, several epochs per timed call (JAX scan: all of them in one ``lax.scan``;
fastmlp: one ``Model.fit``; JAX jit, PyTorch and NumPy: a Python loop of steps), each call from a fresh Adam state,
reported in ms per epoch. W1, W2 and W4 run with relu, tanh and sigmoid hidden layers (rows ``W1``, ``W1-tanh``,
``W1-sigmoid``: a bare id is relu), the others with relu. P1 is one-row predict latency on W2's net (µs, median of
single calls) against, among others, the few-line NumPy forward (three products and the activations); P2 predicts
100,000 rows (rows/s); C1 is a fresh process's import + build W2's net + predict one row (s, median of fresh
processes; fastmlp with a warm and an empty NUMBA_CACHE_DIR). The floor is NumPy's float32 GEMM at the workload's
shapes, timed in its own process at the same thread count: "exact" adds up the measured time of each GEMM a step
needs (forward and dW of every layer, the delta of every layer but the first), "design" is 6·batch·Σ n_in·n_out
flops (two per multiply-add, three products per layer) at the best rate measured among those shapes. Missing peers
are skipped with a note; so is scikit-learn on W4 (its Adam is a different update).
"""

import argparse
import datetime
import functools
import importlib.metadata
import importlib.util
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from .peers import IMPLEMENTATIONS, SGD_LR, UNSUPPORTED
from .workloads import ACTIVATIONS, ADAM, WORKLOADS

ALL_WORKLOADS = ("W1", "W2", "W3", "W4", "P1", "P2", "C1")
TRAINING = ("W1", "W2", "W3", "W4")
ACTIVATED = ("W1", "W2", "W4")  # run with every hidden activation; the others with relu
PEER_ORDER = ("fastmlp", "torch", "jax-step", "jax-scan", "sklearn", "numpy")
LABELS = {
    "fastmlp": "fastmlp",
    "torch": "PyTorch",
    "jax-step": "JAX jit",
    "jax-scan": "JAX scan",
    "sklearn": "sklearn",
    "numpy": "NumPy",
}
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS",
               "FASTMLP_NUM_THREADS", "FASTMLP_BENCH_THREADS", "VECLIB_MAXIMUM_THREADS")  # fmt: skip
RESULT_TAG = "COMPARE_RESULT "
P2_FLOOR_ROWS = 4096  # fastmlp.model.DEFAULT_CHUNK_ROWS: the rows of each GEMM of a chunked predict
LR = SGD_LR

# Sizes of the two profiles: rows per workload, repetitions per process, time budgets, rounds.
PROFILES = {
    "full": {
        "rows": {"W1": 65_536, "W2": 60_000, "W3": 2_048, "W4": 10_000},
        "p2_rows": 100_000,
        "w4_epochs": 50,
        "rounds": 3,
        "min_reps": 2,
        "max_reps": 7,
        "budget_s": 1.0,
        "p1_calls": 3000,
        "p1_budget_s": 1.0,
        "c1_reps": 2,
        "c1_empty_reps": 1,
        "floor_reps": 7,
    },
    "quick": {
        "rows": {"W1": 2_048, "W2": 512, "W3": 512, "W4": 2_000},
        "p2_rows": 2_000,
        "w4_epochs": 3,
        "rounds": 1,
        "min_reps": 1,
        "max_reps": 1,
        "budget_s": 0.0,
        "p1_calls": 200,
        "p1_budget_s": 0.2,
        "c1_reps": 1,
        "c1_empty_reps": 1,
        "floor_reps": 2,
    },
}

# Targets, as speed-ups of fastmlp (peer time / fastmlp time) or fractions of the exact floor:
# (workload, its activations the target holds for (None: all), peer or "floor", goal, what it says).
TARGETS = [
    ("W1", None, "jax-scan", 2.5, "≥ 2.5× JAX whole-epoch scan"),
    ("W1", None, "torch", 20.0, "≥ 20× PyTorch eager"),
    ("W2", None, "jax-scan", 1.05, "≥ 1.05× JAX whole-epoch scan"),
    ("W2", None, "torch", 1.3, "≥ 1.3× PyTorch eager"),
    ("W2", ("relu",), "floor", 0.75, "≥ 0.75 of the exact floor"),
    ("W3", None, "torch", 1.05, "≥ 1.05× PyTorch eager"),
    ("W3", None, "floor", 0.85, "≥ 0.85 of the exact floor"),
    ("W4", ("tanh", "sigmoid"), "jax-scan", 1.5, "≥ 1.5× JAX lax.scan per epoch"),
    ("W4", ("tanh", "sigmoid"), "torch", 5.0, "≥ 5× PyTorch per epoch"),
    ("P1", None, "numpy", 1 / 0.6, "latency ≤ 0.6× the NumPy forward's"),
    ("P1", None, "torch", 4.0, "latency ≤ 0.25× PyTorch's"),
    ("P2", None, "torch", 1.2, "≥ 1.2× PyTorch"),
    ("P2", None, "floor", 0.85, "≥ 0.85 of the floor"),
    ("C1 warm", None, "torch", 2.5, "warm cache ≤ 0.4× PyTorch's time"),
    ("C1 empty", None, "torch", 0.5, "empty cache ≤ 2× PyTorch's time"),
]


def row_id(workload, hidden):
    """The table row of ``workload`` with ``hidden`` activations: ``W1`` for relu, ``W1-tanh`` otherwise."""
    return workload if hidden == "relu" else f"{workload}-{hidden}"


def split_row(row):
    """``(workload, hidden)`` of a table row: ``("W1", "tanh")`` for ``"W1-tanh"``, ``("C1", "relu")`` for C1's."""
    base, _, hidden = row.partition("-")
    return base.split(" ")[0], hidden or "relu"


# =================================================================================================== the worker


def _cpu_seconds():
    """CPU time of this process, all its threads: divided by wall time it shows how many cores a library used."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _repeat(fn, min_reps, max_reps, budget_s):
    """Seconds of each call of ``fn``, and the CPU seconds per wall second over them.

    ``min_reps`` calls unless they take over 4 budgets, more while within ``budget_s``, up to ``max_reps``.
    """
    times, spent = [], 0.0
    cpu = _cpu_seconds()
    # Past 4 budgets (a slow peer, or a machine busy with other work) one repetition is enough.
    while not times or (
        len(times) < max_reps and (spent < budget_s or (len(times) < min_reps and spent < 4 * budget_s))
    ):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
        spent += times[-1]
    return times, (_cpu_seconds() - cpu) / max(spent, 1e-9)


@functools.cache
def _data(workload, n):
    """The workload's data, drawn once per process (W2's takes a while) for all its activations."""
    from .workloads import make_data

    return make_data(workload, n)


def _train_one(workload, hidden, impl, prof):
    """One activation of a training workload in this process: warm-up, then the timed calls."""
    from . import peers

    spec = peers.spec_for(workload, hidden)
    n = prof["rows"][workload]
    X, y = _data(workload, n)
    full_batch = spec.batch >= n
    epochs = prof["w4_epochs"] if full_batch else 1  # one step per epoch: several epochs per call, as a scan runs
    run = peers.TRAINERS[impl](spec, X, y, peers.initial_params(spec), epochs)
    compiled = []

    def call():
        history = run()
        if hasattr(history, "seconds"):  # fastmlp: the epochs' time inside the compiled calls, fit's work aside
            compiled.extend(history.seconds)

    call()  # warm-up: compilation, tracing, caches
    compiled.clear()
    times, cores = _repeat(call, prof["min_reps"], prof["max_reps"], prof["budget_s"])
    median = statistics.median(times)
    result = {"seconds": times, "rows": n, "epochs_per_call": epochs, "cpu_per_wall": cores}
    if full_batch:
        result.update(value=median / epochs * 1e3, unit="ms/epoch", higher_is_better=False)
    else:
        result.update(value=n / median, unit="samples/s", higher_is_better=True)
    if compiled and full_batch:
        result["compiled_epoch_ms"] = statistics.median(compiled) * 1e3
    return result


def _worker_train(job, prof):
    out = {}
    for hidden in job["activations"]:
        try:
            out[hidden] = _train_one(job["workload"], hidden, job["impl"], prof)
        except Exception as exc:  # one activation failing leaves the others' figures
            out[hidden] = {"error": f"{type(exc).__name__}: {exc}"}
    return {"by_activation": out}


def _worker_p1(job, prof):
    from . import peers
    from .workloads import make_data

    spec = peers.spec_for("P1")
    X, _ = make_data("W2", 1)
    predict = peers.PREDICTORS[job["impl"]](spec, peers.initial_params(spec), X)
    for _ in range(50):  # warm-up
        predict()
    times, spent = [], 0.0
    clock = time.perf_counter
    cpu = _cpu_seconds()
    while len(times) < prof["p1_calls"] and (len(times) < 20 or spent < prof["p1_budget_s"]):
        start = clock()
        predict()
        times.append(clock() - start)
        spent += times[-1]
    cores = (_cpu_seconds() - cpu) / max(spent, 1e-9)
    median = statistics.median(times)
    return {"value": median * 1e6, "unit": "µs", "higher_is_better": False, "calls": len(times),
            "p10_us": sorted(times)[len(times) // 10] * 1e6, "cpu_per_wall": cores}  # fmt: skip


def _worker_p2(job, prof):
    from . import peers
    from .workloads import make_data

    spec = peers.spec_for("P2")
    n = prof["p2_rows"]
    X, _ = make_data("W2", n)
    predict = peers.PREDICTORS[job["impl"]](spec, peers.initial_params(spec), X)
    predict()  # warm-up
    times, cores = _repeat(predict, prof["min_reps"], prof["max_reps"], prof["budget_s"])
    return {"value": n / statistics.median(times), "unit": "rows/s", "higher_is_better": True, "seconds": times,
            "rows": n, "cpu_per_wall": cores}  # fmt: skip


def _gemm_seconds(np, m, k, n, kind, reps):
    """Median seconds of one float32 GEMM: "fwd" (m×k)@(k×n), "dW" (m×k)ᵀ@(m×n), "delta" (m×n)@(k×n)ᵀ."""
    rng = np.random.default_rng(0)
    A = rng.normal(size=(m, k)).astype(np.float32)
    W = rng.normal(size=(k, n)).astype(np.float32)
    D = rng.normal(size=(m, n)).astype(np.float32)
    if kind == "fwd":
        a, b, out = A, W, np.empty((m, n), np.float32)
    elif kind == "dW":
        a, b, out = A.T, D, np.empty((k, n), np.float32)
    else:
        a, b, out = D, W.T, np.empty((m, k), np.float32)
    np.matmul(a, b, out=out)
    start = time.perf_counter()
    np.matmul(a, b, out=out)
    one = max(time.perf_counter() - start, 1e-7)
    inner = max(1, int(0.01 / one))  # about 10 ms per sample
    samples = []
    for _ in range(reps):
        start = time.perf_counter()
        for _ in range(inner):
            np.matmul(a, b, out=out)
        samples.append((time.perf_counter() - start) / inner)
    return statistics.median(samples)


def _worker_floor(job, prof):
    """NumPy float32 GEMM rates at each workload's shapes and the floors they give."""
    import numpy as np

    from . import peers

    reps = prof["floor_reps"]
    out = {}
    for workload in job["workloads"]:
        if workload == "C1":
            continue
        spec = peers.spec_for(workload)
        if workload in TRAINING:
            m = min(spec.batch, prof["rows"][workload])  # W4's batch is all its rows
        else:
            m = {"P1": 1, "P2": P2_FLOOR_ROWS}[workload]
        kinds = ("fwd",) if workload in ("P1", "P2") else ("fwd", "dW", "delta")
        gemms, exact_s, exact_flops, best = [], 0.0, 0, 0.0
        for layer, (k, n) in enumerate(zip(spec.sizes[:-1], spec.sizes[1:], strict=True)):
            for kind in kinds:
                seconds = _gemm_seconds(np, m, k, n, kind, reps)
                flops = 2 * m * k * n
                rate = flops / seconds
                best = max(best, rate)
                needed = not (kind == "delta" and layer == 0)  # the input layer's delta is never needed
                gemms.append({"layer": layer, "kind": kind, "shape": [m, k, n], "seconds": seconds,
                              "gflops": rate / 1e9, "needed": needed})  # fmt: skip
                if needed:
                    exact_s += seconds
                    exact_flops += flops
        design_flops = (2 * len(kinds)) * m * sum(a * b for a, b in zip(spec.sizes[:-1], spec.sizes[1:], strict=True))
        entry = {
            "rows_per_step": m,
            "gemms": gemms,
            "best_gflops": best / 1e9,
            "exact_flops": exact_flops,
            "design_flops": design_flops,
            # per second: samples (training) or rows (P2); P1 is a latency in µs, W4 a time per epoch in ms
            "exact": m / exact_s,
            "exact_at_best_rate": m / (exact_flops / best),
            "design": m / (design_flops / best),
        }
        if workload == "P1":
            entry.update(exact=exact_s * 1e6, exact_at_best_rate=exact_flops / best * 1e6,
                         design=design_flops / best * 1e6)  # fmt: skip
        elif workload == "W4":  # one step per epoch
            entry.update(exact=exact_s * 1e3, exact_at_best_rate=exact_flops / best * 1e3,
                         design=design_flops / best * 1e3)  # fmt: skip
        out[workload] = entry
    return {"floors": out, "numpy": np.__version__}


def _blas_entry(info):
    return {"library": info.get("internal_api"), "version": info.get("version"), "path": info.get("filepath"),
            "architecture": info.get("architecture"), "threading_layer": info.get("threading_layer")}  # fmt: skip


def _under(path, module):
    """Whether a library file lies in ``module``'s package folder or its wheel's ``<name>.libs`` folder beside it."""
    root = os.path.dirname(module.__file__)
    return bool(path) and os.path.abspath(path).startswith((root + os.sep, root + ".libs" + os.sep))


def _worker_blas(job, prof):
    """The BLAS fastmlp's kernels call and NumPy's (the floor's).

    ``fastmlp.blas_info()`` where the library has it; otherwise the BLAS that SciPy loads (Numba's ``np.dot``
    calls SciPy's), as threadpoolctl finds it.
    """
    import numpy
    import scipy

    out = {}
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        threadpool_info = None
    scipy_libs = []
    if threadpool_info is not None:
        before = [i for i in threadpool_info() if i.get("user_api") == "blas"]
        import scipy.linalg.cython_blas  # noqa: F401 - loads SciPy's BLAS, which it does on first use

        blas = [i for i in threadpool_info() if i.get("user_api") == "blas"]
        numpy_libs = [i for i in blas if _under(i.get("filepath"), numpy)] or before
        out["numpy"] = _blas_entry(numpy_libs[0]) if numpy_libs else None
        # SciPy's own wheel library; else the one its import added (a shared system BLAS: NumPy's); else any.
        known = {i.get("filepath") for i in before}
        scipy_libs = ([i for i in blas if _under(i.get("filepath"), scipy)]
                      or [i for i in blas if i.get("filepath") not in known] or blas)  # fmt: skip
    import fastmlp

    reported = getattr(fastmlp, "blas_info", None)
    if callable(reported):
        try:
            info = reported()
            info = dict(info) if isinstance(info, dict) else {"library": repr(info)}
            out["fastmlp"] = {"source": "fastmlp.blas_info()", **{k: v for k, v in info.items()
                                                                   if isinstance(v, str | int | float | None)}}
        except Exception as exc:  # a failing report falls back to threadpoolctl, and says why
            out["fastmlp_error"] = f"fastmlp.blas_info() raised {type(exc).__name__}: {exc}"
    if "fastmlp" not in out:
        if scipy_libs:
            out["fastmlp"] = {"source": "threadpoolctl: the BLAS SciPy loads", **_blas_entry(scipy_libs[0])}
        else:
            out["fastmlp"] = {"source": "unknown (no fastmlp.blas_info(), no threadpoolctl)"}
    return out


def _worker_main(job):
    if job["impl"] == "torch":
        import torch

        torch.set_num_threads(job["threads"])
        try:
            torch.set_num_interop_threads(1)
        except RuntimeError:  # pragma: no cover - only when already set
            pass
    prof = PROFILES["quick" if job["quick"] else "full"]
    task = job["task"]
    if task == "floor":
        result = _worker_floor(job, prof)
    elif task == "blas":
        result = _worker_blas(job, prof)
    elif task in TRAINING:
        result = _worker_train(job, prof)
    elif task == "P1":
        result = _worker_p1(job, prof)
    elif task == "P2":
        result = _worker_p2(job, prof)
    else:
        raise ValueError(f"unknown task {task!r}")
    from .peers import versions_here

    result["versions"] = versions_here()
    result["loadavg"] = _loadavg()
    result["env"] = {k: os.environ.get(k) for k in THREAD_VARS + ("OPENBLAS_CORETYPE", "XLA_FLAGS")}
    print(RESULT_TAG + json.dumps(result), flush=True)


# =================================================================================================== the driver


def _child_env(threads, impl=None):
    env = dict(os.environ)
    for name in THREAD_VARS:
        env[name] = str(threads)
    if threads == 1:
        env["XLA_FLAGS"] = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
    else:  # XLA has no thread-count flag: with N > 1 it uses its default pool (all cores of this 2-core machine)
        env["XLA_FLAGS"] = f"--xla_cpu_multi_thread_eigen=true intra_op_parallelism_threads={threads}"
    env.setdefault("JAX_PLATFORMS", "cpu")
    env["TF_CPP_MIN_LOG_LEVEL"] = env.get("TF_CPP_MIN_LOG_LEVEL", "2")
    env.pop("FASTMLP_BENCH_PROFILE", None)
    # Python's default: modules compiled to bytecode once and read from __pycache__ after, as pip's install does
    # for every package. With PYTHONDONTWRITEBYTECODE set, a fresh process of an editable install would compile
    # fastmlp's ~30 modules from source each time (about 80 ms of C1 on this machine), the peers' never.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def _affinity(threads, enabled):
    if not enabled or not hasattr(os, "sched_setaffinity"):
        return None
    cpus = sorted(os.sched_getaffinity(0))[:threads]
    return lambda: os.sched_setaffinity(0, cpus)


def _root():
    return os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_worker(job, args):
    """Run one job in a fresh process; return its result dict, or {"error": ...}."""
    cmd = [sys.executable, "-m", "bench.compare", "--worker", json.dumps(job)]
    started = time.perf_counter()
    try:
        done = subprocess.run(
            cmd, cwd=_root(), env=_child_env(job["threads"]), capture_output=True, text=True,
            timeout=args.timeout, preexec_fn=_affinity(job["threads"], args.affinity),
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {args.timeout} s"}
    wall = time.perf_counter() - started
    for line in reversed(done.stdout.splitlines()):
        if line.startswith(RESULT_TAG):
            result = json.loads(line[len(RESULT_TAG) :])
            result["process_s"] = wall
            return result
    tail = (done.stderr or done.stdout).strip().splitlines()[-6:]
    return {"error": f"exit {done.returncode}: " + " | ".join(tail)}


def _c1_once(impl, threads, args, cache_dir=None, empty=False):
    from .peers import c1_script

    done = subprocess.run(
        [sys.executable, "-c", c1_script(impl, cache_dir, empty)], cwd=tempfile.gettempdir(),
        env=_child_env(threads), capture_output=True, text=True, timeout=args.timeout,
        preexec_fn=_affinity(threads, args.affinity),
    )  # fmt: skip
    for line in done.stdout.splitlines():
        if line.startswith("C1_SECONDS "):
            return float(line.split()[1])
    tail = (done.stderr or done.stdout).strip().splitlines()[-4:]
    raise RuntimeError(f"exit {done.returncode}: " + " | ".join(tail))


def _c1_variants(impl):
    return ("warm", "empty") if impl == "fastmlp" else ("warm",)


def run_c1(impls, threads, args, prof):
    """C1 for ``impls``, taking turns round after round: {variant: {impl: [one result per round]}}.

    fastmlp has "warm" and "empty", the peers "warm" only (they have no compile cache).
    """
    out = {}
    work = tempfile.mkdtemp(prefix="fastmlp-compare-c1-")
    os.chmod(work, 0o700)  # Numba's cache files are pickles: keep the directory private
    cache_dir = os.path.join(work, "numba-cache")
    failed = {}
    try:
        for impl in impls:  # untimed: fills the warm cache, warms the OS file cache for every variant
            for variant in _c1_variants(impl):
                if variant == "warm" or not args.quick:
                    try:
                        _c1_once(impl, threads, args, cache_dir if impl == "fastmlp" else None, variant == "empty")
                    except (RuntimeError, subprocess.TimeoutExpired) as exc:
                        failed[(impl, variant)] = str(exc)
        for round_no in range(args.rounds):
            for impl in impls:
                for variant in _c1_variants(impl):
                    empty = variant == "empty"
                    reps = prof["c1_empty_reps"] if empty else prof["c1_reps"]
                    if (impl, variant) in failed:
                        result = {"error": failed[(impl, variant)]}
                    else:
                        _log(f"[{threads} thread(s)] C1 {variant} {impl} round {round_no + 1}/{args.rounds} ...", args)
                        try:
                            times = [_c1_once(impl, threads, args, None if empty or impl != "fastmlp" else cache_dir,
                                              empty) for _ in range(reps)]  # fmt: skip
                            result = {"value": statistics.median(times), "unit": "s", "higher_is_better": False,
                                      "seconds": times}  # fmt: skip
                        except (RuntimeError, subprocess.TimeoutExpired) as exc:
                            result = {"error": str(exc)}
                    out.setdefault(variant, {}).setdefault(impl, []).append(result)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return out


def _cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            info = f.read()
    except OSError:
        return platform.processor() or platform.machine()
    model = next((line.split(":", 1)[1].strip() for line in info.splitlines() if line.startswith("model name")), "?")
    flags = next((line.split(":", 1)[1].split() for line in info.splitlines() if line.startswith("flags")), [])
    isa = "AVX-512" if "avx512f" in flags else "AVX2" if "avx2" in flags else ""
    return f"{model}, {os.cpu_count()} logical CPUs" + (f", {isa}" if isa else "")


def _loadavg():
    """The 1-minute load average: other work on the machine shows in every figure, most at 2 threads."""
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:  # pragma: no cover
        return None


def _version(dist):
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


RENDERED_NOTE = "rendered again from compare.json"


def _now():
    return datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")


def _meta(args):
    prof = PROFILES["quick" if args.quick else "full"]
    return {
        "date": _now(),
        "cpu": _cpu_model(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "versions": {name: _version(dist) for name, dist in (
            ("fastmlp", "fastmlp"), ("numpy", "numpy"), ("numba", "numba"), ("scipy", "scipy"),
            ("torch", "torch"), ("jax", "jax"), ("jaxlib", "jaxlib"), ("sklearn", "scikit-learn"))},  # fmt: skip
        "threads": args.threads,
        "workloads": args.workloads,
        "activations": args.activations,
        "rounds": args.rounds,
        "profile": "quick" if args.quick else "full",
        "rows": prof["rows"],
        "p2_rows": prof["p2_rows"],
        "w4_epochs": prof["w4_epochs"],
        "lr": LR,
        "adam": ADAM,
        "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE"),
        "FASTMLP_FASTMATH": os.environ.get("FASTMLP_FASTMATH"),
        "NUMBA_CACHE_DIR": os.environ.get("NUMBA_CACHE_DIR"),
        "affinity": args.affinity,
        "loadavg_start": _loadavg(),
        "command": " ".join(["python -m bench.compare"] + sys.argv[1:]),
    }


def _available(peers):
    ok, notes = [], []
    for impl in peers:
        module = IMPLEMENTATIONS[impl][1]
        if importlib.util.find_spec(module) is None:
            notes.append(f"{LABELS[impl]} skipped: `{module}` is not importable")
        else:
            ok.append(impl)
    return ok, notes


def _log(msg, args):
    if not args.silent:
        print(msg, file=sys.stderr, flush=True)


def plan(args):
    """The workloads to run and the activations of each: ``[(workload, [hidden, ...]), ...]`` in table order."""
    wanted = {}
    for name in args.workloads:
        base, hidden = split_row(name)
        if base in ACTIVATED and "-" not in name:
            wanted.setdefault(base, set()).update(args.activations)
        else:
            wanted.setdefault(base, set()).add(hidden)
    return [(w, [a for a in ACTIVATIONS if a in wanted[w]]) for w in ALL_WORKLOADS if w in wanted]


def _runs_here(workload, impl):
    """Whether ``impl`` has a figure for ``workload``: JAX's scan has no predict, scikit-learn no C1 or W4."""
    from .peers import spec_for, unsupported

    if workload in ("P1", "P2", "C1") and impl == "jax-scan":
        return False
    if workload == "C1" and impl == "sklearn":  # a cold start would need a fit
        return False
    return not (workload in TRAINING and unsupported(impl, spec_for(workload)))


def _aggregate(rounds):
    """One cell from its per-round results: the median figure, the rounds kept beside it."""
    ok = [r for r in rounds if "value" in r]
    if not ok:
        return {"error": next((r["error"] for r in rounds if "error" in r), "no result"), "rounds": rounds}
    cell = {k: v for k, v in ok[0].items() if k not in ("value", "seconds", "cpu_per_wall", "loadavg", "process_s")}
    cell["value"] = statistics.median(r["value"] for r in ok)
    if all("cpu_per_wall" in r for r in ok):
        cell["cpu_per_wall"] = statistics.median(r["cpu_per_wall"] for r in ok)
    if all("compiled_epoch_ms" in r for r in ok):
        cell["compiled_epoch_ms"] = statistics.median(r["compiled_epoch_ms"] for r in ok)
    # versions and env are the same in every round: kept once, above
    cell["rounds"] = [{k: v for k, v in r.items() if k not in ("versions", "env")} for r in rounds]
    failed = [r["error"] for r in rounds if "error" in r]
    if failed:
        cell["failed_rounds"] = failed
    return cell


def _process_fields(result):
    return {k: result[k] for k in ("versions", "env", "loadavg", "process_s") if k in result}


def collect(args):
    """Run every job; return the raw results: {"meta", "notes", "runs": {threads: {row: {impl: result}}}, ...}."""
    from .peers import spec_for

    prof = PROFILES["quick" if args.quick else "full"]
    peers, notes = _available(args.peers)
    raw = {"meta": _meta(args), "notes": notes, "runs": {}, "floors": {}}
    todo = plan(args)
    optimizers = {spec_for(w).optimizer: w for w, _ in todo if w in TRAINING}
    for (impl, optimizer), why in UNSUPPORTED.items():
        if impl in peers and optimizer in optimizers:
            notes.append(f"{LABELS[impl]} has no {optimizers[optimizer]} figures: {why}")
    for note in notes:
        _log(note, args)
    started = time.perf_counter()
    blas = run_worker({"task": "blas", "impl": "fastmlp", "threads": 1, "quick": args.quick}, args)
    raw["meta"]["blas"] = {k: v for k, v in blas.items() if k not in ("env", "loadavg", "process_s")}
    for threads in args.threads:
        runs = raw["runs"][str(threads)] = {}
        floor_loads = [w for w, _ in todo if w != "C1"]
        if floor_loads:
            _log(f"[{threads} thread(s)] BLAS floor ...", args)
            job = {"task": "floor", "impl": "numpy", "threads": threads, "quick": args.quick,
                   "workloads": floor_loads}  # fmt: skip
            raw["floors"][str(threads)] = run_worker(job, args)
        for workload, activations in todo:
            impls = [impl for impl in peers if _runs_here(workload, impl)]
            if workload == "C1":
                for variant, by_impl in run_c1(impls, threads, args, prof).items():
                    runs[f"C1 {variant}"] = {impl: _aggregate(r) for impl, r in by_impl.items()}
                continue
            per_round = {row_id(workload, a): {impl: [] for impl in impls} for a in activations}
            for round_no in range(args.rounds):
                shift = round_no % len(activations)
                order = activations[shift:] + activations[:shift]  # no activation always first in its process
                for impl in impls:
                    _log(f"[{threads} thread(s)] {workload} {impl} round {round_no + 1}/{args.rounds} "
                         f"({' '.join(order)}) ...", args)  # fmt: skip
                    job = {"task": workload, "impl": impl, "workload": workload, "threads": threads,
                           "quick": args.quick, "activations": order}  # fmt: skip
                    result = run_worker(job, args)
                    for hidden in activations:
                        if "error" in result:
                            one = {"error": result["error"]}
                        elif workload in TRAINING:
                            one = {**result["by_activation"][hidden], **_process_fields(result)}
                        else:
                            one = result
                        per_round[row_id(workload, hidden)][impl].append(one)
                        if "error" in one:
                            _log(f"    failed: {one['error']}", args)
            for row, by_impl in per_round.items():
                runs[row] = {impl: _aggregate(r) for impl, r in by_impl.items()}
        # the peers' C1 "warm" row applies to both fastmlp variants
        if "C1 empty" in runs:
            for impl, result in runs.get("C1 warm", {}).items():
                if impl != "fastmlp":
                    runs["C1 empty"][impl] = result
    raw["meta"]["total_s"] = time.perf_counter() - started
    raw["meta"]["loadavg_end"] = _loadavg()
    return raw


# =================================================================================================== reporting


def _fmt(value, unit):
    if value is None:
        return "—"
    if unit in ("samples/s", "rows/s"):
        for scale, suffix in ((1e6, "M"), (1e3, "k")):
            if value >= scale:
                return f"{value / scale:.3g}{suffix}"
        return f"{value:.3g}"
    if unit == "µs":
        return f"{value:.3g} µs" if value < 1000 else f"{value / 1000:.3g} ms"
    if unit == "ms/epoch":
        return f"{value:.3g} ms"
    return f"{value:.3g} s"


def _ratio(fast, peer):
    """fastmlp's speed-up over ``peer`` (> 1: fastmlp is faster) from two figures of one row."""
    if fast["higher_is_better"]:
        return fast["value"] / peer["value"]
    return peer["value"] / fast["value"]


def _speedup(fast, peer):
    """fastmlp's speed-up over ``peer`` and its spread: ``(median, min, max, rounds)``, or None.

    The median of the per-round ratios where both have the rounds (each pair ran one after the other); the ratio
    of the two medians for results without rounds (a single measurement, or an earlier run's file).
    """
    if not fast or not peer or "value" not in fast or "value" not in peer:
        return None
    pairs = zip(fast.get("rounds") or [], peer.get("rounds") or [], strict=False)
    ratios = [_ratio({**fast, **f}, {**peer, **p}) for f, p in pairs if "value" in f and "value" in p]
    if not ratios:
        ratio = _ratio(fast, peer)
        return ratio, ratio, ratio, 1
    return statistics.median(ratios), min(ratios), max(ratios), len(ratios)


def _floor_for(raw, threads, row):
    floors = raw["floors"].get(str(threads), {})
    # the GEMMs of a step are the same whatever the activation
    return floors["floors"].get(split_row(row)[0]) if "floors" in floors else None


def _floor_fraction(fast, floor, key="exact"):
    """fastmlp's fraction of the floor: floor time / fastmlp time."""
    if not fast or "value" not in fast or not floor:
        return None
    if fast["higher_is_better"]:
        return fast["value"] / floor[key]
    return floor[key] / fast["value"]


def summarise(raw):
    """Add speed-ups and floor fractions: raw["summary"][threads][row] = {...}.

    ``speedup[impl]`` is the median per-round ratio and ``spread[impl]`` its ``[min, max, rounds]``.
    """
    summary = {}
    for threads, runs in raw["runs"].items():
        table = summary[threads] = {}
        for row, results in runs.items():
            fast = results.get("fastmlp")
            floor = _floor_for(raw, threads, row)
            ratios = {impl: _speedup(fast, r) for impl, r in results.items() if impl != "fastmlp"}
            table[row] = {
                "speedup": {impl: s and s[0] for impl, s in ratios.items()},
                "spread": {impl: s and list(s[1:]) for impl, s in ratios.items()},
                "floor_exact": floor["exact"] if floor else None,
                "fraction_exact": _floor_fraction(fast, floor, "exact"),
                "fraction_exact_at_best_rate": _floor_fraction(fast, floor, "exact_at_best_rate"),
                "fraction_design": _floor_fraction(fast, floor, "design"),
            }
    raw["summary"] = summary
    return raw


_ROW_NAMES = {
    "P1": "P1 predict 1 row (latency)",
    "P2": "P2 predict many rows (throughput)",
    "C1 warm": "C1 cold start, warm cache",
    "C1 empty": "C1 cold start, empty cache",
}


def _row_name(row):
    if row in _ROW_NAMES:
        return _ROW_NAMES[row]
    workload, hidden = split_row(row)
    if workload not in WORKLOADS:
        return row
    sizes, _, _, batch, _ = WORKLOADS[workload]
    shape = "-".join(map(str, sizes))
    if workload == "W4":
        return f"{row} train {shape} {hidden}, Adam, full batch"
    return f"{row} train {shape} {hidden}, b {batch}"


QUICK_NOTE = "(quick run: tiny data, one repetition — not a measurement)"


def _quick_suffix(raw):
    """`` (quick run: ...)`` for a ``--quick`` run's headings and chart title, else ``""``."""
    return f" {QUICK_NOTE}" if raw["meta"].get("profile") == "quick" else ""


def _winners(results):
    """The implementations with the best figure of a row (several only on an exact tie); failures are not counted."""
    ok = {impl: r for impl, r in results.items() if r and "value" in r}
    if not ok:
        return set()
    values = {impl: r["value"] if r["higher_is_better"] else -r["value"] for impl, r in ok.items()}
    best = max(values.values())
    return {impl for impl, value in values.items() if value == best}


def _row_order(runs):
    order = [row_id(w, a) for w in TRAINING for a in ACTIVATIONS] + ["P1", "P2", "C1 warm", "C1 empty"]
    return [r for r in order if r in runs] + sorted(r for r in runs if r not in order)


def _columns(raw):
    present = {impl for runs in raw["runs"].values() for row in runs.values() for impl in row}
    return [impl for impl in PEER_ORDER if impl in present]


def _blas_text(entry):
    if not entry:
        return "unknown"
    name = " ".join(str(entry[k]) for k in ("library", "version") if entry.get(k)) or "unknown"
    where = os.path.basename(str(entry["path"])) if entry.get("path") else None
    return name + (f" ({where})" if where else "")


def _header(raw):
    m = raw["meta"]
    v = m["versions"]
    libs = ", ".join(f"{k} {v[k]}" for k in ("fastmlp", "numpy", "numba", "scipy", "torch", "jax", "sklearn")
                     if v.get(k))  # fmt: skip
    line = (
        f"{m['date']} · {m['cpu']} · Python {m['python']} · {libs} · threads {', '.join(map(str, m['threads']))}"
        f" · OPENBLAS_CORETYPE={m['OPENBLAS_CORETYPE'] or 'unset'} · profile {m['profile']}"
    )
    if m.get("rounds"):
        line += f" · {m['rounds']} round{'s' if m['rounds'] != 1 else ''}"
    blas = m.get("blas")
    if blas and "fastmlp" in blas:
        fast = blas["fastmlp"]
        line += f"\n\nBLAS of fastmlp's kernels: {_blas_text(fast)}, from {fast.get('source', '?')}"
        if blas.get("fastmlp_error"):
            line += f" ({blas['fastmlp_error']})"
        if blas.get("numpy"):
            line += f"; NumPy's (the floor's): {_blas_text(blas['numpy'])}"
        line += "."
    elif blas:
        line += f"\n\nBLAS of fastmlp's kernels: unknown ({blas.get('error', 'not reported')})."
    return line


def _spread_text(spread):
    if not spread or spread[2] < 2:
        return ""
    return f", {spread[0]:.2f}–{spread[1]:.2f}"


def _explanation(raw):
    m = raw["meta"]
    rows = m["rows"]
    text = (
        f"Training W1-W3: one epoch of plain SGD (lr {m['lr']}, momentum 0, no shuffling), float32, samples/s; W1 "
        f"on {rows['W1']:,} rows, W2 on {rows['W2']:,}, W3 on the first {rows['W3']:,} rows."
    )
    if "W4" in rows:
        adam = m.get("adam", ADAM)
        text += (
            f" W4: Adam (lr {adam['lr']}, betas {adam['beta1']}/{adam['beta2']}, eps {adam['eps']}) on all "
            f"{rows['W4']:,} rows at once, one step per epoch, {m.get('w4_epochs', '?')} epochs per timed call "
            "(JAX scan: all of them in one lax.scan), ms per epoch."
        )
    activations = m.get("activations")
    if activations:
        names = " and ".join([", ".join(activations[:-1]), activations[-1]] if len(activations) > 1 else activations)
        text += f" W1, W2 and W4 run with {names} hidden layers (a bare id is relu), the others relu."
    else:
        text += " Hidden layers relu."
    text += (
        f" P1: median latency of one-row predict on W2's net. P2: rows/s predicting {m['p2_rows']:,} rows. C1: "
        "import + build W2's net + predict one row in a fresh process (s)."
    )
    if m.get("rounds"):
        text += (
            " Each cell runs in its own processes, the implementations taking turns round after round; a round's "
            "figure is the median of its repetitions after a warm-up, a cell's the median of its rounds. Peer "
            "cells: figure (fastmlp's speed-up over it: the median of the per-round ratios, then their min–max when "
            "there are several rounds; > 1 means fastmlp is faster)"
        )
    else:  # an earlier run's file, from before the rounds
        text += (
            " Medians after a warm-up; each cell runs in its own process. Peer cells: figure (fastmlp's speed-up "
            "over it; > 1 means fastmlp is faster)"
        )
    text += (
        "; the fastest figure of each row is in bold, whoever it belongs to. Floor: NumPy float32 GEMM at the "
        "step's shapes, the GEMMs a step needs each at its own measured rate (P2: 4,096-row forward GEMMs); "
        "fastmlp ÷ floor = floor time / fastmlp time, design = 6·batch·Σ n_in·n_out flops at the best rate."
    )
    return text


def render_markdown(raw):
    """The run as a markdown page: header, one table and its targets per thread count, the floor's GEMM rates."""
    m = raw["meta"]
    quick = _quick_suffix(raw)
    lines = [f"# fastmlp compared{quick}", "", _header(raw), "", _explanation(raw), ""]
    for note in raw["notes"]:
        lines.append(f"- note: {note}")
    if raw["notes"]:
        lines.append("")
    columns = _columns(raw)
    for threads, runs in raw["runs"].items():
        lines += [f"## {threads} thread{'s' if threads != '1' else ''}{quick}", ""]
        head = ["workload", "unit"] + [LABELS[c] for c in columns] + ["floor (exact)", "fastmlp ÷ floor", "÷ design"]
        lines.append("| " + " | ".join(head) + " |")
        lines.append("|" + "---|" * len(head))
        summary = raw["summary"][threads]
        for row in _row_order(runs):
            results = runs[row]
            unit = next((r["unit"] for r in results.values() if "unit" in r), "")
            cells = [_row_name(row), unit]
            winners = _winners(results)
            for impl in columns:
                r = results.get(impl)
                if r is None:
                    cells.append("—")
                elif "error" in r:
                    cells.append("failed")
                else:
                    figure = _fmt(r["value"], r["unit"])
                    s = summary[row]["speedup"].get(impl) if impl != "fastmlp" else None
                    figure = f"**{figure}**" if impl in winners else figure
                    if s is not None:
                        figure += f" ({s:.2f}×{_spread_text(summary[row].get('spread', {}).get(impl))})"
                    cells.append(figure)
            s = summary[row]
            cells.append(_fmt(s["floor_exact"], unit) if s["floor_exact"] is not None else "—")
            cells.append(f"{s['fraction_exact']:.2f}" if s["fraction_exact"] is not None else "—")
            cells.append(f"{s['fraction_design']:.2f}" if s["fraction_design"] is not None else "—")
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
        failures = [f"{row} {impl}: {r['error']}" for row, res in runs.items() for impl, r in res.items()
                    if "error" in r]  # fmt: skip
        failures += [f"{row} {impl}: {len(r['failed_rounds'])} round(s) failed ({r['failed_rounds'][0]})"
                     for row, res in runs.items() for impl, r in res.items() if r.get("failed_rounds")
                     and "error" not in r]  # fmt: skip
        for failure in failures:
            lines.append(f"- failed: {failure}")
        if failures:
            lines.append("")
        cores = []
        for row in _row_order(runs):
            used = [f"{LABELS[i]} {r['cpu_per_wall']:.2f}" for i, r in runs[row].items() if "cpu_per_wall" in r]
            if used:
                cores.append(f"{row}: " + ", ".join(used))
        if cores:
            lines += ["Cores used (CPU time ÷ wall time over the timed calls): " + "; ".join(cores) + ".", ""]
        inside = [f"{row} {runs[row]['fastmlp']['compiled_epoch_ms']:.3g} ms of {runs[row]['fastmlp']['value']:.3g}"
                  for row in _row_order(runs) if "compiled_epoch_ms" in runs[row].get("fastmlp", {})
                  and "value" in runs[row]["fastmlp"]]  # fmt: skip
        if inside:
            lines += ["fastmlp's W4 epochs inside the compiled call (History.seconds; the rest of the figure is "
                      "Model.fit's own work): " + "; ".join(inside) + ".", ""]  # fmt: skip
        lines += render_targets(raw, threads)
    floors = raw["floors"]
    if floors:
        lines += ["## BLAS floor (NumPy float32 GEMM, GFLOP/s at each shape)", ""]
        for threads, f in floors.items():
            if "floors" not in f:
                lines.append(f"- {threads} thread(s): failed: {f.get('error')}")
                continue
            for workload, entry in f["floors"].items():
                rates = ", ".join(
                    f"L{g['layer'] + 1} {g['kind']} {g['gflops']:.0f}" + ("" if g["needed"] else " (unused)")
                    for g in entry["gemms"]
                )
                lines.append(f"- {threads} thread(s), {workload} (m = {entry['rows_per_step']}): {rates}")
        lines.append("")
    lines.append(
        f"Command: `{m['command']}`; total {m.get('total_s', 0):.0f} s; 1-minute load average "
        f"{m.get('loadavg_start')} at the start, {m.get('loadavg_end')} at the end ({os.cpu_count()} CPUs: other "
        "work on the machine slows the multi-threaded figures most)."
    )
    return "\n".join(lines) + "\n"


def _target_rows(runs, workload, activations):
    if workload not in TRAINING:
        return [workload] if workload in runs else []
    return [row_id(workload, a) for a in ACTIVATIONS if (activations is None or a in activations)
            and row_id(workload, a) in runs]  # fmt: skip


def render_targets(raw, threads):
    """The targets table of one thread count: each target, fastmlp's measured ratio and whether it is met."""
    summary = raw["summary"][threads]
    runs = raw["runs"][threads]
    spread = "; rounds: the per-round ratios' min–max" if (raw["meta"].get("rounds") or 1) > 1 else ""
    title = f"Targets (medians of one run{spread}){_quick_suffix(raw)}:"
    out = [title, "", "| workload | target | measured | met |", "|---|---|---|---|"]
    any_row = False
    for workload, activations, peer, goal, text in TARGETS:
        for row in _target_rows(runs, workload, activations):
            s = summary[row]
            if peer == "floor":
                value = s["fraction_exact"]
                best = s["fraction_exact_at_best_rate"]
                shown = None if value is None else f"{value:.2f} of the floor" + (
                    f" ({best:.2f} at the best GEMM rate)" if best is not None else "")  # fmt: skip
            else:
                value = s["speedup"].get(peer)
                shown = None if value is None else f"{value:.2f}× {LABELS[peer]}"
                if value is not None and not runs[row]["fastmlp"]["higher_is_better"]:
                    shown += f" (time ratio {1 / value:.2f})"
                spread = s.get("spread", {}).get(peer)
                if value is not None and spread and spread[2] > 1:
                    shown += f"; rounds {spread[0]:.2f}–{spread[1]:.2f}"
            any_row = True
            if value is None:  # the peer did not run, or failed: the target stays in sight
                who = "the floor" if peer == "floor" else LABELS[peer]
                out.append(f"| {row} | {text} | not measured ({who} has no figure) | — |")
                continue
            out.append(f"| {row} | {text} | {shown} | {'yes' if value >= goal else '**no**'} |")
    return out + [""] if any_row else []


def render_chart(raw, path):
    """Bar chart of fastmlp's speed-up over each peer, one panel per thread count; the whiskers span the rounds."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "matplotlib is not installed: no chart (pip install matplotlib)"
    columns = [c for c in _columns(raw) if c != "fastmlp"]
    if not columns:
        return "no peer ran: no chart"
    thread_keys = list(raw["runs"])
    n_rows = max(len(_row_order(raw["runs"][t])) for t in thread_keys)
    fig, axes = plt.subplots(len(thread_keys), 1, figsize=(max(11, 0.85 * n_rows + 2), 4.2 * len(thread_keys) + 0.8),
                             squeeze=False)  # fmt: skip
    colors = {"torch": "#ee4c2c", "jax-step": "#5e97f6", "jax-scan": "#1a4fa3", "sklearn": "#f7931e",
              "numpy": "#3a9e5c"}  # fmt: skip
    for ax, threads in zip(axes[:, 0], thread_keys, strict=True):
        runs, summary = raw["runs"][threads], raw["summary"][threads]
        rows = _row_order(runs)
        width = 0.8 / max(1, len(columns))
        for j, impl in enumerate(columns):
            xs, ys, low, high = [], [], [], []
            for i, row in enumerate(rows):
                s = summary[row]["speedup"].get(impl)
                if s is not None:
                    spread = summary[row].get("spread", {}).get(impl) or [s, s, 1]
                    xs.append(i + (j - (len(columns) - 1) / 2) * width)
                    ys.append(s)
                    low.append(max(0.0, s - spread[0]))
                    high.append(max(0.0, spread[1] - s))
            bars = ax.bar(xs, ys, width, label=LABELS[impl], color=colors.get(impl))
            if any(low) or any(high):
                ax.errorbar(xs, ys, yerr=[low, high], fmt="none", ecolor="black", elinewidth=0.6, capsize=1.5)
            for bar, y, lo, hi in zip(bars, ys, low, high, strict=True):
                at = y + hi if y >= 1 else y - lo  # past the whisker, so that it does not cross the figure
                ax.annotate(f"{y:.0f}" if y >= 100 else f"{y:.2g}", (bar.get_x() + bar.get_width() / 2, at),
                            ha="center", va="bottom" if y >= 1 else "top", fontsize=6)  # fmt: skip
        ax.axhline(1.0, color="black", linewidth=0.8)
        ax.set_yscale("log")
        ax.set_xticks(range(len(rows)))
        ax.set_xticklabels(rows, rotation=30 if len(rows) > 8 else 0, ha="right" if len(rows) > 8 else "center",
                           fontsize=8)  # fmt: skip
        ax.set_ylabel("fastmlp speed-up (×)")
        ax.set_title(f"{threads} thread{'s' if threads != '1' else ''}: > 1 means fastmlp is faster", fontsize=9)
        ax.legend(fontsize=7, ncol=len(columns), loc="upper right")
    m = raw["meta"]
    v = m["versions"]
    libs = ", ".join(f"{k} {v[k]}" for k in ("fastmlp", "numpy", "numba", "torch", "jax", "sklearn") if v.get(k))
    quick = _quick_suffix(raw)
    fig.suptitle(
        f"fastmlp's speed-up over each peer (log scale) — {m['date']}{quick}\n{m['cpu']}; Python {m['python']}, "
        f"{libs}; threads {', '.join(map(str, m['threads']))}",
        fontsize=8,
        color="firebrick" if quick else "black",
    )
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)
    return None


def write_outputs(raw, out_dir):
    """Write compare.md, compare.png and compare.json to ``out_dir``; return the markdown."""
    os.makedirs(out_dir, exist_ok=True)
    markdown = render_markdown(raw)
    note = render_chart(raw, os.path.join(out_dir, "compare.png"))
    if note:
        raw["notes"].append(note)
        markdown += f"\n- note: {note}\n"
    with open(os.path.join(out_dir, "compare.md"), "w") as f:
        f.write(markdown)
    with open(os.path.join(out_dir, "compare.json"), "w") as f:
        json.dump(raw, f, indent=1)
    return markdown


def _workload_name(name):
    base, _, hidden = name.partition("-")
    if base in ALL_WORKLOADS and (not hidden or (base in ACTIVATED and hidden in ACTIVATIONS)):
        return name
    raise argparse.ArgumentTypeError(
        f"{name!r}: choose from {' '.join(ALL_WORKLOADS)}, or one of {', '.join(ACTIVATED)} with an activation "
        f"({'-, '.join(ACTIVATED)}- followed by {' or '.join(ACTIVATIONS)}, e.g. W1-tanh)"
    )


def parse_args(argv=None):
    """The command line of ``python -m bench.compare`` (see the module docstring)."""
    parser = argparse.ArgumentParser(prog="python -m bench.compare", description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, nargs="+", help="thread counts (default: 1 2; with --quick: 1)")
    parser.add_argument("--workloads", nargs="+", default=list(ALL_WORKLOADS), type=_workload_name, metavar="W",
                        help="of " + " ".join(ALL_WORKLOADS) + ", or one activation of W1, W2 or W4 such as "
                             "W1-tanh (default: all)")  # fmt: skip
    parser.add_argument("--activations", nargs="+", default=list(ACTIVATIONS), choices=ACTIVATIONS, metavar="A",
                        help="hidden activations of W1, W2 and W4, of " + " ".join(ACTIVATIONS) + " (default: all)")
    parser.add_argument("--rounds", type=int,
                        help="processes per implementation and workload, the implementations taking turns "
                             f"(default: {PROFILES['full']['rounds']}; with --quick: 1)")  # fmt: skip
    parser.add_argument("--peers", nargs="+", default=list(PEER_ORDER), metavar="NAME",
                        help="of " + " ".join(PEER_ORDER) + " ('jax' = both JAX variants; default: all)")  # fmt: skip
    parser.add_argument("--quick", action="store_true", help="tiny data, one repetition: a smoke run")
    parser.add_argument("--out", default="build/compare",
                        help="folder for compare.md/.json/.png (default: build/compare)")  # fmt: skip
    parser.add_argument("--no-affinity", dest="affinity", action="store_false",
                        help="do not pin each process to the first N CPUs (by default they are: JAX sizes its "
                             "thread pool by the CPUs it may use, whatever the environment says)")  # fmt: skip
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds allowed to one subprocess")
    parser.add_argument("--silent", action="store_true", help="no progress on stderr, no table on stdout")
    parser.add_argument("--render", metavar="JSON",
                        help="measure nothing: write the table and chart of an earlier run's compare.json to "
                             "--out")  # fmt: skip
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    peers = []
    for name in args.peers:
        for impl in ("jax-step", "jax-scan") if name == "jax" else (name,):
            if impl not in IMPLEMENTATIONS:
                parser.error(f"unknown peer {name!r}: choose from {' '.join(PEER_ORDER)} or jax")
            if impl not in peers:
                peers.append(impl)
    args.peers = [p for p in PEER_ORDER if p in peers]
    order = [row_id(w, a) for w in ALL_WORKLOADS for a in ACTIVATIONS]
    args.workloads = [w for w in order if w in args.workloads]
    args.activations = [a for a in ACTIVATIONS if a in args.activations]
    if args.threads is None:
        args.threads = [1] if args.quick else [1, 2]
    if any(t < 1 for t in args.threads):
        parser.error("--threads must be >= 1")
    if args.rounds is None:
        args.rounds = PROFILES["quick" if args.quick else "full"]["rounds"]
    if args.rounds < 1:
        parser.error("--rounds must be >= 1")
    return args


def main(argv=None):
    """Measure (or, with ``--render``, re-render) and write the outputs; return the exit status."""
    args = parse_args(argv)
    if args.worker:
        _worker_main(json.loads(args.worker))
        return 0
    if args.render:
        with open(args.render) as f:
            raw = json.load(f)
        # this rendering decides anew whether there is a chart, and says that it is one
        raw["notes"] = [note for note in raw["notes"] if "no chart" not in note and RENDERED_NOTE not in note]
        raw["notes"].append(f"{RENDERED_NOTE} on {_now()}: the figures are that run's, the text and the targets "
                            "this version's")  # fmt: skip
    else:
        raw = collect(args)
    markdown = write_outputs(summarise(raw), args.out)
    if not args.silent:
        print(markdown)
        print(f"written: {os.path.join(args.out, 'compare.md')}, compare.json, compare.png", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
