"""Installs as users get them: a wheel in a fresh venv, a read-only install run by a non-root user, fork.

These tests build a wheel of this checkout and install it, with its declared dependencies only, into a plain venv
(no system site-packages), then run ``python -m fastmlp demo`` there:

- in the fresh venv as it is: an undeclared dependency makes the demo fail;
- with the installed files made read-only (``chmod -R a-w``) and run by an unprivileged user whose home is not
  writable. Numba's ``cache=True`` raises at import in that case (see ``fastmlp/_jit/_config.py``): fastmlp must
  compile in memory and warn once. With a private ``NUMBA_CACHE_DIR`` it must cache there, with no warning, and a
  second run must load every kernel from that cache. Root ignores file permissions, so when the tests run as
  root they create a throwaway system user and run the demo through ``runuser``.

The last test forks a ``multiprocessing`` pool from a process that has already predicted. The children must
predict the same bits without hanging.
"""

import json
import os
import pwd
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.subprocess  # every test runs fresh Python processes

REPO = Path(__file__).resolve().parents[1]
SUMMARY = re.compile(r"^summary: linear model \d+\.\d%, MLP \d+\.\d% test accuracy; MLP trained 3 epochs in ")
DEMO = ["-m", "fastmlp", "demo", "--quiet", "--epochs", "3"]
WARNING_LINE = re.compile(r"^\S.*:\d+: (\w+Warning): (.*)$", re.MULTILINE)
INSTALL_TIMEOUT = 900
RUN_TIMEOUT = 300
# Not copied into the wheel's build directory: the build would pick up stale build/ output, and caches are big.
COPY_IGNORE = shutil.ignore_patterns(
    ".git",
    ".asv",
    "build",
    "dist",
    "*.egg-info",
    "__pycache__",
    ".pytest_cache",
    ".hypothesis",
    "*.nbi",
    "*.nbc",
    ".venv",
    "venv",
    ".tox",
    ".nox",
)


def _tool(name):
    """The full path of a system tool, also looked for in the sbin directories (often not on a user's PATH)."""
    return shutil.which(name, path=os.pathsep.join([os.environ.get("PATH", os.defpath), "/usr/sbin", "/sbin"]))


def _clean_environ(**extra):
    """The environment of this process, without what would make a child import something else than the venv's."""
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP"}}
    env.update(extra)
    return env


def _check(done, what):
    assert done.returncode == 0, (
        f"{what} failed with exit {done.returncode}\n--- stdout\n{done.stdout}\n--- stderr\n{done.stderr}"
    )
    return done


def _warnings(stderr):
    """``[(category, message), ...]`` for every warning that Python's warning machinery printed."""
    return WARNING_LINE.findall(stderr)


class Runner:
    """Runs commands as an unprivileged user with exactly the environment given (no inherited variables)."""

    def __init__(self, user, created):
        self.user = user  # None: this process is not root, commands run as it
        self.created = created
        entry = pwd.getpwnam(user) if user else pwd.getpwuid(os.geteuid())
        self.uid, self.gid = entry.pw_uid, entry.pw_gid

    def run(self, argv, env, cwd="/", timeout=RUN_TIMEOUT):
        argv = [str(a) for a in argv]
        if self.user is not None:
            argv = (
                [_tool("runuser"), "-u", self.user, "--", shutil.which("env") or "/usr/bin/env", "-i"]
                + [f"{k}={v}" for k, v in env.items()]
                + argv
            )
            env = {"PATH": os.defpath}
        return subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)

    def private_dir(self, parent, name):
        """A directory of mode 0700 owned by the user (Numba's cache files are pickles: keep them private)."""
        path = Path(parent) / name
        path.mkdir(mode=0o700)
        os.chown(path, self.uid, self.gid)
        path.chmod(0o700)
        return path


def _make_unprivileged_user():
    """Return ``(Runner, None)`` or ``(None, reason)``."""
    if os.geteuid() != 0:
        return Runner(None, False), None  # permissions already apply to this process
    if _tool("runuser") is None:
        return None, "running as root and runuser (util-linux) is missing: cannot switch to an unprivileged user"
    name = f"fastmlp-ro-{os.getpid()}"
    if _tool("useradd"):
        shell = _tool("nologin") or "/bin/false"
        made = subprocess.run(
            [
                _tool("useradd"),
                "--system",
                "--user-group",
                "--no-create-home",
                "--home-dir",
                "/nonexistent",
                "--shell",
                shell,
                name,
            ],
            capture_output=True,
            text=True,
        )
        if made.returncode == 0:
            return Runner(name, True), None
    try:  # no useradd, or it failed (a read-only /etc): the conventional unprivileged account
        pwd.getpwnam("nobody")
    except KeyError:
        return None, "running as root, useradd is missing or failed and there is no 'nobody' user to switch to"
    return Runner("nobody", False), None


def _pick_interpreter(runner):
    """A Python >= 3.10 with venv that the unprivileged user can run (pyenv's under /root, mode 0700, is not)."""
    candidates = [
        sys.executable,
        getattr(sys, "_base_executable", None),
        shutil.which("python3"),
        "/usr/bin/python3",
        "/usr/local/bin/python3",
    ]
    seen = []
    for candidate in candidates:
        if candidate and os.path.exists(candidate):
            real = os.path.realpath(candidate)
            if real not in seen:
                seen.append(real)
    probe = "import sys, venv, ensurepip; raise SystemExit(sys.version_info < (3, 10))"
    for candidate in seen:
        done = runner.run([candidate, "-c", probe], env={"PATH": os.defpath, "HOME": "/nonexistent"})
        if done.returncode == 0:
            return candidate, None
    return sys.executable, f"no Python >= 3.10 with venv that user {runner.user} can run (tried {seen})"


class Install:
    """The wheel installed into a fresh venv, in a directory every user can read."""

    def __init__(self, root, python, site_packages, package, seconds, base_python, runner, runner_reason):
        self.root, self.python, self.site_packages, self.package = root, python, site_packages, package
        self.seconds, self.base_python = seconds, base_python
        self.runner, self.runner_reason = runner, runner_reason


@pytest.fixture(scope="module")
def install():
    root = Path(tempfile.mkdtemp(prefix="fastmlp-install-"))
    root.chmod(0o755)  # the unprivileged user must reach the venv; pytest's tmp_path is private to its user
    runner, reason = _make_unprivileged_user()
    try:
        base_python = sys.executable
        if runner is not None:
            base_python, python_reason = _pick_interpreter(runner)
            reason = reason or python_reason
        timings = {}
        start = time.perf_counter()
        source = root / "src"
        shutil.copytree(REPO, source, ignore=COPY_IGNORE)
        wheels = root / "wheels"
        _check(
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "pip",
                    "wheel",
                    "--no-deps",
                    "--no-input",
                    "--disable-pip-version-check",
                    "-q",
                    "-w",
                    wheels,
                    source,
                ],
                env=_clean_environ(),
                cwd=root,
                capture_output=True,
                text=True,
                timeout=INSTALL_TIMEOUT,
            ),
            "building the wheel",
        )
        (wheel,) = wheels.glob("fastmlp-*.whl")
        timings["wheel"] = time.perf_counter() - start

        start = time.perf_counter()
        venv = root / "venv"
        _check(
            subprocess.run(
                [base_python, "-m", "venv", venv],
                env=_clean_environ(),
                capture_output=True,
                text=True,
                timeout=INSTALL_TIMEOUT,
            ),
            "creating the venv",
        )
        python = venv / "bin" / "python"
        _check(
            subprocess.run(
                [python, "-m", "pip", "install", "--no-input", "--disable-pip-version-check", "-q", wheel],
                env=_clean_environ(),
                cwd=root,
                capture_output=True,
                text=True,
                timeout=INSTALL_TIMEOUT,
            ),
            "pip install of the wheel with its declared dependencies",
        )
        timings["venv_and_install"] = time.perf_counter() - start
        site_packages = Path(
            subprocess.run(
                [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                capture_output=True,
                text=True,
                check=True,
                env=_clean_environ(),
            ).stdout.strip()
        )
        # Readable by everyone whatever the umask was, as a system-wide install is.
        subprocess.run(["chmod", "-R", "a+rX", root], check=True)
        yield Install(root, python, site_packages, site_packages / "fastmlp", timings, base_python, runner, reason)
    finally:
        if os.geteuid() != 0:  # restore write access so that the tree can be removed
            subprocess.run(["chmod", "-R", "u+w", root], check=False)
        shutil.rmtree(root, ignore_errors=True)
        if runner is not None and runner.created:
            subprocess.run([_tool("userdel") or "userdel", runner.user], capture_output=True)


@pytest.fixture(scope="module")
def read_only(install):
    """The installed files made read-only; the unprivileged runner, or a skip with the reason."""
    if install.runner is None or install.runner_reason:
        pytest.skip(install.runner_reason)
    # The whole site-packages, as in a system or container image: no writable __pycache__ anywhere in it.
    subprocess.run(["chmod", "-R", "a-w", install.site_packages], check=True)
    return install


# The three share one wheel build and venv install (~22 s), paid by whichever runs first; each demo is ~10 s more.
@pytest.mark.slow
@pytest.mark.install
def test_fresh_venv_with_the_declared_dependencies_runs_the_demo(install, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    env = {"PATH": f"{install.python.parent}{os.pathsep}{os.defpath}", "HOME": str(home)}
    where = _check(
        subprocess.run(
            [install.python, "-c", "import fastmlp; print(fastmlp.__file__)"],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=RUN_TIMEOUT,
        ),
        "import fastmlp",
    )
    assert Path(where.stdout.strip()).resolve().is_relative_to(install.site_packages.resolve()), where.stdout
    start = time.perf_counter()
    done = _check(
        subprocess.run(
            [install.python, *DEMO], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=RUN_TIMEOUT
        ),
        "the demo in a fresh venv",
    )
    seconds = time.perf_counter() - start
    assert SUMMARY.match(done.stdout.strip().splitlines()[-1]), done.stdout
    assert not _warnings(done.stderr), done.stderr
    # The default cache location: __pycache__ beside the kernels (or the user's cache dir if that is read-only).
    cached = list(install.package.rglob("*.nbi")) + list(home.rglob("*.nbi"))
    assert cached, "the demo cached no kernel on disk"
    print(
        f"\nwheel {install.seconds['wheel']:.1f} s, venv + pip install {install.seconds['venv_and_install']:.1f} s "
        f"(base {install.base_python}), demo {seconds:.1f} s"
    )


@pytest.mark.slow
@pytest.mark.install
def test_read_only_install_without_a_writable_home_compiles_in_memory_with_one_warning(read_only, tmp_path):
    runner = read_only.runner
    env = {"PATH": os.defpath, "HOME": "/nonexistent"}  # no NUMBA_CACHE_DIR, no XDG_CACHE_HOME
    before = sorted(read_only.package.rglob("*"))
    start = time.perf_counter()
    done = runner.run([read_only.python, *DEMO], env=env)
    seconds = time.perf_counter() - start
    _check(done, f"the demo as {runner.user or 'this user'} on a read-only install with HOME=/nonexistent")
    assert SUMMARY.match(done.stdout.strip().splitlines()[-1]), done.stdout
    found = _warnings(done.stderr)
    assert len(found) == 1, done.stderr
    category, message = found[0]
    assert category == "RuntimeWarning", done.stderr
    assert "compile cache is unavailable" in message and "NUMBA_CACHE_DIR" in message, message
    assert "Traceback" not in done.stderr, done.stderr
    assert sorted(read_only.package.rglob("*")) == before  # nothing was written into the package
    print(f"\nread-only, no cache: demo {seconds:.1f} s as {runner.user or os.getuid()}")


STATS = """
import importlib, json, pkgutil, sys
import numba
import fastmlp._jit
from fastmlp import cli

rc = cli.main(["demo", "--quiet", "--epochs", "3"])
hits = misses = 0
for info in pkgutil.iter_modules(fastmlp._jit.__path__):
    module = importlib.import_module("fastmlp._jit." + info.name)
    for kernel in vars(module).values():
        if isinstance(kernel, numba.core.registry.CPUDispatcher) and kernel.__module__ == module.__name__:
            hits += sum(kernel.stats.cache_hits.values())
            misses += sum(kernel.stats.cache_misses.values())
print(json.dumps({"rc": rc, "hits": hits, "misses": misses, "file": fastmlp.__file__}))
"""


@pytest.mark.slow
@pytest.mark.install
def test_read_only_install_caches_in_numba_cache_dir(read_only):
    runner = read_only.runner
    work = Path(tempfile.mkdtemp(prefix="fastmlp-cachedir-", dir=read_only.root))
    work.chmod(0o755)
    cache = runner.private_dir(work, "numba-cache")
    env = {"PATH": os.defpath, "HOME": "/nonexistent", "NUMBA_CACHE_DIR": str(cache)}

    start = time.perf_counter()
    first = _check(runner.run([read_only.python, *DEMO], env=env), "the demo with a private NUMBA_CACHE_DIR")
    first_seconds = time.perf_counter() - start
    assert SUMMARY.match(first.stdout.strip().splitlines()[-1]), first.stdout
    assert not _warnings(first.stderr), first.stderr
    index_files = list(cache.rglob("*.nbi"))
    assert index_files and list(cache.rglob("*.nbc")), "nothing was cached in NUMBA_CACHE_DIR"
    assert all(p.stat().st_uid == runner.uid for p in index_files)

    script = work / "cache_stats.py"
    script.write_text(textwrap.dedent(STATS))
    script.chmod(0o644)
    start = time.perf_counter()
    second = _check(runner.run([read_only.python, script], env=env, cwd=work), "the second run")
    second_seconds = time.perf_counter() - start
    assert not _warnings(second.stderr), second.stderr
    stats = json.loads(second.stdout.strip().splitlines()[-1])
    assert stats["rc"] == 0 and SUMMARY.match(second.stdout.strip().splitlines()[-2]), second.stdout
    assert Path(stats["file"]).resolve().is_relative_to(read_only.site_packages.resolve()), stats
    assert stats["misses"] == 0 and stats["hits"] > 0, stats  # every kernel came from NUMBA_CACHE_DIR
    print(f"\nread-only, NUMBA_CACHE_DIR: first demo {first_seconds:.1f} s, second {second_seconds:.1f} s, {stats}")


FORK = """
import multiprocessing
import numpy as np
import fastmlp

model = fastmlp.Model([784, 256, 128, 10], hidden="relu", output="softmax", seed=0)
X = np.random.default_rng(0).normal(size=(2000, 784)).astype(np.float32)
chunks = np.array_split(X, 8)
expected = [model.predict(chunk) for chunk in chunks]  # the parent has compiled and run the kernels and its BLAS


def child(i):
    return model.predict(chunks[i])


with multiprocessing.get_context("fork").Pool(2) as pool:
    got = pool.map_async(child, range(len(chunks))).get(timeout=120)
same = [bool(np.array_equal(a, b)) for a, b in zip(got, expected)]
print("same", same)
assert all(same), same
"""


def test_fork_after_predict_does_not_hang_and_gives_the_parents_results(tmp_path):
    script = tmp_path / "fork_predict.py"
    script.write_text(textwrap.dedent(FORK))
    proc = subprocess.Popen(
        [sys.executable, script],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        stdout, stderr = proc.communicate(timeout=240)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # the parent and any hung pool worker
        stdout, stderr = proc.communicate()
        pytest.fail(f"a fork-based pool predicting with fastmlp hung\n{stdout}\n{stderr}")
    assert proc.returncode == 0, f"exit {proc.returncode}\n{stdout}\n{stderr}"
    assert "same [True, True, True, True, True, True, True, True]" in stdout, stdout


@pytest.mark.slow  # fresh processes, one of them compiling every kernel into an empty cache
@pytest.mark.benchmark
def test_cold_start_measurement_runs(tmp_path):
    """``bench/startup.py``'s ``measure_cold_start``, once for each cache state.

    Its asv benchmarks are ``timeraw_`` ones, which the bench smoke test does not call; ``measure_cold_start`` runs
    the same code strings in fresh processes.
    """
    code = (
        "import json\n"
        "from bench.startup import measure_cold_start\n"
        "print(json.dumps({c: measure_cold_start(c, repeats=1) for c in ('warm', 'empty')}))\n"
    )
    seconds = _bench_json(code, "measure_cold_start")
    assert all(0 < s < RUN_TIMEOUT for s in seconds.values()), seconds
    print(f"\ncold start, one sample each: {seconds}")


@pytest.mark.slow  # the demo in fresh processes, the first compiling its kernels into an empty cache
@pytest.mark.benchmark
def test_demo_run_is_timed(tmp_path):
    """``measure_cold_start(job="demo")`` times the demo's run, what asv's ``DemoStart`` times (warm cache here)."""
    code = (
        "import json\n"
        "from bench.startup import measure_cold_start\n"
        "print(json.dumps({'warm': measure_cold_start('warm', repeats=1, job='demo')}))\n"
    )
    seconds = _bench_json(code, "measure_cold_start(job='demo')")
    assert 0 < seconds["warm"] < RUN_TIMEOUT, seconds


def test_startup_refuses_an_unknown_job_before_starting_a_process():
    from bench import startup

    with pytest.raises(ValueError, match="job must be one of"):
        startup.measure_cold_start("warm", job="train")
    with pytest.raises(ValueError, match="peer must be 'fastmlp'"):
        startup.measure_cold_start("warm", peer="torch", job="demo")


def _bench_json(code, what):
    """Run ``code`` (which imports from bench/) in a fresh, clean process; return the JSON of its last line."""
    done = _check(
        subprocess.run(
            [sys.executable, "-c", code],
            cwd=REPO,
            env=_clean_environ(PYTHONPATH=str(REPO)),
            capture_output=True,
            text=True,
            timeout=RUN_TIMEOUT,
        ),
        what,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.slow  # a fresh process per phase
@pytest.mark.benchmark
def test_cold_start_phases_are_timed(tmp_path):
    """``python -m bench.startup --phases`` times each phase of a warm cold start in fresh processes."""
    code = "import json\nfrom bench.startup import phases\nprint(json.dumps(phases('warm', repeats=1)))\n"
    seconds = _bench_json(code, "phases")
    assert list(seconds) == [
        "import numpy", "import numba", "import fastmlp", "numba one-time set-up", "build the model",
        "first predict", "second predict",
    ]  # fmt: skip
    assert all(0 < s < RUN_TIMEOUT for s in seconds.values()), seconds
    # With a warm cache the first predict only loads the kernel: far less than Numba's own set-up.
    assert seconds["first predict"] < seconds["numba one-time set-up"], seconds
