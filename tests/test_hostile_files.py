"""Model files against hostile or unlucky paths and contents: what save writes, load reads; what load refuses, it
refuses quickly, in bounded memory, with ModelFileError and nothing else; special files are never replaced or read.
"""

import hashlib
import io
import json
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
from fastmlp.io import MAX_HEADER_BYTES, ModelFileError, load, load_with_metadata, save_model

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
# Whatever save writes, load reads (or save refuses before replacing anything)


def test_save_refuses_metadata_beyond_the_header_limit_and_keeps_the_old_file(tmp_path):
    target = tmp_path / "model.npz"
    save_model(fm.Model([3, 1], seed=1), target)
    before = target.read_bytes()
    with pytest.raises(ValueError, match=r"header would be \d+ bytes.*1048576.*arrays") as info:
        save_model(fm.Model([3, 1], seed=2), target, metadata={"blob": "x" * MAX_HEADER_BYTES})
    assert not isinstance(info.value, ModelFileError) and str(target) in str(info.value)
    assert os.listdir(tmp_path) == ["model.npz"] and target.read_bytes() == before
    load(target)


@pytest.mark.parametrize(
    "limit, value, match",
    [
        ("MAX_HEADER_BYTES", 100, r"header would be \d+ bytes"),
        ("MAX_PARAMS", 10, "load would refuse.*more than the limit of 10"),
    ],
)
def test_the_limits_checked_at_save_are_the_loaders(tmp_path, monkeypatch, limit, value, match):
    """A header the loader would refuse (here: under limits lowered for the test) is never written."""
    target = tmp_path / "m.npz"
    save_model(fm.Model([3, 1]), target)
    before = target.read_bytes()
    monkeypatch.setattr(mf, limit, value)
    with pytest.raises(ValueError, match=match):
        save_model(fm.Model([3, 4, 1]), target)
    assert os.listdir(tmp_path) == ["m.npz"] and target.read_bytes() == before


def test_arrays_round_trip_bit_exactly_and_are_declared(tmp_path):
    arrays = {
        "input_mean": np.array([0.5, -1.25, 3e300]),
        "input_scale": np.array([1.0, 2.0, 0.5], dtype=">f8"),  # stored little-endian
        "counts": np.arange(6, dtype=np.int32).reshape(2, 3),
        "fortran": np.asfortranarray(np.arange(6, dtype=np.uint16).reshape(2, 3)),  # stored in C order
        "flags": np.array([True, False]),
        "names": np.array(["α", "", "long name"]),
        "scalar": np.array(7, dtype=np.int64),
        "empty": np.zeros((0, 4), dtype=np.float32),
        "z": np.array([1 + 2j], dtype=np.complex64),
        "half": np.array([0.5], dtype=np.float16),
        "odd": np.array([np.nan, -np.inf]),  # values are the caller's to check
    }
    path = tmp_path / "m.npz"
    model = fm.Model([3, 2], seed=0)
    save_model(model, path, metadata={"note": 1}, arrays=arrays)
    loaded, header = load_with_metadata(path)
    assert header["format_version"] == 2 and header["metadata"] == {"note": 1}
    assert sorted(header.arrays) == sorted(arrays)
    for name, array in arrays.items():
        back = header.arrays[name]
        assert back.dtype == array.dtype.newbyteorder("<") and back.shape == array.shape
        assert back.dtype.byteorder in "<|=" and back.flags.c_contiguous and back.flags.writeable
        np.testing.assert_array_equal(back, array)
        declared = header["arrays"][name]
        assert declared == {"dtype": back.dtype.str, "shape": list(array.shape), "sha256": digest(back)}
    assert json.loads(json.dumps(header)) == dict(header)  # the header stays plain JSON (fastmlp info --json)
    with zipfile.ZipFile(path) as archive:
        assert sorted(archive.namelist()) == sorted(["header.json", "params.npy"] + [f"arrays/{n}.npy" for n in arrays])
    with np.load(path, allow_pickle=False) as f:  # plain NumPy still reads every member
        np.testing.assert_array_equal(f["arrays/names"], arrays["names"])
    assert loaded.n_params == model.n_params


def test_a_file_without_arrays_is_written_as_version_1(tmp_path):
    """The oldest version that holds the content, so older fastmlp versions keep reading plain models."""
    save_model(fm.Model([3, 2]), tmp_path / "m.npz", arrays={})
    _, header = load_with_metadata(tmp_path / "m.npz")
    assert header["format_version"] == 1 and "arrays" not in header and header.arrays == {}


@pytest.mark.parametrize(
    "arrays, error, match",
    [
        ([np.zeros(2)], TypeError, "arrays must be a dict"),
        ({"a": [1.0, 2.0]}, TypeError, r"arrays\['a'\] must be a NumPy array; got list"),
        ({"a": np.array([1, "x"], dtype=object)}, TypeError, r"arrays\['a'\] has dtype object"),
        ({"a": np.array([b"x"])}, TypeError, r"dtype \|S1"),
        ({"a": np.array(["2020-01-01"], dtype="datetime64[D]")}, TypeError, "datetime64"),
        ({"a": np.zeros(1, dtype=[("x", "<f8")])}, TypeError, "has dtype"),
        ({"a": np.zeros(1, dtype=np.longdouble)}, TypeError, "has dtype"),
        ({"a": np.zeros(1, dtype=f"<U{mf.MAX_STRING_LENGTH + 1}")}, TypeError, r"<U1048577.*<U1 to <U1048576"),
        ({"../x": np.zeros(1)}, ValueError, "array names"),
        ({"a/b": np.zeros(1)}, ValueError, "array names"),
        ({"": np.zeros(1)}, ValueError, "array names"),
        ({"x" * 65: np.zeros(1)}, ValueError, "array names"),
        ({"x\n": np.zeros(1)}, ValueError, "array names"),
        ({1: np.zeros(1)}, TypeError, "array names"),
        ({f"a{i}": np.zeros(1) for i in range(1025)}, ValueError, "at most 1024 arrays"),
        ({"a": np.zeros((1,) * 33)}, ValueError, "33 dimensions"),
    ],
)
def test_arrays_that_could_not_be_loaded_are_refused_at_save(tmp_path, arrays, error, match):
    target = tmp_path / "m.npz"
    save_model(fm.Model([2, 1], seed=1), target)
    before = target.read_bytes()
    with pytest.raises(error, match=match):
        save_model(fm.Model([2, 1], seed=2), target, arrays=arrays)
    assert os.listdir(tmp_path) == ["m.npz"] and target.read_bytes() == before


def test_a_version_1_file_still_loads():
    """A file written by fastmlp before format version 2 (kept in tests/data)."""
    model, header = load_with_metadata(os.path.join(DATA, "v1_model.npz"))
    assert header["format_version"] == 1 and header.arrays == {} and "arrays" not in header
    assert header["metadata"] == {"note": "v1"} and model.sizes == (3, 4, 2) and model.output == "softmax"


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


def _load_in_thread(path, timeout=5.0):
    """Load ``path`` in a daemon thread; return the exception raised, or fail if it did not return in time."""
    outcome = []

    def target():
        try:
            load(path)
            outcome.append(None)
        except BaseException as exc:  # noqa: B036 - reported to the test
            outcome.append(exc)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        # Unblock a reader stuck opening the pipe: a writer arrives and leaves, so it sees end-of-file.
        try:
            os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))
        except OSError:
            pass
        thread.join(timeout)
        pytest.fail(f"load({str(path)!r}) blocked for more than {timeout} s")
    return outcome[0]


@needs_fifo
@pytest.mark.parametrize("via_symlink", [False, True])
def test_load_refuses_a_fifo_without_blocking(tmp_path, via_symlink):
    os.mkfifo(tmp_path / "pipe")
    path = tmp_path / "pipe"
    if via_symlink:
        os.symlink(path, tmp_path / "link.npz")
        path = tmp_path / "link.npz"
    exc = _load_in_thread(path)
    assert isinstance(exc, ModelFileError) and "not a regular file: a named pipe (FIFO)" in exc.reason


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
def test_load_refuses_a_device_without_reading_it():
    exc = _load_in_thread("/dev/zero")  # an endless device: reading it would never end
    assert isinstance(exc, ModelFileError) and "not a regular file: a character device" in exc.reason


def test_load_checks_the_opened_file_not_only_the_name(tmp_path, monkeypatch):
    """A FIFO swapped in between the check of the name and the open is caught on the open descriptor."""
    os.mkfifo(tmp_path / "pipe")
    save_model(fm.Model([2, 1]), tmp_path / "m.npz")
    real_open = os.open
    monkeypatch.setattr(mf.os, "open", lambda path, flags, *a: real_open(str(tmp_path / "pipe"), flags, *a))
    exc = _load_in_thread(tmp_path / "m.npz")
    assert isinstance(exc, ModelFileError) and "not a regular file" in exc.reason


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
