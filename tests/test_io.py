"""Model files: bit-exact round trips, plain-NumPy readability, atomic writes, and refusal of every bad file."""

import builtins
import collections
import hashlib
import io
import json
import os
import pickle
import time
import tracemalloc
import zipfile

import numpy as np
import pytest

import fastmlp as fm
import fastmlp._modelfile
import fastmlp.io as fio
from fastmlp.io import ModelFileError, load, load_with_metadata, save_model


def same_bits(a, b):
    return a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a.view(np.uint8), b.view(np.uint8))


def assert_same_model(loaded, model, X):
    assert loaded.sizes == model.sizes
    assert loaded.hidden == model.hidden and loaded.output == model.output
    assert loaded.dtype == model.dtype and loaded.bias == model.bias and loaded.init == model.init
    assert same_bits(loaded.params, model.params)
    assert same_bits(loaded.predict(X), model.predict(X))


def members(path):
    """The raw bytes of each member of a model file."""
    with zipfile.ZipFile(path) as archive:
        return {info.filename: archive.read(info) for info in archive.infolist()}


def write_archive(path, parts, compression=zipfile.ZIP_STORED):
    """Write ``parts`` ({name: bytes}, in order) as a ZIP archive with valid CRCs."""
    with zipfile.ZipFile(path, "w", compression=compression) as archive:
        for name, data in parts.items():
            archive.writestr(name, data)


def npy_bytes(array, allow_pickle=False):
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=allow_pickle)
    return buffer.getvalue()


def forge(path, source, header_edit=None, params=None, npy=None, extra=None, compression=zipfile.ZIP_STORED):
    """Rewrite the model file ``source`` into ``path`` with a changed header and/or parameter member.

    ``params`` replaces the parameter vector and updates ``sha256`` to match (so only the intended check fails);
    ``npy`` replaces the member's bytes verbatim.
    """
    parts = members(source)
    header = json.loads(parts["header.json"])
    if params is not None:
        parts["params.npy"] = npy_bytes(params)
        header["sha256"] = hashlib.sha256(np.ascontiguousarray(params).tobytes()).hexdigest()
    if npy is not None:
        parts["params.npy"] = npy
    if header_edit is not None:
        result = header_edit(header)
        header = header if result is None else result
    parts["header.json"] = header if isinstance(header, bytes) else json.dumps(header).encode()
    parts.update(extra or {})
    write_archive(path, parts, compression)
    return path


@pytest.fixture
def model_file(tmp_path):
    model = fm.Model([3, 5, 2], hidden="tanh", output="softmax", seed=0)
    path = tmp_path / "model.npz"
    save_model(model, path)
    return model, path


# ---------------------------------------------------------------------------------------------------------------
# Round trips


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize(
    "sizes, hidden, output",
    [
        ([4, 1], [], "identity"),
        ([3, 7, 1], "relu", "sigmoid"),
        ([5, 8, 6, 4, 3], ["tanh", "leaky_relu", "sigmoid"], "softmax"),
        ([2, 3, 3, 3, 3, 3, 3, 2], "identity", "identity"),
    ],
)
def test_round_trip_is_bit_exact(tmp_path, rng, dtype, bias, sizes, hidden, output):
    model = fm.Model(sizes, hidden=hidden, output=output, dtype=dtype, bias=bias, seed=1, init="normal")
    X = rng.normal(size=(40, sizes[0]))
    path = tmp_path / "m.npz"
    save_model(model, path)
    loaded = load(path)
    assert_same_model(loaded, model, X)
    assert loaded.init == ("normal",) * (len(sizes) - 1)
    assert loaded.params is not model.params


def test_round_trip_after_training_keeps_the_summary(tmp_path, rng):
    model = fm.Model([3, 6, 1], output="sigmoid", seed=0)
    X = rng.normal(size=(64, 3))
    y = (X[:, 0] > 0).astype(float)
    model.fit(X, y, epochs=3, batch_size=16, optimizer=fm.Adam(lr=0.01), seed=0)
    save_model(model, str(tmp_path / "m.npz"))
    loaded, header = load_with_metadata(tmp_path / "m.npz")
    assert_same_model(loaded, model, X)
    assert header["training"] == {"epochs": 3, "samples_seen": 192, "optimizer": repr(fm.Adam(lr=0.01))}
    assert header["metadata"] == {}
    # A fresh model has no training summary; a loaded one continues to predict and train.
    save_model(fm.Model([3, 1]), tmp_path / "fresh.npz")
    assert load_with_metadata(tmp_path / "fresh.npz")[1]["training"] is None
    loaded.fit(X, y, epochs=1)


def test_metadata_round_trip(tmp_path):
    model = fm.Model([4, 3], output="softmax", seed=0)
    meta = {"classes": ["setosa", "versicolor", "virginica"], "n_features_in": 4, "scale": [0.5, 1.0, 2e-300],
            "flags": {"ok": True, "none": None}, "tuple": (1, 2)}  # fmt: skip
    save_model(model, tmp_path / "m.npz", metadata=meta)
    _, header = load_with_metadata(tmp_path / "m.npz")
    assert header["metadata"] == {**meta, "tuple": [1, 2]}


@pytest.mark.parametrize(
    "metadata, error, match",
    [
        ([1, 2], TypeError, "metadata must be a dict"),
        ({"a": np.int64(3)}, TypeError, r"metadata\['a'\] is of type int64.*tolist"),
        ({"a": np.array([1, 2])}, TypeError, "ndarray"),
        ({"a": {1: "x"}}, TypeError, "keys must be strings"),
        ({"a": [1, object()]}, TypeError, r"metadata\['a'\]\[1\] is of type object"),
        ({"a": float("nan")}, ValueError, "must be finite"),
        ({"a": b"bytes"}, TypeError, "bytes"),
    ],
)
def test_bad_metadata_is_refused_and_nothing_is_written(tmp_path, metadata, error, match):
    with pytest.raises(error, match=match):
        save_model(fm.Model([2, 1]), tmp_path / "m.npz", metadata=metadata)
    assert os.listdir(tmp_path) == []


def test_save_refuses_non_models_nan_params_and_bad_paths(tmp_path):
    with pytest.raises(TypeError, match="fastmlp.Model"):
        save_model({"sizes": [2, 1]}, tmp_path / "m.npz")
    model = fm.Model([2, 3, 1], seed=0)
    with pytest.raises(TypeError, match="path must be a file path"):
        save_model(model, 3)
    with pytest.raises(TypeError, match="path must be a file path"):
        load(None)
    model.params[2] = np.nan  # the array itself is writable; the params setter would refuse this
    with pytest.raises(ValueError, match="NaN or infinity"):
        save_model(model, tmp_path / "m.npz")
    assert os.listdir(tmp_path) == []
    missing = tmp_path / "no" / "such"
    with pytest.raises(FileNotFoundError, match="no directory .*such' to write 'dir.npz' in") as error:
        save_model(fm.Model([2, 1]), missing / "dir.npz")
    assert error.value.filename == str(missing / "dir.npz")  # the path asked for, not a temporary name


def test_the_file_is_readable_with_plain_numpy_and_zipfile(model_file):
    model, path = model_file
    with np.load(path, allow_pickle=False) as f:
        assert sorted(f.files) == ["header.json", "params"]
        params = f["params"]
        header = json.loads(f["header.json"])
    assert same_bits(params, model.params.astype("<f4"))
    assert header["format"] == "fastmlp-model" and header["format_version"] == 1
    assert header["sizes"] == [3, 5, 2] and header["hidden"] == ["tanh"] and header["output"] == "softmax"
    assert header["loss"] == "crossentropy" and header["dtype"] == "float32" and header["bias"] is True
    assert header["init"] == ["glorot", "glorot"] and header["n_params"] == model.n_params == 32
    assert header["sha256"] == hashlib.sha256(params.tobytes()).hexdigest()
    assert header["fastmlp_version"] == fm.__version__ and header["created"].endswith("+00:00")
    assert sorted(header) == sorted(fio._FIELDS_BY_VERSION[1])  # no arrays: written as version 1
    with zipfile.ZipFile(path) as archive:
        assert [i.filename for i in archive.infolist()] == ["header.json", "params.npy"]
        assert all(i.compress_type == zipfile.ZIP_STORED for i in archive.infolist())
        assert archive.testzip() is None


# ---------------------------------------------------------------------------------------------------------------
# Atomic writes


class _FailingFile:
    """A file whose writes fail once ``limit`` bytes have been written."""

    def __init__(self, f, limit, exc):
        self._f, self._left, self._exc = f, limit, exc

    def write(self, data):
        if len(data) > self._left:
            self._f.write(bytes(data[: self._left]))
            raise self._exc
        self._left -= len(data)
        return self._f.write(data)

    def __getattr__(self, name):
        return getattr(self._f, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._f.close()


@pytest.mark.parametrize("exc", [OSError(28, "No space left on device"), KeyboardInterrupt()])
@pytest.mark.parametrize("existing", [True, False])
def test_a_failed_save_leaves_the_target_untouched_and_no_temporary_file(tmp_path, monkeypatch, exc, existing):
    target = tmp_path / "model.npz"
    old = fm.Model([3, 4, 1], seed=1)
    if existing:
        save_model(old, target)
    before = target.read_bytes() if existing else None
    opened = []

    def failing_open(file, mode="r", *args, **kwargs):
        f = builtins.open(file, mode, *args, **kwargs)
        opened.append(file)
        return _FailingFile(f, 300, exc) if "w" in mode else f

    # The writing is done by the format module, fastmlp._modelfile, behind save_model.
    monkeypatch.setattr(fastmlp._modelfile, "open", failing_open, raising=False)
    with pytest.raises(type(exc)):
        save_model(fm.Model([3, 40, 1], seed=2), target)
    monkeypatch.undo()
    assert opened and os.path.basename(opened[0]).startswith(".model.npz.")  # it wrote a temporary file...
    assert os.listdir(tmp_path) == (["model.npz"] if existing else [])  # ...and removed it
    if existing:
        assert target.read_bytes() == before
        assert_same_model(load(target), old, np.ones((2, 3)))


def test_a_failed_rename_leaves_the_target_untouched(tmp_path, monkeypatch):
    target = tmp_path / "model.npz"
    save_model(fm.Model([3, 1], seed=1), target)
    before = target.read_bytes()

    def failing_replace(src, dst):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(PermissionError):
        save_model(fm.Model([3, 1], seed=2), target)
    monkeypatch.undo()
    assert os.listdir(tmp_path) == ["model.npz"] and target.read_bytes() == before


def test_save_replaces_an_existing_file_with_normal_permissions(tmp_path):
    target = tmp_path / "model.npz"
    save_model(fm.Model([3, 1], seed=1), target)
    new = fm.Model([3, 2, 1], seed=2)
    save_model(new, target)
    assert_same_model(load(target), new, np.ones((2, 3)))
    umask = os.umask(0o022)
    os.umask(umask)
    assert (os.stat(target).st_mode & 0o777) == 0o666 & ~umask
    assert os.listdir(tmp_path) == ["model.npz"]


# ---------------------------------------------------------------------------------------------------------------
# Refusals


def _set(key, value):
    def edit(header):
        header[key] = value

    return edit


def _drop(key):
    def edit(header):
        del header[key]

    return edit


HEADER_CASES = [
    (_set("format", "keras"), "not a fastmlp model file"),
    (_set("format_version", 3), "format_version 3 is newer.*upgrade fastmlp"),
    (_set("format_version", 2), "missing field.*arrays"),
    (_set("format_version", 0), "format_version must be >= 1"),
    (_set("format_version", "1"), "format_version must be an integer"),
    (_set("format_version", True), "format_version must be an integer"),
    (_set("format_version", 1.0), "format_version must be an integer"),
    (_set("hidden", ["os.system"]), r"hidden holds 'os.system'"),
    (_set("hidden", ["relu", "relu"]), "hidden must be a list of 1"),
    (_set("hidden", ["Tanh"]), "hidden holds 'Tanh'"),
    (_set("output", "__import__('os')"), "output must be one of"),
    (_set("output", None), "output must be one of"),
    (_set("loss", "mse"), "loss 'mse' does not match output 'softmax'"),
    (_set("dtype", "object"), "dtype must be one of"),
    (_set("dtype", "float64"), "params.npy has dtype <f4; the header's dtype needs <f8"),
    (_set("bias", 1), "bias must be true or false"),
    (_set("bias", False), "n_params is 32, but sizes"),
    (_set("init", ["he"]), "init must be a list of 2"),
    (_set("init", ["he", "zeros"]), "init holds 'zeros'"),
    (_set("sizes", [3, True, 2]), "sizes must be a list of at least two integers >= 1"),
    (_set("sizes", [3, 0, 2]), "sizes must be a list"),
    (_set("sizes", [3, 5.0, 2]), "sizes must be a list"),
    (_set("sizes", [3]), "sizes must be a list"),
    (_set("sizes", "3,5,2"), "sizes must be a list"),
    (_set("sizes", [3, 6, 2]), "n_params is 32, but sizes"),
    (_set("sizes", [2**20, 2**20, 2]), "more than the limit"),
    (_set("n_params", 33), "n_params is 33"),
    (_set("n_params", 32.0), "n_params is 32.0"),
    (_set("sha256", "abc"), "sha256 must be 64"),
    (_set("sha256", "0" * 64), "SHA-256 does not match"),
    (_set("training", {"epochs": 1}), "training must be null or an object"),
    (_set("training", {"epochs": -1, "samples_seen": 0, "optimizer": "SGD()"}), "training epochs"),
    (_set("metadata", [1]), "metadata must be a JSON object"),
    (_set("created", 5), "created must be a string"),
    (_set("surprise", 1), "unknown field.*'surprise'"),
    (_drop("sha256"), "missing field.*sha256"),
    (lambda h: [h], "expected a JSON object"),
    (lambda h: b"\xff\xfe{}", "not valid UTF-8 JSON"),
    (lambda h: b'{"format": "fastmlp-model", ', "not valid UTF-8 JSON"),
    (lambda h: json.dumps(h).replace('"n_params": 32', '"n_params": NaN').encode(), "JSON constant NaN"),
    (lambda h: json.dumps(h)[:-1].encode() + b', "bias": false}', "duplicate key 'bias'"),
    (lambda h: json.dumps(h).replace('{}', "[" * 100_000 + "]" * 100_000).encode(), "nested too deeply"),
    (lambda h: json.dumps(h).replace("32", "3" * 5000).encode(), "not valid UTF-8 JSON|n_params"),
    (lambda h: b" " * (fio.MAX_HEADER_BYTES + 1), "at most 1048576"),
]


@pytest.mark.parametrize("edit, match", HEADER_CASES)
def test_bad_headers_are_refused(tmp_path, model_file, edit, match):
    _, source = model_file
    path = forge(tmp_path / "bad.npz", source, header_edit=edit)
    with pytest.raises(ModelFileError, match=match) as info:
        load(path)
    assert info.value.path == str(path) and str(path) in str(info.value)


def _npy_with_header(header_dict, payload=b"", version=(1, 0)):
    buffer = io.BytesIO()
    if version == (1, 0):
        np.lib.format.write_array_header_1_0(buffer, header_dict)
    else:
        np.lib.format.write_array_header_2_0(buffer, header_dict)
    return buffer.getvalue() + payload


PARAM_CASES = [
    (dict(params=np.zeros(32, dtype=np.float64)), "params.npy has dtype <f8"),
    (dict(params=np.zeros(32, dtype=">f4")), "params.npy has dtype >f4"),
    (dict(params=np.zeros(32, dtype=np.int32)), "params.npy has dtype <i4"),
    (dict(params=np.zeros((4, 8), dtype=np.float32)), r"shape \(4, 8\); the header needs \(32,\)"),
    (dict(params=np.zeros(33, dtype=np.float32)), r"shape \(33,\)"),
    (dict(params=np.zeros(0, dtype=np.float32)), r"shape \(0,\)"),
    (dict(params=np.full(32, np.nan, dtype=np.float32)), "NaN or infinity"),
    (dict(params=np.full(32, np.inf, dtype=np.float32)), "NaN or infinity"),
    (dict(npy=npy_bytes(np.array([1.0, "a", None], dtype=object), allow_pickle=True)), "Python objects"),
    (dict(npy=pickle.dumps(np.zeros(32, dtype=np.float32))), "magic string"),
    (dict(npy=b""), "magic string|truncated"),
    (
        dict(npy=_npy_with_header({"descr": "<f4", "fortran_order": True, "shape": (32,)}, bytes(128))),
        "Fortran order",
    ),
    (  # a forged shape claiming 2**40 values: refused from the header, nothing allocated
        dict(npy=_npy_with_header({"descr": "<f4", "fortran_order": False, "shape": (2**40,)}, bytes(16))),
        r"shape \(1099511627776,\)",
    ),
    (
        dict(npy=_npy_with_header({"descr": "<f4", "fortran_order": False, "shape": (32,)}, bytes(127))),
        "params.npy is 255 bytes; its header and 32 float32 values need 256",
    ),
    (
        dict(npy=_npy_with_header({"descr": "<f4", "fortran_order": False, "shape": (32,)}, bytes(129))),
        "params.npy is 257 bytes",
    ),
    (
        dict(npy=_npy_with_header({"descr": "<f4", "fortran_order": False, "shape": (32,)}, bytes(128), (2, 0))),
        "SHA-256 does not match",  # a version 2.0 .npy header is fine; these zero values are not the model's
    ),
    (dict(npy=b"\x93NUMPY\x03\x00" + bytes(200)), r"format version \(3, 0\)"),
    (dict(npy=b"\x93NUMPY\x01\x00\x20\x00{'descr': '<f4', 'shape': (32,),\n" + bytes(128)), "unreadable or corrupted"),
    (dict(npy=b"\x93NUMPY\x01\x00\x10\x00{'descr': '''\"\n"), "unreadable or corrupted"),
    (dict(extra={"evil.pkl": pickle.dumps(print)}), "expected the members"),
    (dict(compression=zipfile.ZIP_DEFLATED), "is compressed"),
]


@pytest.mark.parametrize("change, match", PARAM_CASES)
def test_bad_parameter_members_are_refused(tmp_path, model_file, change, match):
    _, source = model_file
    path = forge(tmp_path / "bad.npz", source, **change)
    with pytest.raises(ModelFileError, match=match):
        load(path)


def test_a_forged_size_is_refused_before_allocating(tmp_path, model_file):
    """Sizes giving 2**30 float64 parameters (8 GiB) with a matching .npy header, but a 16-byte member."""
    _, source = model_file
    sizes = [2**15, 2**15 - 1, 2]
    n = 2**15 * (2**15 - 1) + (2**15 - 1) + (2**15 - 1) * 2 + 2
    npy = _npy_with_header({"descr": "<f8", "fortran_order": False, "shape": (n,)}, bytes(16))

    def edit(header):
        header.update(sizes=sizes, n_params=n, dtype="float64", hidden=["tanh"])

    path = forge(tmp_path / "huge.npz", source, header_edit=edit, npy=npy)
    tracemalloc.start()
    try:
        message = r"params.npy is 144 bytes; its header and 1073807359 float64 values need 8590459000"
        with pytest.raises(ModelFileError, match=message):
            load(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2**20


def test_a_params_edit_with_a_valid_crc_fails_the_checksum(tmp_path, model_file):
    model, source = model_file
    parts = members(source)
    data = bytearray(parts["params.npy"])
    data[-1] ^= 0x01  # the last parameter's lowest bit; the ZIP CRC is recomputed by write_archive
    parts["params.npy"] = bytes(data)
    write_archive(tmp_path / "edited.npz", parts)
    with pytest.raises(ModelFileError, match="SHA-256 does not match the header: the file was altered"):
        load(tmp_path / "edited.npz")


def test_files_that_are_not_model_files_are_refused(tmp_path, model_file):
    model, source = model_file
    cases = {
        "missing.npz": (None, "no such file"),
        "empty.npz": (b"", "not a fastmlp model file"),
        "text.npz": (b"hello\n", "not a fastmlp model file"),
        "model.pkl": (pickle.dumps(model), "not a fastmlp model file"),
        "array.npy": (npy_bytes(model.params), "not a fastmlp model file"),
        "half.npz": (source.read_bytes()[: len(source.read_bytes()) // 2], "corrupted|truncated"),
        "zip-only-signature.npz": (b"PK\x03\x04" + bytes(40), "not a valid ZIP archive"),
    }
    for name, (content, match) in cases.items():
        if content is not None:
            (tmp_path / name).write_bytes(content)
        with pytest.raises(ModelFileError, match=match):
            load(tmp_path / name)
    np.savez(tmp_path / "other.npz", X=np.zeros((3, 2)), y=np.zeros(3))
    with pytest.raises(ModelFileError, match="expected the members 'header.json' and 'params.npy'"):
        load(tmp_path / "other.npz")
    with pytest.raises(ModelFileError, match="directory"):
        load(tmp_path)


def test_an_encrypted_member_is_refused(tmp_path, model_file):
    _, source = model_file
    data = bytearray(source.read_bytes())
    for signature, flag_offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        start = 0
        while (start := data.find(signature, start)) >= 0:
            data[start + flag_offset] |= 0x01
            start += 4
    (tmp_path / "enc.npz").write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match="encrypted"):
        load(tmp_path / "enc.npz")


def test_model_file_error_is_a_value_error_that_pickles(tmp_path):
    with pytest.raises(ValueError) as info:
        load(tmp_path / "nope.npz")
    err = pickle.loads(pickle.dumps(info.value))
    assert isinstance(err, ModelFileError) and err.path == info.value.path and err.reason == "no such file"


# ---------------------------------------------------------------------------------------------------------------
# Fuzzing


class _Tally:
    """Load many corrupted variants of one file; count refusals, bit-identical loads and anything else."""

    def __init__(self, path, model, X):
        self.path, self.model, self.X = path, model, X
        self.reference = model.predict(X)
        self.counts = collections.Counter()
        self.problems = []

    @staticmethod
    def describe(counts):
        return ", ".join(f"{counts[k]} {k}" for k in ("errors", "identical", "escapes", "silent_changes"))

    def attempt(self, data, label):
        self.path.write_bytes(data)
        try:
            loaded = load(self.path)
        except ModelFileError:
            self.counts["errors"] += 1
            return
        except BaseException as exc:  # noqa: B036 - anything but ModelFileError is a finding
            self.counts["escapes"] += 1
            self.problems.append((label, repr(exc)))
            return
        same = (
            loaded.sizes == self.model.sizes and loaded.activations == self.model.activations
            and loaded.bias == self.model.bias and same_bits(loaded.params, self.model.params)
            and same_bits(loaded.predict(self.X), self.reference)
        )  # fmt: skip
        self.counts["identical" if same else "silent_changes"] += 1
        if not same:
            self.problems.append((label, "loaded a different model"))


def test_fuzz_bit_flips_and_truncations_never_escape_or_load_silently(tmp_path, rng):
    """Every single-bit flip and every truncation of a small model file, plus random garbage files.

    Each load must raise ModelFileError or give back a model with bit-identical parameters and predictions (flips in
    ZIP bookkeeping such as timestamps are harmless). Run with ``-s`` to see the counts.
    """
    start = time.perf_counter()
    model = fm.Model([3, 4, 2], hidden="tanh", output="softmax", seed=0)
    model.fit(rng.normal(size=(32, 3)), rng.integers(0, 2, 32), epochs=1)
    source = tmp_path / "model.npz"
    save_model(model, source, metadata={"classes": ["no", "yes"]})
    original = source.read_bytes()
    tally = _Tally(tmp_path / "fuzzed.npz", model, rng.normal(size=(16, 3)))
    for bit in range(8 * len(original)):  # exhaustive single-bit flips
        data = bytearray(original)
        data[bit // 8] ^= 1 << (bit % 8)
        tally.attempt(bytes(data), f"flip bit {bit}")
    flips = collections.Counter(tally.counts)
    for length in range(len(original)):  # every truncation
        tally.attempt(original[:length], f"truncate to {length}")
    for i in range(200):  # random garbage, some of it starting like a ZIP
        junk = rng.integers(0, 256, size=int(rng.integers(0, 5000)), dtype=np.uint8).tobytes()
        tally.attempt((b"PK\x03\x04" + junk) if i % 2 else junk, f"garbage {i}")
    seconds = time.perf_counter() - start
    print(
        f"\nfuzz (raw file, {len(original)} bytes): {8 * len(original)} single-bit flips: {_Tally.describe(flips)}; "
        f"with all {len(original)} truncations and 200 garbage files: {_Tally.describe(tally.counts)}; {seconds:.1f} s"
    )
    assert tally.problems == []
    assert tally.counts["escapes"] == 0 and tally.counts["silent_changes"] == 0
    assert tally.counts["errors"] + tally.counts["identical"] == 9 * len(original) + 200
    assert flips["errors"] > 6 * len(original)  # nearly every flip is caught; only ZIP bookkeeping bits load


def test_fuzz_member_contents_with_valid_crcs(tmp_path, rng):
    """Bit flips inside each member with the ZIP CRC recomputed, so the JSON, .npy-header and checksum checks are hit.

    Header flips that keep the JSON valid and change only informational text (the date, the optimizer's repr, the
    metadata) load with identical parameters; everything else must raise ModelFileError.
    """
    model = fm.Model([3, 4, 4, 2], hidden=["relu", "tanh"], output="sigmoid", dtype="float64", bias=False, seed=0)
    source = tmp_path / "model.npz"
    save_model(model, source, metadata={"n_features_in": 3})
    parts = members(source)
    tally = _Tally(tmp_path / "fuzzed.npz", model, rng.normal(size=(16, 3)))
    for name in ("header.json", "params.npy"):
        content = parts[name]
        bits = range(8 * len(content)) if name == "params.npy" else rng.choice(8 * len(content), 1500, replace=False)
        for bit in bits:
            data = bytearray(content)
            data[bit // 8] ^= 1 << (bit % 8)
            buffer = io.BytesIO()
            with zipfile.ZipFile(buffer, "w") as archive:
                for other, value in parts.items():
                    archive.writestr(other, bytes(data) if other == name else value)
            tally.attempt(buffer.getvalue(), f"{name} bit {bit}")
    n = sum(tally.counts.values())
    print(f"\nfuzz (bit flips inside members, CRCs recomputed): {n} files: {_Tally.describe(tally.counts)}")
    assert tally.problems == []
    assert tally.counts["escapes"] == 0 and tally.counts["silent_changes"] == 0
    assert tally.counts["errors"] >= 8 * len(parts["params.npy"])  # no flip of the .npy member is harmless


def test_the_input_scaling_is_saved_and_applied_after_load(tmp_path, rng):
    X = rng.normal(10.0, 30.0, size=(20, 3))
    model = fm.Model([3, 4, 2], output="softmax", seed=0)
    model.set_input_scaling(X.mean(axis=0), X.std(axis=0))
    model.save(tmp_path / "scaled.npz", arrays={"note": np.arange(3)})
    loaded, header = load_with_metadata(tmp_path / "scaled.npz")
    assert same_bits(loaded.predict(X), model.predict(X))  # from raw inputs, as the saved model
    np.testing.assert_array_equal(loaded.input_scaling[1], X.std(axis=0))
    assert sorted(header.arrays) == ["input_scaling_mean", "input_scaling_scale", "note"]
    with pytest.raises(ValueError, match="hold the model's input scaling"):
        model.save(tmp_path / "other.npz", arrays={"input_scaling_mean": np.zeros(3)})
    assert not (tmp_path / "other.npz").exists()
    forged = tmp_path / "forged.npz"
    plain = fm.Model([3, 1], seed=0)
    plain.save(forged, arrays={"note": np.zeros(3)})
    # A mean without a scale: written as a forger would, through the format module.
    from fastmlp._modelfile import write_model_file

    write_model_file(forged, plain.config(), plain.params, None, None, arrays={"input_scaling_mean": np.zeros(3)})
    with pytest.raises(ModelFileError, match="give both mean and scale"):
        load(forged)
