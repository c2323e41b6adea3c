"""Model files against hostile or unlucky paths: special files are never replaced, interrupted saves leave nothing."""

import hashlib
import io
import os
import signal
import stat
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import tracemalloc
import zipfile

import numpy as np
import pytest

import fastmlp as fm
import fastmlp._modelfile as mf
from fastmlp.io import ModelFileError, load, load_with_metadata, save_model

DATA = os.path.join(os.path.dirname(__file__), "data")

needs_fifo = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")


def write_archive(path, parts):
    """Write ``parts`` (an iterable of (name, bytes), duplicates allowed) as a stored ZIP archive with valid CRCs."""
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in parts:
            archive.writestr(zipfile.ZipInfo(name), data)
    return path


def npy_bytes(array, allow_pickle=False):
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=allow_pickle)
    return buffer.getvalue()


def digest(array):
    return hashlib.sha256(np.ascontiguousarray(array).reshape(-1).view(np.uint8)).hexdigest()


def refuses(path, match="", *, seconds=2.0, peak_bytes=32 << 20):
    """Assert that loading ``path`` raises ModelFileError matching ``match``, within the time and memory given."""
    tracemalloc.start()
    start = time.perf_counter()
    try:
        with pytest.raises(ModelFileError, match=match) as info:
            load_with_metadata(path)
        elapsed = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert elapsed < seconds, f"took {elapsed:.2f} s to refuse"
    assert peak < peak_bytes, f"allocated {peak} bytes to refuse"
    return info.value


# ---------------------------------------------------------------------------------------------------------------
# Special files: never replaced by save, never read by load


@needs_fifo
def test_save_refuses_a_fifo_and_leaves_it(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(OSError, match="not a regular file") as info:
        save_model(fm.Model([2, 1]), fifo)
    assert info.value.filename == str(fifo)
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode) and os.listdir(tmp_path) == ["pipe"]


@needs_fifo
def test_save_refuses_a_symlink_to_a_fifo_and_leaves_both(tmp_path):
    os.mkfifo(tmp_path / "pipe")
    os.symlink(tmp_path / "pipe", tmp_path / "link")
    with pytest.raises(OSError, match="not a regular file"):
        save_model(fm.Model([2, 1]), tmp_path / "link")
    assert os.path.islink(tmp_path / "link") and stat.S_ISFIFO(os.stat(tmp_path / "link").st_mode)
    assert sorted(os.listdir(tmp_path)) == ["link", "pipe"]


def test_save_refuses_a_directory(tmp_path):
    (tmp_path / "d").mkdir()
    with pytest.raises(IsADirectoryError, match="refusing to replace"):
        save_model(fm.Model([2, 1]), tmp_path / "d")
    assert os.listdir(tmp_path) == ["d"] and os.listdir(tmp_path / "d") == []


@pytest.mark.skipif(not os.path.exists(os.devnull) or os.name != "posix", reason="needs a POSIX /dev/null")
def test_save_refuses_a_device_before_touching_anything(monkeypatch):
    """``/dev/null`` is refused from its ``stat`` alone: no temporary file in /dev, no rename over the device."""
    before = os.stat(os.devnull)
    assert stat.S_ISCHR(before.st_mode)

    def forbidden(*args, **kwargs):
        raise AssertionError("save went past the refusal and tried to write beside the device")

    # Guards, so that a regression fails this test instead of replacing the device (as root it would).
    monkeypatch.setattr(tempfile, "mkstemp", forbidden)
    monkeypatch.setattr(os, "replace", forbidden)
    monkeypatch.setattr(mf, "open", forbidden, raising=False)
    with pytest.raises(OSError, match="not a regular file: a character device") as info:
        save_model(fm.Model([2, 1]), os.devnull)
    assert not isinstance(info.value, AssertionError) and info.value.filename == os.devnull
    after = os.stat(os.devnull)
    assert stat.S_ISCHR(after.st_mode) and (after.st_ino, after.st_rdev) == (before.st_ino, before.st_rdev)


def test_save_still_replaces_a_symlink_to_a_regular_file(tmp_path):
    save_model(fm.Model([2, 1], seed=1), tmp_path / "real.npz")
    os.symlink(tmp_path / "real.npz", tmp_path / "link.npz")
    save_model(fm.Model([2, 1], seed=2), tmp_path / "link.npz")
    assert not os.path.islink(tmp_path / "link.npz")  # as before: the link is replaced, its target kept
    assert load(tmp_path / "link.npz").params.tolist() == fm.Model([2, 1], seed=2).params.tolist()


# ---------------------------------------------------------------------------------------------------------------
# Interrupted saves leave no temporary file

_SLOW_SAVE = textwrap.dedent(
    """
    import sys, time
    import fastmlp as fm
    import fastmlp._modelfile as mf

    real = mf._write_archive

    def slow(fileobj, *args):
        real(fileobj, *args)  # the whole file is written to the temporary path...
        fileobj.flush()
        print("written", flush=True)
        time.sleep(60)  # ...and the signal arrives before the rename

    mf._write_archive = slow
    fm.Model([20, 30, 2], seed=5).save(sys.argv[1])
    """
)


@pytest.mark.skipif(os.name != "posix", reason="POSIX signals")
@pytest.mark.parametrize("signum", [signal.SIGTERM, getattr(signal, "SIGHUP", signal.SIGTERM)])
@pytest.mark.parametrize("existing", [True, False])
def test_a_terminating_signal_during_save_removes_the_temporary_file(tmp_path, signum, existing):
    target = tmp_path / "model.npz"
    if existing:
        save_model(fm.Model([3, 1], seed=1), target)
    before = target.read_bytes() if existing else None
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([os.getcwd(), *sys.path])}
    child = subprocess.Popen(
        [sys.executable, "-c", _SLOW_SAVE, str(target)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
    )
    try:
        line = child.stdout.readline()
        assert line == b"written\n", child.stderr.read().decode()
        assert any(n.endswith(".tmp") for n in os.listdir(tmp_path))  # mid-save: the temporary file exists
        child.send_signal(signum)
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        child.stdout.close()
        child.stderr.close()
    assert child.returncode == -signum  # it still dies of the signal, as it would have without fastmlp
    assert os.listdir(tmp_path) == (["model.npz"] if existing else [])
    if existing:
        assert target.read_bytes() == before


@pytest.mark.skipif(os.name != "posix", reason="POSIX signals")
def test_signal_handlers_are_restored_and_never_override_the_callers(tmp_path, monkeypatch):
    seen = []
    real = mf._write_archive

    def spy(*args):
        seen.append(signal.getsignal(signal.SIGTERM))
        real(*args)

    monkeypatch.setattr(mf, "_write_archive", spy)
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL
    save_model(fm.Model([2, 1]), tmp_path / "a.npz")
    assert seen[-1] not in (signal.SIG_DFL, None) and signal.getsignal(signal.SIGTERM) == signal.SIG_DFL

    def mine(signum, frame):
        pass

    previous = signal.signal(signal.SIGTERM, mine)
    try:
        save_model(fm.Model([2, 1]), tmp_path / "b.npz")
        assert seen[-1] is mine and signal.getsignal(signal.SIGTERM) is mine
        ignored = signal.signal(signal.SIGTERM, signal.SIG_IGN)  # e.g. nohup's SIGHUP: left ignored
        save_model(fm.Model([2, 1]), tmp_path / "c.npz")
        assert seen[-1] == signal.SIG_IGN and ignored is mine
    finally:
        signal.signal(signal.SIGTERM, previous)


def test_saving_from_a_thread_works_and_leaves_the_handlers_alone(tmp_path):
    errors = []

    def target():
        try:
            save_model(fm.Model([2, 1]), tmp_path / "t.npz")
        except BaseException as exc:  # noqa: B036 - reported to the test
            errors.append(exc)

    before = signal.getsignal(signal.SIGTERM)
    thread = threading.Thread(target=target)
    thread.start()
    thread.join(30)
    assert errors == [] and signal.getsignal(signal.SIGTERM) == before
    load(tmp_path / "t.npz")
