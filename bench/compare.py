"""fastmlp side by side with PyTorch, JAX, scikit-learn and plain NumPy on DESIGN.md's workloads, and the BLAS floor.

Every (implementation, workload, thread count) runs in its own subprocess, with the thread count pinned through the
environment before anything is imported (OMP/OpenBLAS/MKL/Numba variables, ``torch.set_num_threads``, XLA flags
for JAX) and through the CPU affinity (the first N CPUs; JAX sizes its pool by the CPUs it may use and ignores the
variables), and reports JSON. Figures are medians over repetitions after a warm-up (JIT compilation, tracing), so no
compile time is counted except in C1's empty-cache variant, which is what it measures::

    python -m bench.compare                                  # everything, 1 and 2 threads (~15 min on 2 cores)
    python -m bench.compare --threads 1 --workloads W1 P1    # a subset
    python -m bench.compare --peers fastmlp numpy --quick    # tiny data, one repetition: a smoke run
    python -m bench.compare --out results/                   # compare.md, compare.json, compare.png there
    python -m bench.compare --render results/compare.json --out results/   # re-render a run, measuring nothing

Workloads (DESIGN.md): W1, W2, W3 train one epoch of plain SGD (samples/s; W3 on its first ``--w3-rows`` rows); P1
is one-row predict latency on W2's net (µs, median of single calls); P2 predicts 100,000 rows (rows/s); C1 is a
fresh process's import + build W2's net + predict one row (s, median of fresh processes; fastmlp with a warm and
an empty NUMBA_CACHE_DIR). The floor is NumPy's float32 GEMM at the workload's shapes, timed in its own process at
the same thread count: "exact" adds up the measured time of each GEMM a step needs (forward and dW of every layer,
the delta of every layer but the first), "design" is DESIGN.md's 6·batch·Σ n_in·n_out flops at the best rate
measured among those shapes. Missing peers are skipped with a note.
"""

import argparse
import datetime
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

from .peers import IMPLEMENTATIONS

ALL_WORKLOADS = ("W1", "W2", "W3", "P1", "P2", "C1")
TRAINING = ("W1", "W2", "W3")
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
               "FASTMLP_BENCH_THREADS", "VECLIB_MAXIMUM_THREADS")  # fmt: skip
RESULT_TAG = "COMPARE_RESULT "
P2_FLOOR_ROWS = 4096  # fastmlp.model.DEFAULT_CHUNK_ROWS: the rows of each GEMM of a chunked predict
LR = 1e-3

# Sizes of the two profiles: rows per workload, repetitions and time budgets.
PROFILES = {
    "full": {
        "rows": {"W1": 65_536, "W2": 60_000, "W3": 2_048},
        "p2_rows": 100_000,
        "min_reps": 3,
        "max_reps": 7,
        "budget_s": 5.0,
        "p1_calls": 3000,
        "p1_budget_s": 2.0,
        "c1_reps": 5,
        "c1_empty_reps": 3,
        "floor_reps": 7,
    },
    "quick": {
        "rows": {"W1": 2_048, "W2": 512, "W3": 512},
        "p2_rows": 2_000,
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

# Targets of issue 6, as speed-ups of fastmlp (peer time / fastmlp time) or fractions of the exact floor.
TARGETS = [
    ("W1", "jax-scan", 2.0, "≥ 2× JAX whole-epoch scan"),
    ("W1", "torch", 20.0, "≥ 20× PyTorch eager"),
    ("W2", "torch", 1.3, "≥ 1.3× PyTorch eager"),
    ("W2", "jax-scan", 1.05, "≥ 1.05× JAX whole-epoch scan"),
    ("W2", "floor", 0.75, "≥ 0.75 of the exact floor"),
    ("W3", "torch", 1.0, "≥ 1.0× PyTorch eager"),
    ("W3", "floor", 0.85, "≥ 0.85 of the exact floor"),
    ("P1", "torch", 4.0, "latency ≤ 0.25× PyTorch's"),
    ("P1", "numpy", 1.0, "faster than the few-line NumPy forward"),
    ("P2", "torch", 1.2, "≥ 1.2× PyTorch"),
    ("P2", "floor", 0.85, "≥ 0.85 of the floor"),
    ("C1 warm", "torch", 2.5, "warm cache ≤ 0.4× PyTorch's time"),
    ("C1 empty", "torch", 0.5, "empty cache ≤ 2× PyTorch's time"),
]


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


def _worker_train(job, prof):
    from . import peers
    from .workloads import make_data

    workload = job["workload"]
    spec = peers.spec_for(workload)
    n = prof["rows"][workload]
    X, y = make_data(workload, n)
    epoch = peers.TRAINERS[job["impl"]](spec, X, y, peers.initial_params(spec), LR)
    epoch()  # warm-up: compilation, tracing, caches
    times, cores = _repeat(epoch, prof["min_reps"], prof["max_reps"], prof["budget_s"])
    median = statistics.median(times)
    return {"value": n / median, "unit": "samples/s", "higher_is_better": True, "seconds": times, "rows": n,
            "cpu_per_wall": cores}  # fmt: skip


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
        m = {"P1": 1, "P2": P2_FLOOR_ROWS}.get(workload, spec.batch)
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
            # per second: samples (training) or rows (P2); P1 is a latency in µs
            "exact": m / exact_s,
            "exact_at_best_rate": m / (exact_flops / best),
            "design": m / (design_flops / best),
        }
        if workload == "P1":
            entry.update(exact=exact_s * 1e6, exact_at_best_rate=exact_flops / best * 1e6,
                         design=design_flops / best * 1e6)  # fmt: skip
        out[workload] = entry
    return {"floors": out, "numpy": np.__version__}


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


def run_c1(impl, threads, args, prof):
    """C1 for one implementation: {variant: result}; fastmlp has "warm" and "empty", the peers "warm" only."""
    out = {}
    variants = ("warm", "empty") if impl == "fastmlp" else ("warm",)
    work = tempfile.mkdtemp(prefix="fastmlp-compare-c1-")
    os.chmod(work, 0o700)  # Numba's cache files are pickles: keep the directory private
    try:
        for variant in variants:
            try:
                cache_dir = os.path.join(work, "numba-cache") if impl == "fastmlp" and variant == "warm" else None
                empty = variant == "empty"
                if variant == "warm" or not args.quick:  # untimed: fills the warm cache, warms the OS file cache
                    _c1_once(impl, threads, args, cache_dir, empty)
                reps = prof["c1_empty_reps"] if empty else prof["c1_reps"]
                times = [_c1_once(impl, threads, args, cache_dir, empty) for _ in range(reps)]
                out[variant] = {"value": statistics.median(times), "unit": "s", "higher_is_better": False,
                                "seconds": times}  # fmt: skip
            except (RuntimeError, subprocess.TimeoutExpired) as exc:
                out[variant] = {"error": str(exc)}
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


def _meta(args):
    return {
        "date": datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
        "cpu": _cpu_model(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "versions": {name: _version(dist) for name, dist in (
            ("fastmlp", "fastmlp"), ("numpy", "numpy"), ("numba", "numba"), ("scipy", "scipy"),
            ("torch", "torch"), ("jax", "jax"), ("jaxlib", "jaxlib"), ("sklearn", "scikit-learn"))},  # fmt: skip
        "threads": args.threads,
        "workloads": args.workloads,
        "profile": "quick" if args.quick else "full",
        "rows": PROFILES["quick" if args.quick else "full"]["rows"],
        "p2_rows": PROFILES["quick" if args.quick else "full"]["p2_rows"],
        "lr": LR,
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


def collect(args):
    """Run every job; return the raw results: {"meta", "notes", "runs": {threads: {row: {impl: result}}}, ...}."""
    prof = PROFILES["quick" if args.quick else "full"]
    peers, notes = _available(args.peers)
    raw = {"meta": _meta(args), "notes": notes, "runs": {}, "floors": {}}
    for note in notes:
        _log(note, args)
    started = time.perf_counter()
    for threads in args.threads:
        runs = raw["runs"][str(threads)] = {}
        floor_loads = [w for w in args.workloads if w != "C1"]
        if floor_loads:
            _log(f"[{threads} thread(s)] BLAS floor ...", args)
            job = {"task": "floor", "impl": "numpy", "threads": threads, "quick": args.quick,
                   "workloads": floor_loads}  # fmt: skip
            raw["floors"][str(threads)] = run_worker(job, args)
        for workload in args.workloads:
            if workload == "C1":
                for impl in peers:
                    if impl in ("jax-scan", "sklearn"):
                        continue  # no cold start of its own: the same import as jax-step; sklearn needs a fit
                    _log(f"[{threads} thread(s)] C1 {impl} ...", args)
                    for variant, result in run_c1(impl, threads, args, prof).items():
                        runs.setdefault(f"C1 {variant}", {})[impl] = result
                continue
            row = runs[workload] = {}
            for impl in peers:
                if workload in ("P1", "P2") and impl == "jax-scan":
                    continue
                _log(f"[{threads} thread(s)] {workload} {impl} ...", args)
                job = {"task": workload, "impl": impl, "workload": workload, "threads": threads,
                       "quick": args.quick}  # fmt: skip
                row[impl] = run_worker(job, args)
                if "error" in row[impl]:
                    _log(f"    failed: {row[impl]['error']}", args)
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
    return f"{value:.3g} s"


def _speedup(fast, peer):
    """fastmlp's speed-up over ``peer`` (> 1: fastmlp is faster), from two results of one row."""
    if not fast or not peer or "value" not in fast or "value" not in peer:
        return None
    if fast["higher_is_better"]:
        return fast["value"] / peer["value"]
    return peer["value"] / fast["value"]


def _floor_for(raw, threads, row):
    floors = raw["floors"].get(str(threads), {})
    return floors.get("floors", {}).get(row) if "floors" in floors else None


def _floor_fraction(fast, floor, key="exact"):
    """fastmlp's fraction of the floor: floor time / fastmlp time."""
    if not fast or "value" not in fast or not floor:
        return None
    if fast["higher_is_better"]:
        return fast["value"] / floor[key]
    return floor[key] / fast["value"]


def summarise(raw):
    """Add speed-ups and floor fractions: raw["summary"][threads][row] = {...}."""
    summary = {}
    for threads, runs in raw["runs"].items():
        table = summary[threads] = {}
        for row, results in runs.items():
            fast = results.get("fastmlp")
            floor = _floor_for(raw, threads, row)
            table[row] = {
                "speedup": {impl: _speedup(fast, r) for impl, r in results.items() if impl != "fastmlp"},
                "floor_exact": floor["exact"] if floor else None,
                "fraction_exact": _floor_fraction(fast, floor, "exact"),
                "fraction_exact_at_best_rate": _floor_fraction(fast, floor, "exact_at_best_rate"),
                "fraction_design": _floor_fraction(fast, floor, "design"),
            }
    raw["summary"] = summary
    return raw


_ROW_NAMES = {
    "W1": "W1 train 16-32-32-1, b 32",
    "W2": "W2 train 784-256-128-10, b 128",
    "W3": "W3 train 1024-2048-2048-10, b 512",
    "P1": "P1 predict 1 row (latency)",
    "P2": "P2 predict many rows (throughput)",
    "C1 warm": "C1 cold start, warm cache",
    "C1 empty": "C1 cold start, empty cache",
}


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
    order = ["W1", "W2", "W3", "P1", "P2", "C1 warm", "C1 empty"]
    return [r for r in order if r in runs]


def _columns(raw):
    present = {impl for runs in raw["runs"].values() for row in runs.values() for impl in row}
    return [impl for impl in PEER_ORDER if impl in present]


def _header(raw):
    m = raw["meta"]
    v = m["versions"]
    libs = ", ".join(f"{k} {v[k]}" for k in ("fastmlp", "numpy", "numba", "scipy", "torch", "jax", "sklearn") if v[k])
    return (
        f"{m['date']} · {m['cpu']} · Python {m['python']} · {libs} · threads {', '.join(map(str, m['threads']))}"
        f" · OPENBLAS_CORETYPE={m['OPENBLAS_CORETYPE'] or 'unset'} · profile {m['profile']}"
    )


def render_markdown(raw):
    m = raw["meta"]
    rows = m["rows"]
    quick = _quick_suffix(raw)
    lines = [
        f"# fastmlp compared{quick}",
        "",
        _header(raw),
        "",
        f"Training: one epoch of plain SGD (lr {m['lr']}, momentum 0, no shuffling), float32, samples/s; W1 on "
        f"{rows['W1']:,} rows, W2 on {rows['W2']:,}, W3 on the first {rows['W3']:,} rows. P1: median latency of "
        f"one-row predict on W2's net. P2: rows/s predicting {m['p2_rows']:,} rows. C1: import + build W2's net + "
        "predict one row in a fresh process (s). Medians after a warm-up; each cell runs in its own process. "
        "Peer cells: figure (fastmlp's speed-up over it; > 1 means fastmlp is faster); the fastest figure of "
        "each row is in bold, whoever it belongs to. Floor: NumPy float32 GEMM "
        "at the step's shapes, the GEMMs a step needs each at its own measured rate (P2: 4,096-row forward GEMMs); "
        "fastmlp ÷ floor = floor time / fastmlp time, design = DESIGN.md's 6·batch·Σ n_in·n_out at the best rate.",
        "",
    ]
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
            cells = [_ROW_NAMES.get(row, row), unit]
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
                    cells.append(figure + (f" ({s:.2f}×)" if s is not None else ""))
            s = summary[row]
            cells.append(_fmt(s["floor_exact"], unit) if s["floor_exact"] is not None else "—")
            cells.append(f"{s['fraction_exact']:.2f}" if s["fraction_exact"] is not None else "—")
            cells.append(f"{s['fraction_design']:.2f}" if s["fraction_design"] is not None else "—")
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
        failures = [f"{row} {impl}: {r['error']}" for row, res in runs.items() for impl, r in res.items()
                    if "error" in r]  # fmt: skip
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


def render_targets(raw, threads):
    summary = raw["summary"][threads]
    title = f"Targets of issue 6{_quick_suffix(raw)}:"
    out = [title, "", "| workload | target | measured | met |", "|---|---|---|---|"]
    any_row = False
    for row, peer, goal, text in TARGETS:
        if row not in summary:
            continue
        s = summary[row]
        if peer == "floor":
            value = s["fraction_exact"]
            best = s["fraction_exact_at_best_rate"]
            shown = None if value is None else f"{value:.2f} of the floor" + (
                f" ({best:.2f} at the best GEMM rate)" if best is not None else "")  # fmt: skip
        else:
            value = s["speedup"].get(peer)
            shown = None if value is None else f"{value:.2f}× {LABELS[peer]}"
            if value is not None and not raw["runs"][threads][row]["fastmlp"]["higher_is_better"]:
                shown += f" (time ratio {1 / value:.2f})"
        if value is None:
            continue
        any_row = True
        out.append(f"| {row} | {text} | {shown} | {'yes' if value >= goal else '**no**'} |")
    return out + [""] if any_row else []


def render_chart(raw, path):
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
    fig, axes = plt.subplots(len(thread_keys), 1, figsize=(11, 3.8 * len(thread_keys) + 0.8), squeeze=False)
    colors = {"torch": "#ee4c2c", "jax-step": "#5e97f6", "jax-scan": "#1a4fa3", "sklearn": "#f7931e",
              "numpy": "#3a9e5c"}  # fmt: skip
    for ax, threads in zip(axes[:, 0], thread_keys, strict=True):
        runs, summary = raw["runs"][threads], raw["summary"][threads]
        rows = _row_order(runs)
        width = 0.8 / max(1, len(columns))
        for j, impl in enumerate(columns):
            xs, ys = [], []
            for i, row in enumerate(rows):
                s = summary[row]["speedup"].get(impl)
                if s is not None:
                    xs.append(i + (j - (len(columns) - 1) / 2) * width)
                    ys.append(s)
            bars = ax.bar(xs, ys, width, label=LABELS[impl], color=colors.get(impl))
            for bar, y in zip(bars, ys, strict=True):
                ax.annotate(f"{y:.0f}" if y >= 100 else f"{y:.2g}", (bar.get_x() + bar.get_width() / 2, y), ha="center",
                            va="bottom" if y >= 1 else "top", fontsize=6)  # fmt: skip
        ax.axhline(1.0, color="black", linewidth=0.8)
        ax.set_yscale("log")
        ax.set_xticks(range(len(rows)))
        ax.set_xticklabels(rows)
        ax.set_ylabel("fastmlp speed-up (×)")
        ax.set_title(f"{threads} thread{'s' if threads != '1' else ''}: > 1 means fastmlp is faster", fontsize=9)
        ax.legend(fontsize=7, ncol=len(columns), loc="upper right")
    m = raw["meta"]
    v = m["versions"]
    libs = ", ".join(f"{k} {v[k]}" for k in ("fastmlp", "numpy", "numba", "torch", "jax", "sklearn") if v[k])
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


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.compare", description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, nargs="+", help="thread counts (default: 1 2; with --quick: 1)")
    parser.add_argument("--workloads", nargs="+", default=list(ALL_WORKLOADS), choices=ALL_WORKLOADS,
                        metavar="W", help="of " + " ".join(ALL_WORKLOADS) + " (default: all)")  # fmt: skip
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
    args.workloads = [w for w in ALL_WORKLOADS if w in args.workloads]
    if args.threads is None:
        args.threads = [1] if args.quick else [1, 2]
    if any(t < 1 for t in args.threads):
        parser.error("--threads must be >= 1")
    return args


def main(argv=None):
    args = parse_args(argv)
    if args.worker:
        _worker_main(json.loads(args.worker))
        return 0
    if args.render:
        with open(args.render) as f:
            raw = json.load(f)
        raw["notes"] = [note for note in raw["notes"] if "no chart" not in note]  # this rendering decides anew
    else:
        raw = collect(args)
    markdown = write_outputs(summarise(raw), args.out)
    if not args.silent:
        print(markdown)
        print(f"written: {os.path.join(args.out, 'compare.md')}, compare.json, compare.png", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
