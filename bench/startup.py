"""Cold start, workload C1: a fresh process imports the library, builds a network and predicts one row.

The network is W2's (784-256-128-10, relu, softmax). Each sample is a new Python process (asv ``timeraw_``).
The time covers the import, building the model and the predict call. It does not cover the interpreter's own
start-up, which is the same for every library. fastmlp is measured with a warm compile cache (a
``NUMBA_CACHE_DIR`` filled once in ``setup``) and with an empty one (a new empty ``NUMBA_CACHE_DIR`` for each
sample, so every kernel is compiled). The peer is ``import torch`` with the same network as an
``nn.Sequential``. It is skipped when torch is not installed.

The demo (``python -m fastmlp demo --quiet``: generate the spirals, train the linear model and the MLP, report)
is timed the same way, as the first run a new user sees: ``DemoStart`` in asv, ``job="demo"`` here.

``measure_cold_start`` runs the same measurement without asv (the bench smoke test does not call ``timeraw_``
benchmarks; ``tests/test_install.py`` calls this function), and ``compare`` runs the three variants by turns in one
run, which is how the README's figures were measured::

    python -m bench.startup --repeats 7                          # with this interpreter
    python -m bench.startup --python /path/to/venv/bin/python    # another one, e.g. a venv with torch and fastmlp
    python -m bench.startup --phases                             # where fastmlp's cold start goes, phase by phase
    python -m bench.startup --demo --repeats 3                   # the demo's run, warm and empty cache by turns
"""

import argparse
import importlib.util
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap

SIZES = (784, 256, 128, 10)  # W2's network, as in bench/workloads.py

CACHES = ("warm", "empty")
PEERS = ("fastmlp", "torch")

_FASTMLP_STMT = f"""
import numpy as np
import fastmlp
model = fastmlp.Model({list(SIZES)}, hidden="relu", output="softmax", seed=0)
model.predict(np.ones((1, {SIZES[0]}), dtype=np.float32))
"""

# The command line's own entry point, in process: what `python -m fastmlp demo --quiet` runs after its import. Its
# summary line is kept off stdout, where asv's timeraw_ reads the time alone.
_DEMO_STMT = """
import contextlib, io
import fastmlp.cli
with contextlib.redirect_stdout(io.StringIO()):
    status = fastmlp.cli.main(["demo", "--quiet"])
if status:
    raise SystemExit(f"the demo exited with status {status}")
"""

JOBS = ("predict", "demo")

_TORCH_STMT = f"""
import torch
torch.manual_seed(0)
model = torch.nn.Sequential(
    torch.nn.Linear({SIZES[0]}, {SIZES[1]}), torch.nn.ReLU(),
    torch.nn.Linear({SIZES[1]}, {SIZES[2]}), torch.nn.ReLU(),
    torch.nn.Linear({SIZES[2]}, {SIZES[3]}), torch.nn.Softmax(dim=1),
)
with torch.no_grad():
    model(torch.ones((1, {SIZES[0]})))
"""


def _setup_code(peer, cache_dir):
    """Untimed code that runs in the fresh process before the timed statement: chooses the compile cache.

    ``cache_dir=None`` gives a new empty ``NUMBA_CACHE_DIR``, removed when the process exits. Numba reads the
    variable when it is first imported, so setting ``os.environ`` here, before the timed imports, is enough.
    """
    if peer == "torch":
        return ""
    if cache_dir is None:
        return textwrap.dedent(
            """
            import atexit, os, shutil, tempfile
            cache_dir = tempfile.mkdtemp(prefix="fastmlp-cold-")
            atexit.register(shutil.rmtree, cache_dir, True)
            os.environ["NUMBA_CACHE_DIR"] = cache_dir
            """
        )
    return f"import os\nos.environ['NUMBA_CACHE_DIR'] = {str(cache_dir)!r}\n"


def _statement(peer, job="predict"):
    if peer not in PEERS:
        raise ValueError(f"peer must be one of {PEERS}, got {peer!r}")
    if job not in JOBS:
        raise ValueError(f"job must be one of {JOBS}, got {job!r}")
    if job == "demo":
        if peer != "fastmlp":
            raise ValueError("job='demo' is fastmlp's own demo: peer must be 'fastmlp'")
        return _DEMO_STMT
    return _FASTMLP_STMT if peer == "fastmlp" else _TORCH_STMT


def _child_environ():
    env = dict(os.environ)
    env.pop("FASTMLP_CACHE", None)  # the default: the on-disk cache is on
    env.pop("FASTMLP_FASTMATH", None)  # fastmath kernels are never cached, which would make "warm" mean nothing
    env.pop("NUMBA_DISABLE_JIT", None)
    # Bytecode as pip's install leaves it: compiled once, by the untimed first process (see bench/compare.py).
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def _run_once(peer, cache_dir, python, cwd, job="predict"):
    """One fresh process: run the setup, then time the statement. Returns the seconds it took."""
    script = "\n".join(
        [
            _setup_code(peer, cache_dir),
            "import time as _time",
            "_start = _time.perf_counter()",
            _statement(peer, job),
            "print(repr(_time.perf_counter() - _start))",
        ]
    )
    return float(_last_line(script, python, cwd))


def _last_line(script, python, cwd):
    """Run ``script`` in a fresh process of ``python``; return the last line it printed."""
    done = subprocess.run(
        [python, "-c", script], cwd=cwd, env=_child_environ(), capture_output=True, text=True, timeout=600
    )
    if done.returncode != 0:
        raise RuntimeError(f"the cold-start process failed (exit {done.returncode}):\n{done.stderr}")
    return done.stdout.strip().splitlines()[-1]


def _fill_cache(cache_dir, python=None, cwd=None, job="predict"):
    """Compile the kernels that the statement needs into ``cache_dir`` (one untimed cold start)."""
    _run_once("fastmlp", cache_dir, python or sys.executable, cwd or cache_dir, job)


def measure_cold_start(cache="warm", repeats=3, *, peer="fastmlp", python=None, job="predict"):
    """Median seconds of ``repeats`` fresh processes doing import + build W2's network + predict one row.

    Parameters
    ----------
    cache : {"warm", "empty"}, default="warm"
        fastmlp only: "warm" fills one private ``NUMBA_CACHE_DIR`` first and reuses it; "empty" gives every
        process a new empty one, so every kernel is compiled. Ignored for torch, which has no compile cache.
    repeats : int, default=3
        Timed processes; the median is returned. One untimed process runs first in every case, so that the
        operating system's file cache is warm for all the variants alike.
    peer : {"fastmlp", "torch"}, default="fastmlp"
    python : str, optional
        The interpreter to run; the current one by default. It must have the peer installed.
    job : {"predict", "demo"}, default="predict"
        "demo" times fastmlp's demo (``python -m fastmlp demo --quiet``, import included) instead.

    Returns
    -------
    float
        The median time in seconds, interpreter start-up excluded.
    """
    if cache not in CACHES:
        raise ValueError(f"cache must be one of {CACHES}, got {cache!r}")
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1, got {repeats!r}")
    _statement(peer, job)  # refuses an unknown peer or job before any process starts
    python = python or sys.executable
    work = tempfile.mkdtemp(prefix="fastmlp-startup-")
    os.chmod(work, 0o700)  # the cache files are pickles: keep the directory private
    try:
        warm_dir = os.path.join(work, "numba-cache") if peer == "fastmlp" and cache == "warm" else None
        # The untimed first process fills the warm cache; in the other cases it warms the file cache only.
        _run_once(peer, warm_dir, python, work, job)
        times = [_run_once(peer, warm_dir, python, work, job) for _ in range(repeats)]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return statistics.median(times)


class _FastmlpProcess:
    """asv set-up shared by fastmlp's fresh-process benchmarks: a private work folder, and for "warm" a filled cache."""

    params = list(CACHES)
    param_names = ["cache"]
    number = 1
    warmup_time = 0
    job = "predict"

    def setup(self, cache):
        self.work = tempfile.mkdtemp(prefix="fastmlp-startup-")
        os.chmod(self.work, 0o700)
        self.cache_dir = None
        if cache == "warm":
            self.cache_dir = os.path.join(self.work, "numba-cache")
            _fill_cache(self.cache_dir, cwd=self.work, job=self.job)

    def teardown(self, cache):
        shutil.rmtree(self.work, ignore_errors=True)


class ColdStart(_FastmlpProcess):
    """fastmlp: ``import fastmlp`` + ``Model(W2 sizes)`` + ``predict`` of one row, in a fresh process."""

    repeat = (3, 10, 60.0)
    timeout = 600

    def timeraw_import_build_predict(self, cache):
        return _statement("fastmlp"), _setup_code("fastmlp", self.cache_dir)


class ColdStartTorch:
    """The peer: ``import torch`` + the same network as an ``nn.Sequential`` + one row, in a fresh process."""

    number = 1
    repeat = (3, 10, 60.0)
    warmup_time = 0
    timeout = 600

    def setup(self):
        if importlib.util.find_spec("torch") is None:
            raise NotImplementedError("torch is not installed")

    def timeraw_import_build_predict(self):
        return _statement("torch")


class DemoStart(_FastmlpProcess):
    """fastmlp's demo in a fresh process (``python -m fastmlp demo --quiet``), with a warm and an empty cache.

    With an empty cache this is a new user's first run: every kernel the demo needs is compiled.
    """

    repeat = (1, 3, 120.0)
    timeout = 1200
    job = "demo"

    def timeraw_demo(self, cache):
        return _statement("fastmlp", "demo"), _setup_code("fastmlp", self.cache_dir)


def demo_first_run(repeats=3, python=None):
    """The demo with a warm cache and with an empty one, taking turns: medians in seconds, and their ratio."""
    python = python or sys.executable
    work = tempfile.mkdtemp(prefix="fastmlp-startup-")
    os.chmod(work, 0o700)
    try:
        warm_dir = os.path.join(work, "numba-cache")
        _fill_cache(warm_dir, python, work, job="demo")
        times = {"demo_warm_cache_s": [], "demo_empty_cache_s": []}
        for _ in range(repeats):
            times["demo_warm_cache_s"].append(_run_once("fastmlp", warm_dir, python, work, "demo"))
            times["demo_empty_cache_s"].append(_run_once("fastmlp", None, python, work, "demo"))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    results = {name: statistics.median(values) for name, values in times.items()}
    results.update({f"{name}_all": values for name, values in times.items()})
    return results


def _can_import(python, module):
    return subprocess.run([python, "-c", f"import {module}"], capture_output=True).returncode == 0


def compare(repeats=5, python=None):
    """fastmlp's warm and empty-cache cold starts and torch's (where ``python`` imports it), in one run.

    The variants take turns, one process each per round, so that a change in the machine's load during the run
    affects them alike. Returns a dict of medians in seconds, and fastmlp's warm time over torch's.
    """
    python = python or sys.executable
    variants = {"fastmlp_warm_cache_s": ("fastmlp", "warm"), "fastmlp_empty_cache_s": ("fastmlp", "empty")}
    if _can_import(python, "torch"):
        variants["torch_s"] = ("torch", None)
    work = tempfile.mkdtemp(prefix="fastmlp-startup-")
    os.chmod(work, 0o700)
    try:
        warm_dir = os.path.join(work, "numba-cache")
        _fill_cache(warm_dir, python, work)  # also warms the file cache for the fastmlp variants
        if "torch_s" in variants:
            _run_once("torch", None, python, work)  # untimed: warms the file cache for torch
        times = {name: [] for name in variants}
        for _ in range(repeats):
            for name, (peer, cache) in variants.items():
                times[name].append(_run_once(peer, warm_dir if cache == "warm" else None, python, work))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    results = {name: statistics.median(values) for name, values in times.items()}
    if "torch_s" in results:
        results["fastmlp_warm_over_torch"] = results["fastmlp_warm_cache_s"] / results["torch_s"]
    return results


_PHASES_SCRIPT = f"""
import json, time
_clock = [time.perf_counter()]
_seconds = {{}}
def _lap(name):
    _clock.append(time.perf_counter())
    _seconds[name] = _clock[-1] - _clock[-2]
import numpy as np
_lap("import numpy")
import numba
_lap("import numba")
import fastmlp
_lap("import fastmlp")
@numba.njit
def _one(x):
    return x + 1
_one(1)
_lap("numba one-time set-up")
model = fastmlp.Model({list(SIZES)}, hidden="relu", output="softmax", seed=0)
_lap("build the model")
x = np.ones((1, {SIZES[0]}), dtype=np.float32)
model.predict(x)
_lap("first predict")
model.predict(x)
_lap("second predict")
print(json.dumps(_seconds))
"""


def phases(cache="warm", repeats=5, python=None):
    """Where fastmlp's cold start goes: median seconds of each phase over ``repeats`` fresh processes.

    The phases are the imports of NumPy, Numba and fastmlp, Numba's one-time set-up (what its first compiled call
    costs in any process: loading its type registries and its runtime, after fastmlp's import, which spares it the
    import of ``scipy.linalg``), building W2's network, and the first and second one-row predictions (the first
    loads, or with an empty cache compiles, the kernel).
    """
    if cache not in CACHES:
        raise ValueError(f"cache must be one of {CACHES}, got {cache!r}")
    python = python or sys.executable
    work = tempfile.mkdtemp(prefix="fastmlp-startup-")
    os.chmod(work, 0o700)
    try:
        warm_dir = os.path.join(work, "numba-cache") if cache == "warm" else None
        runs = []
        for i in range(repeats + 1):  # the first fills the warm cache and the file cache, untimed
            seconds = json.loads(_last_line(_setup_code("fastmlp", warm_dir) + _PHASES_SCRIPT, python, work))
            if i:
                runs.append(seconds)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return {name: statistics.median(run[name] for run in runs) for name in runs[0]}


def main(argv=None):
    """Print the cold-start medians (JSON), fastmlp's and, where the interpreter has it, torch's."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--python", default=sys.executable, help="interpreter to measure (default: this one)")
    parser.add_argument(
        "--phases", action="store_true", help="time each phase of fastmlp's cold start instead (warm and empty cache)"
    )
    parser.add_argument(
        "--demo", action="store_true", help="time fastmlp's demo instead (warm and empty cache, taking turns)"
    )
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error(f"--repeats must be >= 1, got {args.repeats}")
    if args.phases and args.demo:
        parser.error("choose one of --phases and --demo")
    if args.phases:
        results = {cache: phases(cache, args.repeats, args.python) for cache in CACHES}
    elif args.demo:
        results = demo_first_run(args.repeats, args.python)
    else:
        results = compare(args.repeats, args.python)
    print(json.dumps({"python": args.python, "repeats": args.repeats, **results}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
