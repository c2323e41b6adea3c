"""The model file format: writing and reading it, checks included. Knows nothing of :class:`~fastmlp.Model`.

The format itself is documented in :mod:`fastmlp.io`, the public module that builds models from these files.
"""

import datetime
import hashlib
import json
import math
import os
import re
import stat
import struct
import tokenize
import zipfile
import zlib

import numpy as np

from . import _validation as v
from ._atomic import atomic_path, file_kind

__all__ = [
    "ARRAY_DTYPES", "FORMAT_NAME", "FORMAT_VERSION", "MAX_ARRAYS", "MAX_ARRAY_NDIM", "MAX_HEADER_BYTES",
    "MAX_PARAMS", "MAX_STRING_LENGTH", "ModelFileError", "read_model_file", "write_model_file",
]  # fmt: skip

FORMAT_NAME = "fastmlp-model"
"""The value of the header's ``format`` field."""

FORMAT_VERSION = 2
"""The newest model file format this fastmlp writes and reads (a file without arrays is written as version 1)."""

MAX_PARAMS = 2**31
"""The most parameters a model file may declare; larger declarations are refused before reading the data."""

MAX_HEADER_BYTES = 1 << 20
"""The largest ``header.json`` member :func:`load` reads (1 MiB); ``save`` refuses to write a larger one."""

MAX_ARRAYS = 1024
"""The most array members (``arrays/<name>.npy``) a model file may hold."""

MAX_ARRAY_NDIM = 32
"""The most dimensions of an array member."""

MAX_STRING_LENGTH = 1 << 20
"""The widest fixed-width unicode dtype of an array member, in characters (``<U1048576``)."""

ARRAY_DTYPES = ("|b1", "|i1", "<i2", "<i4", "<i8", "|u1", "<u2", "<u4", "<u8", "<f2", "<f4", "<f8", "<c8", "<c16")
"""The dtypes (as ``dtype.str``) of array members besides fixed-width unicode ``<U1`` to ``<U1048576``."""

HEADER_MEMBER = "header.json"
PARAMS_MEMBER = "params.npy"
ARRAY_PREFIX = "arrays/"
MAX_METADATA_DEPTH = 32
"""How deeply lists and objects may nest inside ``metadata``."""

_READ_CHUNK = 1 << 24
_SHA256_HEX = frozenset("0123456789abcdef")
_FIELDS_BY_VERSION = {
    1: (
        "format", "format_version", "fastmlp_version", "created", "sizes", "hidden", "output", "loss", "dtype",
        "bias", "init", "n_params", "sha256", "training", "metadata",
    ),
}  # fmt: skip
_FIELDS_BY_VERSION[2] = _FIELDS_BY_VERSION[1] + ("arrays",)
_FIELDS = _FIELDS_BY_VERSION[FORMAT_VERSION]
_TRAINING_FIELDS = ("epochs", "samples_seen", "optimizer")
_ARRAY_FIELDS = ("dtype", "shape", "sha256")
# Names become member names: no separators, dots or anything else a ZIP tool could read as a path.
_ARRAY_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
_UNICODE_DTYPE = re.compile(r"<U([1-9][0-9]{0,7})")  # few digits: int() of a forged huge number is never reached
_MAX_CODE_POINT = 0x10FFFF

# Whatever the content of a file, the standard library and NumPy report problems with one of these; load turns each
# into a ModelFileError. (zipfile raises NotImplementedError for odd version fields, EOFError for short members,
# struct.error and OverflowError for corrupted offsets, RuntimeError for encrypted members; NumPy's .npy header
# parser raises SyntaxError, tokenize.TokenError, MemoryError or RecursionError on garbage; json raises
# RecursionError on deep nesting and ValueError on huge integers.)
_READ_ERRORS = (
    OSError, EOFError, ValueError, TypeError, KeyError, IndexError, LookupError, AttributeError, struct.error,
    zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, NotImplementedError, RuntimeError, OverflowError,
    MemoryError, RecursionError, SyntaxError, tokenize.TokenError, UnicodeError,
)  # fmt: skip


class ModelFileError(ValueError):
    """A model file could not be loaded: it is missing, unreadable, corrupted, forged or from a newer fastmlp.

    :func:`load` raises only this exception for problems with the file (a ``TypeError`` only for a ``path`` that is
    not a path). The message names the path and the reason.

    Attributes
    ----------
    path : str
        The file that failed to load.
    reason : str
        What was wrong with it.
    """

    def __init__(self, path, reason):
        self.path = str(path)
        self.reason = str(reason)
        super().__init__(f"cannot load model file {self.path!r}: {self.reason}")

    def __reduce__(self):
        return type(self), (self.path, self.reason)


# ---------------------------------------------------------------------------------------------------------------
# Writing


def write_model_file(path, config, params, training, metadata, arrays=None):
    """Write a model file (see :mod:`fastmlp.io` for the format) atomically: the complete file, or no change.

    Everything written is checked against the limits :func:`read_model_file` applies (the header goes through the
    reader's own parser) before any file is created, so a file this writes always loads; what could not load is
    refused with an exception instead, and an existing file at ``path`` stays as it was.

    Parameters
    ----------
    path : str or os.PathLike
        Where to write; an existing file there is replaced only once the new one is complete. An existing
        directory, named pipe, device or socket is refused, not replaced.
    config : dict
        The model's :meth:`~fastmlp.Model.config`.
    params : ndarray of shape (n_params,)
        The flat parameter vector.
    training : TrainingSummary or None
        The model's :attr:`~fastmlp.Model.training_summary`.
    metadata : dict or None
        The caller's JSON metadata (checked here).
    arrays : dict of str to ndarray, optional
        Arrays stored as ``arrays/<name>.npy`` members (checked here; see :func:`fastmlp.io.save_model`). With
        any, the file is format version 2; without, version 1.

    Raises
    ------
    TypeError, ValueError, OSError
        As :func:`fastmlp.io.save_model` documents.
    """
    path = v.check_path(path)
    metadata = _check_metadata(metadata)
    arrays = _check_arrays(arrays)
    dtype = np.dtype(config["dtype"]).newbyteorder("<")
    params = np.ascontiguousarray(params, dtype=dtype)
    if not v.all_finite_array(params):
        raise ValueError("the model's params contain NaN or infinity; such a model file could not be loaded.")
    sizes = config["sizes"]
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    header = {
        "format": FORMAT_NAME,
        # The oldest version that can hold the file, so that older fastmlp versions keep reading plain models.
        "format_version": 2 if arrays else 1,
        "fastmlp_version": _fastmlp_version(),
        "created": now.isoformat(),
        "sizes": [int(s) for s in sizes],
        "hidden": list(config["hidden"]),
        "output": config["output"],
        "loss": v.OUTPUT_LOSSES[config["output"]],
        "dtype": config["dtype"],
        "bias": bool(config["bias"]),
        "init": list(config["init"]),
        "n_params": int(params.size),
        "sha256": hashlib.sha256(memoryview(params).cast("B")).hexdigest(),
        "training": None if training is None else {
            "epochs": training.epochs, "samples_seen": training.samples_seen, "optimizer": training.optimizer,
        },
        "metadata": metadata,
    }  # fmt: skip
    if arrays:
        header["arrays"] = {name: _declaration(array) for name, array in arrays.items()}
    header_bytes = (json.dumps(header, indent=2, ensure_ascii=False, allow_nan=False) + "\n").encode("utf-8")
    _check_loadable_header(path, header_bytes)
    date_time = now.astimezone().timetuple()[:6]  # ZIP timestamps are local time, from 1980 on
    date_time = max(date_time, (1980, 1, 1, 0, 0, 0))
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            _write_archive(f, header_bytes, params, arrays, date_time)
            f.flush()
            os.fsync(f.fileno())


def _check_loadable_header(path, header_bytes):
    """Raise ``ValueError`` unless the reader would accept ``header_bytes`` as they are."""
    if len(header_bytes) > MAX_HEADER_BYTES:
        raise ValueError(
            f"cannot save {path!r}: its header would be {len(header_bytes)} bytes, more than the {MAX_HEADER_BYTES} "
            "bytes load reads; store large values as arrays (the arrays argument), not as metadata."
        )
    try:
        _parse_header(path, header_bytes)
    except ModelFileError as exc:
        raise ValueError(f"cannot save {path!r}: load would refuse its header ({exc.reason}).") from exc


def _write_archive(fileobj, header_bytes, params, arrays, date_time):
    with zipfile.ZipFile(fileobj, mode="w", compression=zipfile.ZIP_STORED) as archive:
        info = zipfile.ZipInfo(HEADER_MEMBER, date_time=date_time)
        info.external_attr = 0o644 << 16
        archive.writestr(info, header_bytes)
        _write_npy_member(archive, PARAMS_MEMBER, params, date_time)
        for name, array in arrays.items():
            _write_npy_member(archive, _array_member(name), array, date_time)


def _write_npy_member(archive, name, array, date_time):
    npy_header = _npy_header_bytes(array)
    info = zipfile.ZipInfo(name, date_time=date_time)
    info.external_attr = 0o644 << 16
    info.file_size = len(npy_header) + array.nbytes  # lets zipfile choose ZIP64 only when the data needs it
    with archive.open(info, mode="w") as member:
        member.write(npy_header)
        data = _raw_bytes(array)
        for start in range(0, len(data), _READ_CHUNK):
            member.write(data[start : start + _READ_CHUNK])


def _npy_header_bytes(array):
    """The ``.npy`` version 1.0 header of ``array``, as NumPy writes it."""
    import io as _stdlib_io

    buffer = _stdlib_io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, np.lib.format.header_data_from_array_1_0(array))
    return buffer.getvalue()


def _raw_bytes(array):
    """The bytes of a C-contiguous array, as a flat ``uint8`` view (also for 0-d and unicode arrays)."""
    return array.reshape(-1).view(np.uint8)


def _array_member(name):
    return f"{ARRAY_PREFIX}{name}.npy"


def _declaration(array):
    return {"dtype": array.dtype.str, "shape": [int(n) for n in array.shape], "sha256": _sha256(array)}


def _sha256(array):
    return hashlib.sha256(_raw_bytes(array)).hexdigest()


def _check_arrays(arrays):
    """Return ``arrays`` as a dict of C-contiguous little-endian arrays the reader accepts, or raise."""
    if arrays is None:
        return {}
    if not isinstance(arrays, dict):
        raise TypeError(f"arrays must be a dict of names to NumPy arrays; got {type(arrays).__name__}.")
    if len(arrays) > MAX_ARRAYS:
        raise ValueError(f"arrays holds {len(arrays)} arrays; a model file holds at most {MAX_ARRAYS} arrays.")
    result = {}
    for name, array in arrays.items():
        if not isinstance(name, str):
            raise TypeError(f"array names must be strings; got {name!r}.")
        if not _ARRAY_NAME.fullmatch(name):
            raise ValueError(
                f"array names must be 1 to 64 ASCII letters, digits and underscores, not starting with a digit; "
                f"got {name!r}."
            )
        where = f"arrays[{name!r}]"
        if not isinstance(array, np.ndarray):
            raise TypeError(f"{where} must be a NumPy array; got {type(array).__name__}.")
        dtype = array.dtype if array.dtype.byteorder == "|" else array.dtype.newbyteorder("<")
        problem = _dtype_problem(dtype.str)
        if problem is not None:
            raise TypeError(f"{where} has dtype {array.dtype} ({array.dtype.str}); {problem}.")
        if array.ndim > MAX_ARRAY_NDIM:
            raise ValueError(f"{where} has {array.ndim} dimensions; at most {MAX_ARRAY_NDIM} are allowed.")
        stored = np.asarray(array, dtype=dtype, order="C")  # asarray, not ascontiguousarray: keeps 0-d arrays 0-d
        if dtype.kind == "b":
            stored = stored.view(np.uint8) != 0  # a bool array viewed from other bytes holds values besides 0 and 1
        problem = _values_problem(stored)
        if problem is not None:
            raise ValueError(f"{where} {problem}.")
        result[name] = stored
    return result


def _dtype_problem(descr):
    """Why ``descr`` (a ``dtype.str``) is not an array member dtype, or None if it is one."""
    if not isinstance(descr, str):
        return f"dtype must be a string; got {descr!r}"
    if descr in ARRAY_DTYPES:
        return None
    match = _UNICODE_DTYPE.fullmatch(descr)
    if match is not None and int(match[1]) <= MAX_STRING_LENGTH:
        return None
    return (
        "model file arrays hold booleans, integers, floats and complex numbers of standard sizes, or fixed-width "
        f"unicode strings (<U1 to <U{MAX_STRING_LENGTH}), never Python objects"
    )


def _values_problem(array):
    """What is wrong with the values of an array member, or None (a check of bits, not of meaning)."""
    if array.dtype.kind == "b" and array.size and int(_raw_bytes(array).max()) > 1:
        return "holds booleans other than 0 and 1"
    if array.dtype.kind == "U" and array.size and int(_raw_bytes(array).view("<u4").max()) > _MAX_CODE_POINT:
        return "holds characters that are not Unicode code points"
    return None


def _fastmlp_version():
    from ._version import __version__

    return str(__version__)


def _check_metadata(metadata):
    """Return a plain-JSON deep copy of ``metadata`` (a dict), or raise naming the offending entry."""
    if metadata is None:
        return {}
    if not isinstance(metadata, dict):
        raise TypeError(f"metadata must be a dict of JSON values; got {type(metadata).__name__}.")
    return _json_value(metadata, "metadata", 0)


def _json_value(value, where, depth):
    if depth > MAX_METADATA_DEPTH:
        raise ValueError(f"{where} nests lists or dicts more than {MAX_METADATA_DEPTH} deep.")
    if value is None or isinstance(value, bool | str):
        return value
    if type(value) is int:
        return value
    if type(value) is float:
        if not math.isfinite(value):
            raise ValueError(f"{where} is {value}; metadata floats must be finite (JSON has no NaN or infinity).")
        return value
    if isinstance(value, list | tuple):
        return [_json_value(item, f"{where}[{i}]", depth + 1) for i, item in enumerate(value)]
    if isinstance(value, dict):
        result = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"{where} has the key {key!r}; metadata keys must be strings.")
            result[key] = _json_value(item, f"{where}[{key!r}]", depth + 1)
        return result
    hint = " (convert NumPy values with .tolist() or int()/float()/str())" if type(value).__module__ == "numpy" else ""
    raise TypeError(
        f"{where} is of type {type(value).__name__}; metadata may hold only str, int, float, bool, None, and lists "
        f"and dicts of those{hint}."
    )


# ---------------------------------------------------------------------------------------------------------------
# Reading


def read_model_file(path):
    """Read and check a model file; return its header, its parameter vector and its arrays, all checked.

    Parameters
    ----------
    path : str or os.PathLike

    Returns
    -------
    header : dict
        Every field of the format, checked (see :mod:`fastmlp.io`); a version 2 header declares the arrays.
    params : ndarray of shape (n_params,)
        The parameters, finite, matching the header's SHA-256.
    arrays : dict of str to ndarray
        The ``arrays/<name>.npy`` members by name, each as declared and matching its SHA-256; ``{}`` for a
        version 1 file.

    Raises
    ------
    ModelFileError
        For every problem with the file.
    TypeError
        If ``path`` is not a path.
    """
    path = v.check_path(path)
    try:
        return _read(path)
    except ModelFileError:
        raise
    except _READ_ERRORS as exc:
        raise ModelFileError(path, _describe(exc)) from exc


def _read(path):
    with _open_regular_file(path) as fileobj:
        file_size = os.fstat(fileobj.fileno()).st_size
        if fileobj.read(4) != b"PK\x03\x04":
            raise ModelFileError(path, "not a fastmlp model file (not a ZIP/.npz archive)")
        fileobj.seek(0)
        with zipfile.ZipFile(fileobj) as archive:
            members = _check_members(path, archive, file_size)
            header = _parse_header(path, _read_member(archive, members[HEADER_MEMBER], MAX_HEADER_BYTES))
            declared = header.get("arrays", {})
            _check_array_members(path, members, declared)
            n_params = header["n_params"]
            params = _read_npy(
                path, archive, members[PARAMS_MEMBER], v.DTYPES[header["dtype"]].newbyteorder("<"), (n_params,),
                header["dtype"],
            )  # fmt: skip
            if _sha256(params) != header["sha256"]:
                raise ModelFileError(path, "the parameters' SHA-256 does not match the header: the file was altered")
            if not v.all_finite_array(params):
                raise ModelFileError(path, "the parameters contain NaN or infinity")
            arrays = {}
            for name, declaration in declared.items():
                member = _array_member(name)
                dtype = np.dtype(declaration["dtype"])
                array = _read_npy(path, archive, members[member], dtype, tuple(declaration["shape"]), dtype.str)
                if _sha256(array) != declaration["sha256"]:
                    raise ModelFileError(path, f"{member}'s SHA-256 does not match the header: the file was altered")
                problem = _values_problem(array)
                if problem is not None:
                    raise ModelFileError(path, f"{member} {problem}")
                arrays[name] = array
    return header, params, arrays


def _open_regular_file(path):
    """Open ``path`` for reading if it is a regular file; refuse pipes, devices and sockets without blocking."""
    mode = os.stat(path).st_mode
    if stat.S_ISDIR(mode):
        raise ModelFileError(path, "it is a directory")
    if not stat.S_ISREG(mode):
        raise ModelFileError(path, f"not a regular file: {file_kind(mode)}")
    # The name may now lead elsewhere: O_NONBLOCK keeps the open of a pipe from waiting for a writer, and the
    # descriptor itself is checked.
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise ModelFileError(path, f"not a regular file: {file_kind(mode)}")
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


# How load words the common failures, first match wins; anything else is "unreadable or corrupted".
_DESCRIPTIONS = (
    (FileNotFoundError, "no such file"),
    (IsADirectoryError, "it is a directory"),
    (PermissionError, "permission denied"),
    (zipfile.BadZipFile, "not a valid ZIP archive, or a corrupted one ({exc})"),
    (EOFError, "the archive is truncated"),
    (MemoryError, "not enough memory to read it"),
    (RecursionError, "data nested too deeply"),
)


def _describe(exc):
    for kind, text in _DESCRIPTIONS:
        if isinstance(exc, kind):
            return text.format(exc=exc)
    return f"unreadable or corrupted ({type(exc).__name__}: {str(exc) or 'no details'})"


def _check_members(path, archive, file_size):
    """Check the archive's directory before reading any member; return the members by name.

    Every member must be ``header.json``, ``params.npy`` or ``arrays/<name>.npy``, once each, stored (neither
    compressed nor encrypted), and the members together cannot claim more bytes than the file has: a member whose
    size is forged, or members overlapping one another, are refused here.
    """
    infos = archive.infolist()
    if len(infos) > MAX_ARRAYS + 2:
        raise ModelFileError(path, f"not a fastmlp model file: {len(infos)} members, at most {MAX_ARRAYS + 2}")
    members = {}
    for info in infos:
        if info.filename in members:
            raise ModelFileError(path, f"member {info.filename!r} appears more than once")
        members[info.filename] = info
    unexpected = [n for n in members if n not in (HEADER_MEMBER, PARAMS_MEMBER) and not _is_array_member(n)]
    if HEADER_MEMBER not in members or PARAMS_MEMBER not in members or unexpected:
        names = list(members)
        shown = ", ".join(repr(n) for n in names[:10]) + (", ..." if len(names) > 10 else "")
        raise ModelFileError(
            path,
            "not a fastmlp model file: expected the members 'header.json' and 'params.npy' (and arrays/<name>.npy), "
            f"found [{shown}]",
        )
    for info in infos:
        if info.flag_bits & 0x1:
            raise ModelFileError(path, f"member {info.filename!r} is encrypted")
        if info.compress_type != zipfile.ZIP_STORED:
            raise ModelFileError(path, f"member {info.filename!r} is compressed; model files are stored uncompressed")
        if info.compress_size != info.file_size or info.file_size > file_size:
            raise ModelFileError(path, f"member {info.filename!r} claims {info.file_size} bytes; the file is corrupted")
    total = sum(info.file_size for info in infos)
    if total > file_size:
        raise ModelFileError(path, f"the members claim {total} bytes in all, more than the file's {file_size}")
    return members


def _is_array_member(name):
    return (
        name.startswith(ARRAY_PREFIX) and name.endswith(".npy")
        and _ARRAY_NAME.fullmatch(name[len(ARRAY_PREFIX) : -len(".npy")]) is not None
    )  # fmt: skip


def _check_array_members(path, members, declared):
    present = {name[len(ARRAY_PREFIX) : -len(".npy")] for name in members if _is_array_member(name)}
    missing = [name for name in declared if name not in present]
    if missing:
        raise ModelFileError(path, f"the header declares array(s) {', '.join(map(repr, missing))} with no member")
    undeclared = sorted(_array_member(name) for name in present - set(declared))
    if undeclared:
        raise ModelFileError(path, f"member(s) {', '.join(map(repr, undeclared))} not declared in the header")


def _read_member(archive, info, limit):
    """Read a whole member, at most ``limit`` bytes, to its end (which checks its CRC-32)."""
    if info.file_size > limit:
        raise ValueError(f"member {info.filename!r} is {info.file_size} bytes; at most {limit} are allowed")
    with archive.open(info) as member:
        data = member.read(limit + 1)
        if len(data) != info.file_size or member.read(1):
            raise ValueError(f"member {info.filename!r} does not have its declared size")
    return data


def _reject_constant(name):
    raise ValueError(f"JSON constant {name} is not allowed")


def _unique_keys(pairs):
    result = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key!r}")
        result[key] = value
    return result


def _parse_header(path, data):
    """Decode and check ``header.json``; return the header with ``n_params`` verified against ``sizes``."""

    def bad(reason):
        return ModelFileError(path, f"bad header: {reason}")

    try:
        text = data.decode("utf-8")
        header = json.loads(text, object_pairs_hook=_unique_keys, parse_constant=_reject_constant)
    except RecursionError as exc:
        raise bad("JSON nested too deeply") from exc
    except ValueError as exc:  # UnicodeDecodeError and json.JSONDecodeError are ValueErrors
        raise bad(f"not valid UTF-8 JSON ({exc})") from exc
    if not isinstance(header, dict):
        raise bad(f"expected a JSON object, got {type(header).__name__}")
    if header.get("format") != FORMAT_NAME:
        raise ModelFileError(path, f"not a fastmlp model file (format is {header.get('format')!r})")
    version = header.get("format_version")
    if not _is_int(version):
        raise bad(f"format_version must be an integer; got {version!r}")
    if version > FORMAT_VERSION:
        raise ModelFileError(
            path,
            f"format_version {version} is newer than this fastmlp reads (up to {FORMAT_VERSION}); upgrade fastmlp "
            f"(the file was written by fastmlp {header.get('fastmlp_version')!r})",
        )
    if version < 1:
        raise bad(f"format_version must be >= 1; got {version}")
    fields = _FIELDS_BY_VERSION[version]
    missing = [k for k in fields if k not in header]
    if missing:
        raise bad(f"missing field(s) {', '.join(missing)}")
    unknown = sorted(k for k in header if k not in fields)
    if unknown:
        raise bad(f"unknown field(s) {', '.join(map(repr, unknown))} for format_version {version}")

    for key in ("fastmlp_version", "created"):
        if not isinstance(header[key], str):
            raise bad(f"{key} must be a string")
    sizes = header["sizes"]
    if not isinstance(sizes, list) or len(sizes) < 2 or not all(_is_int(s) and s >= 1 for s in sizes):
        raise bad("sizes must be a list of at least two integers >= 1")
    n_hidden, n_layers = len(sizes) - 2, len(sizes) - 1
    _check_names(header["hidden"], v.HIDDEN_ACTIVATIONS, n_hidden, "hidden", bad)
    _check_names(header["init"], v.INITS, n_layers, "init", bad)
    output = header["output"]
    if not isinstance(output, str) or output not in v.OUTPUT_ACTIVATIONS:
        raise bad(f"output must be one of {sorted(v.OUTPUT_ACTIVATIONS)}; got {output!r}")
    if output == "softmax" and sizes[-1] < 2:
        raise bad("output 'softmax' needs at least 2 outputs")
    if header["loss"] != v.OUTPUT_LOSSES[output]:
        raise bad(f"loss {header['loss']!r} does not match output {output!r}")
    if not isinstance(header["dtype"], str) or header["dtype"] not in v.DTYPES:
        raise bad(f"dtype must be one of {sorted(v.DTYPES)}; got {header['dtype']!r}")
    if not isinstance(header["bias"], bool):
        raise bad(f"bias must be true or false; got {header['bias']!r}")
    n_params = _count_params(sizes, header["bias"])
    if n_params > MAX_PARAMS:
        raise bad(f"the layer sizes give {n_params} parameters, more than the limit of {MAX_PARAMS}")
    if not _is_int(header["n_params"]) or header["n_params"] != n_params:
        raise bad(f"n_params is {header['n_params']!r}, but sizes {sizes} and bias give {n_params}")
    digest = header["sha256"]
    if not isinstance(digest, str) or len(digest) != 64 or not set(digest) <= _SHA256_HEX:
        raise bad("sha256 must be 64 lowercase hexadecimal digits")
    training = header["training"]
    if training is not None:
        if not isinstance(training, dict) or sorted(training) != sorted(_TRAINING_FIELDS):
            raise bad(f"training must be null or an object with the fields {', '.join(_TRAINING_FIELDS)}")
        if not all(_is_int(training[k]) and training[k] >= 0 for k in ("epochs", "samples_seen")):
            raise bad("training epochs and samples_seen must be integers >= 0")
        if not isinstance(training["optimizer"], str):
            raise bad("training optimizer must be a string")
    if not isinstance(header["metadata"], dict):
        raise bad("metadata must be a JSON object")
    try:
        _json_value(header["metadata"], "metadata", 0)
    except (TypeError, ValueError) as exc:
        raise bad(str(exc)) from exc
    if "arrays" in header:
        _check_array_declarations(header["arrays"], bad)
    return header


def _check_array_declarations(arrays, bad):
    if not isinstance(arrays, dict):
        raise bad("arrays must be an object of array declarations")
    if len(arrays) > MAX_ARRAYS:
        raise bad(f"arrays declares {len(arrays)} arrays; at most {MAX_ARRAYS} are allowed")
    for name, declaration in arrays.items():
        if not _ARRAY_NAME.fullmatch(name):
            raise bad(f"array name {name!r} is not 1 to 64 ASCII letters, digits and underscores")
        if not isinstance(declaration, dict) or sorted(declaration) != sorted(_ARRAY_FIELDS):
            raise bad(f"arrays[{name!r}] must be an object with the fields {', '.join(_ARRAY_FIELDS)}")
        problem = _dtype_problem(declaration["dtype"])
        if problem is not None:
            raise bad(f"arrays[{name!r}] dtype {declaration['dtype']!r}: {problem}")
        shape = declaration["shape"]
        if (
            not isinstance(shape, list) or len(shape) > MAX_ARRAY_NDIM
            or not all(_is_int(n) and n >= 0 for n in shape)
        ):  # fmt: skip
            raise bad(f"arrays[{name!r}] shape must be a list of at most {MAX_ARRAY_NDIM} integers >= 0")
        digest = declaration["sha256"]
        if not isinstance(digest, str) or len(digest) != 64 or not set(digest) <= _SHA256_HEX:
            raise bad(f"arrays[{name!r}] sha256 must be 64 lowercase hexadecimal digits")


def _is_int(value):
    return type(value) is int  # JSON integers; True and False are not sizes or versions


def _check_names(names, table, count, key, bad):
    if not isinstance(names, list) or len(names) != count:
        raise bad(f"{key} must be a list of {count} name(s)")
    for name in names:
        if not isinstance(name, str) or name not in table:
            raise bad(f"{key} holds {name!r}; allowed: {sorted(table)}")


def _count_params(sizes, bias):
    return sum(a * b + (b if bias else 0) for a, b in zip(sizes[:-1], sizes[1:], strict=True))


def _read_npy(path, archive, info, expected_dtype, expected_shape, value_name):
    """Check the ``.npy`` header of a member against what the JSON header declares, then read the array.

    Nothing is allocated before the member's size has been found to be exactly the ``.npy`` header plus the
    declared values, and that size was checked against the file's.
    """
    label = info.filename
    with archive.open(info) as member:
        version = np.lib.format.read_magic(member)
        if version == (1, 0):
            shape, fortran_order, dtype = np.lib.format.read_array_header_1_0(member)
        elif version == (2, 0):
            shape, fortran_order, dtype = np.lib.format.read_array_header_2_0(member)
        else:
            raise ModelFileError(path, f"{label} has .npy format version {version}; 1.0 or 2.0 expected")
        if dtype.hasobject:
            raise ModelFileError(path, f"{label} holds Python objects (pickled data); refused")
        if dtype != expected_dtype:
            raise ModelFileError(path, f"{label} has dtype {dtype.str}; the header's dtype needs {expected_dtype.str}")
        if fortran_order:
            raise ModelFileError(path, f"{label} is in Fortran order; C order expected")
        if shape != expected_shape:
            raise ModelFileError(path, f"{label} has shape {shape}; the header needs {expected_shape}")
        header_length = member.tell()
        count = math.prod(expected_shape)
        needed = header_length + count * expected_dtype.itemsize
        if info.file_size != needed:
            raise ModelFileError(
                path,
                f"{label} is {info.file_size} bytes; its header and {count} {value_name} values need {needed}",
            )
        array = np.empty(expected_shape, dtype=expected_dtype)
        buffer = _raw_bytes(array)
        filled = 0
        while filled < buffer.size:
            chunk = member.read(min(_READ_CHUNK, buffer.size - filled))
            if not chunk:
                raise ModelFileError(path, f"{label} is truncated")
            buffer[filled : filled + len(chunk)] = np.frombuffer(chunk, dtype=np.uint8)
            filled += len(chunk)
        if member.read(1):  # also reaches the end of the member, which checks its CRC-32
            raise ModelFileError(path, f"{label} has more data than its header declares")
    return array
