"""Model files against hostile or unlucky paths and contents.

What save writes, load reads; what load refuses, it refuses quickly, in bounded memory, with ModelFileError and
nothing else; special files are never replaced or read.
"""

import hashlib
import io
import json
import os
import pickle
import signal
import socket
import stat
import struct
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import tracemalloc
import zipfile
import zlib

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
    copied = pickle.loads(pickle.dumps(header))
    assert type(copied) is type(header) and copied == header and sorted(copied.arrays) == sorted(arrays)
    assert "input_mean" in repr(header)
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
    import signal, sys, time
    import fastmlp as fm
    import fastmlp._modelfile as mf

    # The default handlers, which the save replaces: a runner started under nohup passes SIGHUP on ignored, and the
    # save leaves an ignored signal ignored (this process would then sleep through it).
    for name in ("SIGTERM", "SIGHUP"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), signal.SIG_DFL)
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
@pytest.mark.parametrize(
    "signum, existing", [(signal.SIGTERM, True), (getattr(signal, "SIGHUP", signal.SIGTERM), False)]
)
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


# ---------------------------------------------------------------------------------------------------------------
# A corpus of hand-made hostile files: each must raise ModelFileError, quickly and in bounded memory


def raw_zip(entries):
    """A ZIP archive written byte by byte, so that every field can be forged.

    Each entry is a dict: ``name`` (str or bytes), ``data`` (bytes as stored), and optionally ``method`` (0 stored,
    8 deflated...), ``flags``, ``crc``, ``size`` and ``csize`` (the sizes claimed in both headers), ``local_name``
    (the local header's name when it should differ from the central directory's) and ``same_as`` (the index of an
    earlier entry whose local header this central directory entry points to, writing no data of its own).
    """
    body, central, offsets = bytearray(), bytearray(), []
    for entry in entries:
        name = entry["name"].encode() if isinstance(entry["name"], str) else entry["name"]
        data = entry.get("data", b"")
        crc = entry.get("crc", zlib.crc32(data))
        size, csize = entry.get("size", len(data)), entry.get("csize", len(data))
        method, flags = entry.get("method", 0), entry.get("flags", 0)
        if entry.get("same_as") is not None:
            offset = offsets[entry["same_as"]]
        else:
            offset = len(body)
            local_name = entry.get("local_name", name)
            body += struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, flags, method, 0, 0x21, crc, csize, size,
                                len(local_name), 0) + local_name + data  # fmt: skip
        offsets.append(offset)
        central += struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 20, 20, flags, method, 0, 0x21, crc, csize, size,
                               len(name), 0, 0, 0, 0, 0o644 << 16, offset) + name  # fmt: skip
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, len(entries), len(entries), len(central), len(body), 0)
    return bytes(body + central + end)


@pytest.fixture(scope="module")
def v2_parts(tmp_path_factory):
    """The members of a valid version 2 file (a model and three arrays), and the model and arrays themselves."""
    model = fm.Model([3, 5, 2], hidden="tanh", output="softmax", seed=0)
    arrays = {"input_mean": np.array([0.5, -1.0, 2.0]), "names": np.array(["a", "bb", "ccc"]),
              "flags": np.array([True, False, True])}  # fmt: skip
    path = tmp_path_factory.mktemp("v2") / "model.npz"
    save_model(model, path, metadata={"note": "v2"}, arrays=arrays)
    with zipfile.ZipFile(path) as archive:
        parts = {info.filename: archive.read(info) for info in archive.infolist()}
    return parts, model, arrays


def entries(parts, **replace):
    """``raw_zip`` entries for ``parts``, with some members' data replaced (None drops a member)."""
    result = []
    for name, data in {**parts, **replace}.items():
        if data is not None:
            result.append({"name": name, "data": data})
    return result


def with_header(parts, edit):
    """``parts`` with the JSON header changed by ``edit(header)`` (which may return a replacement or bytes)."""
    header = json.loads(parts["header.json"])
    result = edit(header)
    header = header if result is None else result
    return {**parts, "header.json": header if isinstance(header, bytes) else json.dumps(header).encode()}


def declare(name, dtype, shape, data=None):
    """An edit declaring the array ``name`` with the given dtype and shape (and the SHA-256 of ``data``)."""

    def edit(header):
        header["arrays"][name] = {"dtype": dtype, "shape": shape, "sha256": hashlib.sha256(data or b"").hexdigest()}

    return edit


def npy_header(descr, shape, fortran=False, version=(1, 0)):
    buffer = io.BytesIO()
    header = {"descr": descr, "fortran_order": fortran, "shape": shape}
    if version == (1, 0):
        np.lib.format.write_array_header_1_0(buffer, header)
    else:
        np.lib.format.write_array_header_2_0(buffer, header)
    return buffer.getvalue()


def array_member(parts, name, npy, dtype, shape, raw):
    """``parts`` with the array member ``name`` replaced by ``npy`` and declared as dtype/shape with raw's digest."""
    edited = with_header(parts, declare(name, dtype, shape, raw))
    return {**edited, f"arrays/{name}.npy": npy}


def _deflated_zeros(n_bytes):
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    chunk = bytes(1 << 20)
    data = b"".join(compressor.compress(chunk) for _ in range(n_bytes >> 20)) + compressor.flush()
    return data


def _bomb(parts, method):
    params = parts["params.npy"]
    n = 64 << 20  # 64 MiB of zeros in 64 KB: refused from the directory, without inflating a byte
    data = _deflated_zeros(n)
    return raw_zip(entries(parts, **{"params.npy": None}) + [
        {"name": "params.npy", "data": data, "method": method, "size": n + len(params), "csize": len(data),
         "crc": 0},
    ])  # fmt: skip


def _forged_sizes(parts, member, size):
    listed = entries(parts)
    for entry in listed:
        if entry["name"] == member:
            entry.update(size=size, csize=size)
    return raw_zip(listed)


def _overlapping(parts, count):
    """``count`` central directory entries all pointing at the params member's local header (a "better zip bomb")."""
    listed = entries(parts)
    index = [e["name"] for e in listed].index("params.npy")
    size = len(parts["params.npy"])
    extra = [{"name": f"arrays/a{i}.npy", "same_as": index, "size": size, "csize": size,
              "crc": zlib.crc32(parts["params.npy"])} for i in range(count)]  # fmt: skip
    return raw_zip(listed + extra)


def _with_flags(parts, member, flags):
    listed = entries(parts)
    for entry in listed:
        if entry["name"] == member:
            entry["flags"] = flags
    return raw_zip(listed)


def _local_name(parts, member, local_name):
    listed = entries(parts)
    for entry in listed:
        if entry["name"] == member:
            entry["local_name"] = local_name.encode()
    return raw_zip(listed)


def _bad_crc(parts, member):
    listed = entries(parts)
    for entry in listed:
        if entry["name"] == member:
            entry["crc"] = zlib.crc32(entry["data"]) ^ 1
    return raw_zip(listed)


def _extra(parts, name, data=b"x"):
    return raw_zip(entries(parts) + [{"name": name, "data": data}])


def _flat(parts):
    return raw_zip(entries(parts))


def _header(parts, edit):
    return _flat(with_header(parts, edit))


def _set_field(key, value):
    def edit(header):
        header[key] = value

    return edit


def _drop_field(key):
    def edit(header):
        del header[key]

    return edit


def _drop_array_field(name, key):
    def edit(header):
        del header["arrays"][name][key]

    return edit


def _set_array(name, key, value):
    def edit(header):
        header["arrays"][name][key] = value

    return edit


def _reencoded(parts, name, array, pickle=False):
    """The array member ``name`` re-encoded as ``array`` (its own dtype, order, shape), declared as the original."""
    return {**parts, f"arrays/{name}.npy": npy_bytes(array, allow_pickle=pickle)}


def _same_digest(parts, name, descr, shape, raw):
    """A forged member whose raw bytes ``raw`` match its declaration's digest, so the value checks are reached."""
    npy = npy_header(descr, tuple(shape)) + raw
    return _flat(array_member(parts, name, npy, descr, shape, raw))


_MEAN = np.array([0.5, -1.0, 2.0])
_HUGE = 2**40

# (name, builder of the file's bytes from the valid version 2 members, message)
CORPUS = [
    # --- the archive
    ("control: the raw ZIP writer makes loadable files", None, None),
    ("empty archive", lambda p: raw_zip([]), "not a fastmlp model file"),
    ("only the header", lambda p: raw_zip(entries(p, **{"params.npy": None})), "expected the members"),
    ("only the params", lambda p: raw_zip(entries(p, **{"header.json": None})), "expected the members"),
    ("deflate bomb", lambda p: _bomb(p, zipfile.ZIP_DEFLATED), "is compressed"),
    ("bzip2 member", lambda p: _bomb(p, zipfile.ZIP_BZIP2), "is compressed"),
    ("lzma member", lambda p: _bomb(p, zipfile.ZIP_LZMA), "is compressed"),
    ("params claim 4 GiB", lambda p: _forged_sizes(p, "params.npy", 2**32 - 1), "claims 4294967295 bytes"),
    ("header claims 2 GiB", lambda p: _forged_sizes(p, "header.json", 2**31), "claims 2147483648 bytes"),
    ("array claims 1 GiB", lambda p: _forged_sizes(p, "arrays/names.npy", 2**30), "claims 1073741824 bytes"),
    (
        "size differs from csize",
        lambda p: raw_zip(
            entries(p, **{"params.npy": None})
            + [{"name": "params.npy", "data": p["params.npy"], "size": len(p["params.npy"]) + 1}]
        ),
        "claims",
    ),  # fmt: skip
    ("overlapping members", lambda p: _overlapping(p, 200), r"members claim \d+ bytes in all"),
    ("too many members", lambda p: _overlapping(p, 1100), "1105 members, at most 1026"),
    ("encrypted params", lambda p: _with_flags(p, "params.npy", 0x1), "encrypted"),
    ("encrypted array", lambda p: _with_flags(p, "arrays/input_mean.npy", 0x1), "encrypted"),
    ("local name differs", lambda p: _local_name(p, "params.npy", "params.npz"), "not a valid ZIP|differ"),
    ("bad CRC in an array", lambda p: _bad_crc(p, "arrays/names.npy"), "not a valid ZIP|CRC"),
    ("bad CRC in the header", lambda p: _bad_crc(p, "header.json"), "not a valid ZIP|CRC"),
    ("duplicate header", lambda p: _extra(p, "header.json", p["header.json"]), "'header.json' appears more than"),
    ("duplicate params", lambda p: _extra(p, "params.npy", p["params.npy"]), "'params.npy' appears more than"),
    ("duplicate array", lambda p: _extra(p, "arrays/names.npy", p["arrays/names.npy"]), "appears more than once"),
    ("NUL in a name", lambda p: _extra(p, b"params.npy\x00.pkl", b"x"), "appears more than once|expected the"),
    ("traversal ../x", lambda p: _extra(p, "../x"), "expected the members"),
    ("traversal arrays/../x", lambda p: _extra(p, "arrays/../../x.npy"), "expected the members"),
    ("absolute path", lambda p: _extra(p, "/etc/passwd"), "expected the members"),
    ("drive path", lambda p: _extra(p, "C:\\x.npy"), "expected the members"),
    ("nested array name", lambda p: _extra(p, "arrays/a/b.npy"), "expected the members"),
    ("empty array name", lambda p: _extra(p, "arrays/.npy"), "expected the members"),
    ("a directory entry", lambda p: _extra(p, "arrays/", b""), "expected the members"),
    ("a pickle beside", lambda p: _extra(p, "evil.pkl", b"\x80\x04K\x01."), "expected the members"),
    ("undeclared array member", lambda p: _extra(p, "arrays/extra.npy", npy_bytes(_MEAN)), "not declared"),
    ("declared array missing", lambda p: raw_zip(entries(p, **{"arrays/names.npy": None})), "'names' with no member"),
    ("arrays in a version 1 file", lambda p: _header(p, _set_field("format_version", 1)), "unknown field.*'arrays'"),
    ("no arrays field in version 2", lambda p: _header(p, _drop_field("arrays")), "missing field.*arrays"),
    # --- the JSON header: valid JSON, wrong types and values
    ("sizes [0]", lambda p: _header(p, _set_field("sizes", [0])), "sizes must be a list"),
    ("sizes [3, 0, 2]", lambda p: _header(p, _set_field("sizes", [3, 0, 2])), "sizes must be a list"),
    ("sizes huge", lambda p: _header(p, _set_field("sizes", [2**40, 2**40, 2])), "more than the limit"),
    ("sizes a dict", lambda p: _header(p, _set_field("sizes", {"a": 1})), "sizes must be a list"),
    ("n_params mismatch", lambda p: _header(p, _set_field("n_params", 31)), "n_params is 31"),
    ("n_params a string", lambda p: _header(p, _set_field("n_params", "32")), "n_params is '32'"),
    ("dtype object", lambda p: _header(p, _set_field("dtype", "object")), "dtype must be one of"),
    ("dtype a list", lambda p: _header(p, _set_field("dtype", ["float32"])), "dtype must be one of"),
    ("hidden a string", lambda p: _header(p, _set_field("hidden", "tanh")), "hidden must be a list"),
    ("metadata a list", lambda p: _header(p, _set_field("metadata", [])), "metadata must be a JSON object"),
    ("training a string", lambda p: _header(p, _set_field("training", "x")), "training must be null"),
    ("format_version 3", lambda p: _header(p, _set_field("format_version", 3)), "upgrade fastmlp"),
    ("format_version huge", lambda p: _header(p, _set_field("format_version", 10**30)), "upgrade fastmlp"),
    ("the header an array", lambda p: _header(p, lambda h: [h]), "expected a JSON object"),
    (
        "deeply nested arrays",
        lambda p: _header(
            p,
            lambda h: (
                json.dumps(h)
                .replace('"arrays": {', '"arrays": {"deep": ' + "[" * 50_000 + "]" * 50_000 + ", ")
                .encode()
            ),
        ),
        "nested too deeply",
    ),
    ("arrays a list", lambda p: _header(p, _set_field("arrays", [])), "arrays must be an object"),
    ("arrays null", lambda p: _header(p, _set_field("arrays", None)), "arrays must be an object"),
    ("declaration a string", lambda p: _header(p, _set_field("arrays", {"names": "<U3"})), "must be an object with"),
    (
        "declaration missing sha256",
        lambda p: _header(p, _drop_array_field("names", "sha256")),
        "must be an object with the fields",
    ),  # fmt: skip
    ("declaration extra field", lambda p: _header(p, _set_array("names", "order", "C")), "must be an object with"),
    (
        "array name ../x",
        lambda p: _header(p, lambda h: h["arrays"].update({"../x": h["arrays"]["names"]})),
        "array name '../x'",
    ),  # fmt: skip
    (
        "1025 declarations",
        lambda p: _header(p, _set_field("arrays", {f"a{i}": {} for i in range(1025)})),
        "declares 1025 arrays",
    ),  # fmt: skip
    *[
        (
            f"array dtype {dtype!r}",
            (lambda d: lambda p: _header(p, _set_array("input_mean", "dtype", d)))(dtype),
            "dtype .*never Python objects|dtype must be a string",
        )
        for dtype in [
            "object",
            "|O",
            "<U0",
            "<U1048577",
            "<U" + "9" * 5000,
            ">f8",
            "=f8",
            "<f16",
            "|S5",
            "<M8[D]",
            "<V8",
            "float64",
            8,
            None,
            ["<f8"],
        ]
    ],  # fmt: skip
    *[
        (
            f"array shape {shape!r}",
            (lambda s: lambda p: _header(p, _set_array("input_mean", "shape", s)))(shape),
            "shape must be a list of at most 32 integers",
        )
        for shape in ["3", 3, [3.0], [-1], [True], [1] * 33, None]
    ],  # fmt: skip
    ("array sha256 short", lambda p: _header(p, _set_array("names", "sha256", "ab")), "sha256 must be 64"),
    ("array sha256 upper", lambda p: _header(p, _set_array("names", "sha256", "A" * 64)), "sha256 must be 64"),
    (
        "array sha256 wrong",
        lambda p: _header(p, _set_array("names", "sha256", "0" * 64)),
        "arrays/names.npy's SHA-256 does not match",
    ),  # fmt: skip
    (
        "array shape mismatch",
        lambda p: _header(p, _set_array("input_mean", "shape", [4])),
        r"arrays/input_mean.npy has shape \(3,\); the header needs \(4,\)",
    ),  # fmt: skip
    (
        "array dtype mismatch",
        lambda p: _header(p, _set_array("input_mean", "dtype", "<f4")),
        "arrays/input_mean.npy has dtype <f8; the header's dtype needs <f4",
    ),  # fmt: skip
    # --- .npy members: dtypes, byte orders, memory orders, shapes
    ("params big-endian", lambda p: _flat({**p, "params.npy": npy_bytes(np.zeros(32, ">f4"))}), "dtype >f4"),
    ("params 2-D", lambda p: _flat({**p, "params.npy": npy_bytes(np.zeros((4, 8), "<f4"))}), r"shape \(4, 8\)"),
    (
        "params Fortran 2-D",
        lambda p: _flat({**p, "params.npy": npy_bytes(np.asfortranarray(np.zeros((4, 8), "<f4")))}),
        "Fortran order",
    ),  # fmt: skip
    ("params float64", lambda p: _flat({**p, "params.npy": npy_bytes(np.zeros(32))}), "dtype <f8"),
    ("params int32", lambda p: _flat({**p, "params.npy": npy_bytes(np.zeros(32, np.int32))}), "dtype <i4"),
    (
        "params pickled objects",
        lambda p: _flat({**p, "params.npy": npy_bytes(np.array([None] * 32), True)}),
        "Python objects",
    ),  # fmt: skip
    (
        "params claim 2**40 values",
        lambda p: _flat({**p, "params.npy": npy_header("<f4", (_HUGE,)) + bytes(64)}),
        r"shape \(1099511627776,\)",
    ),  # fmt: skip
    ("array big-endian", lambda p: _flat(_reencoded(p, "input_mean", _MEAN.astype(">f8"))), "dtype >f8"),
    (
        "array Fortran order",
        lambda p: _flat(array_member(p, "m", npy_bytes(np.asfortranarray(np.eye(2, 3))), "<f8", [2, 3], b"")),
        "Fortran order",
    ),  # fmt: skip
    ("array 2-D for 1-D", lambda p: _flat(_reencoded(p, "input_mean", _MEAN.reshape(3, 1))), r"shape \(3, 1\)"),
    (
        "array of objects",
        lambda p: _flat(_reencoded(p, "names", np.array(["a", 1, None], dtype=object), pickle=True)),
        "Python objects",
    ),  # fmt: skip
    ("array of bytes", lambda p: _flat(_reencoded(p, "names", np.array([b"a", b"bb", b"ccc"]))), "dtype |S3"),
    (
        "array npy version 3.0",
        lambda p: _flat({**p, "arrays/names.npy": b"\x93NUMPY\x03\x00" + bytes(60)}),
        r"format version \(3, 0\)",
    ),  # fmt: skip
    (
        "array npy version 2.0 ok, digest off",
        lambda p: _flat({**p, "arrays/input_mean.npy": npy_header("<f8", (3,), version=(2, 0)) + bytes(24)}),
        "SHA-256 does not match",
    ),  # fmt: skip
    (
        "array claims 2**40 values",
        lambda p: _flat(array_member(p, "big", npy_header("<f8", (_HUGE,)) + bytes(64), "<f8", [_HUGE], b"")),
        "is 192 bytes; its header and",
    ),
    (
        "array claims 2**40 strings",
        lambda p: _flat(array_member(p, "big", npy_header("<U100", (_HUGE,)) + bytes(64), "<U100", [_HUGE], b"")),
        "1099511627776 <U100",
    ),
    (
        "array npy header unreadable",
        lambda p: _flat({**p, "arrays/names.npy": b"\x93NUMPY\x01\x00\x10\x00{'descr': '''\"\n"}),
        "unreadable or corrupted",
    ),  # fmt: skip
    (
        "array npy header nested",
        lambda p: _flat({**p, "arrays/names.npy": b"\x93NUMPY\x01\x00\xe8\x03" + b"(" * 999 + b"\n"}),
        "unreadable or corrupted|nested",
    ),  # fmt: skip
    (
        "array npy descr huge",
        lambda p: _flat({**p, "arrays/names.npy": npy_header("<U99999999999", (0,))}),
        "unreadable or corrupted",
    ),  # fmt: skip
    (
        "array truncated",
        lambda p: _flat({**p, "arrays/input_mean.npy": p["arrays/input_mean.npy"][:-1]}),
        "its header and 3 <f8 values need",
    ),  # fmt: skip
    (
        "array with trailing data",
        lambda p: _flat({**p, "arrays/input_mean.npy": p["arrays/input_mean.npy"] + b"\0"}),
        "its header and 3 <f8 values need",
    ),  # fmt: skip
    (
        "booleans other than 0 and 1",
        lambda p: _same_digest(p, "flags", "|b1", [3], b"\x01\x02\x00"),
        "booleans other than 0 and 1",
    ),  # fmt: skip
    (
        "characters beyond Unicode",
        lambda p: _same_digest(p, "names", "<U1", [2], b"a\0\0\0\xff\xff\xff\xff"),
        "not Unicode code points",
    ),  # fmt: skip
]


@pytest.mark.parametrize("name, build, match", CORPUS, ids=[c[0] for c in CORPUS])
def test_hostile_files_are_refused_quickly_with_model_file_error(tmp_path, v2_parts, name, build, match):
    parts, model, arrays = v2_parts
    path = tmp_path / "hostile.npz"
    if build is None:  # the control: the forging tools themselves write files that load
        path.write_bytes(raw_zip(entries(parts)))
        loaded, header = load_with_metadata(path)
        assert loaded.params.tolist() == model.params.tolist() and sorted(header.arrays) == sorted(arrays)
        return
    path.write_bytes(build(parts))
    error = refuses(path, match)
    assert error.path == str(path)


@pytest.mark.parametrize("kind", ["fifo", "directory", "symlink to a fifo", "socket", "symlink loop", "dangling"])
def test_non_regular_paths_are_refused_quickly_with_model_file_error(tmp_path, kind):
    path = tmp_path / "model.npz"
    if kind in ("fifo", "symlink to a fifo"):
        if not hasattr(os, "mkfifo"):
            pytest.skip("named pipes are POSIX")
        os.mkfifo(tmp_path / "pipe")
    if kind == "fifo":
        path = tmp_path / "pipe"
    elif kind == "directory":
        path.mkdir()
    elif kind == "symlink to a fifo":
        os.symlink(tmp_path / "pipe", path)
    elif kind == "socket":
        if not hasattr(socket, "AF_UNIX"):
            pytest.skip("needs Unix sockets")
        server = socket.socket(socket.AF_UNIX)
        server.bind(str(path))
        server.close()
    elif kind == "symlink loop":
        os.symlink(path, path)
    else:
        os.symlink(tmp_path / "nothing", path)
    expected = {"fifo": "named pipe", "directory": "directory", "symlink to a fifo": "named pipe",
                "socket": "socket", "symlink loop": "unreadable", "dangling": "no such file"}[kind]  # fmt: skip
    outcome = _load_in_thread(path)
    assert isinstance(outcome, ModelFileError) and expected in outcome.reason, repr(outcome)


def test_fuzz_bit_flips_of_a_version_2_file_never_escape_or_load_silently(tmp_path, v2_parts):
    """Single-bit flips of a file with arrays: refused, or loaded with bit-identical parameters and arrays.

    1,500 flips drawn at random (with a fixed seed) from the file's ~20,000 bits; the exhaustive fuzz of a version
    1 file is in test_io.py. Run with ``-s`` to see the counts.
    """
    parts, model, arrays = v2_parts
    source = tmp_path / "model.npz"
    save_model(model, source, metadata={"note": "v2"}, arrays=arrays)
    original = source.read_bytes()
    path = tmp_path / "fuzzed.npz"
    counts = {"errors": 0, "identical": 0}
    problems = []
    bits = np.random.default_rng(7).choice(8 * len(original), 1500, replace=False)
    for bit in bits.tolist():
        data = bytearray(original)
        data[bit // 8] ^= 1 << (bit % 8)
        path.write_bytes(bytes(data))
        try:
            loaded, header = load_with_metadata(path)
        except ModelFileError:
            counts["errors"] += 1
            continue
        except BaseException as exc:  # noqa: B036 - anything but ModelFileError is a finding
            problems.append((bit, repr(exc)))
            continue
        same = loaded.params.tobytes() == model.params.tobytes() and sorted(header.arrays) == sorted(arrays) and all(
            header.arrays[n].dtype == a.dtype and header.arrays[n].tobytes() == a.tobytes() for n, a in arrays.items()
        )  # fmt: skip
        if same:
            counts["identical"] += 1
        else:
            problems.append((bit, "loaded different content"))
    print(f"\nfuzz (version 2 file, {len(original)} bytes): {counts}")
    assert problems == []
    assert counts["errors"] + counts["identical"] == len(bits) and counts["errors"] > 0.75 * len(bits)
