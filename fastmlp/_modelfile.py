"""The model file format: writing and reading it, checks included. Knows nothing of :class:`~fastmlp.Model`.

The format itself is documented in :mod:`fastmlp.io`, the public module that builds models from these files.
"""

import datetime
import hashlib
import json
import math
import os
import struct
import tokenize
import zipfile
import zlib

import numpy as np

from . import _validation as v
from ._atomic import atomic_path

__all__ = ["FORMAT_NAME", "FORMAT_VERSION", "MAX_HEADER_BYTES", "MAX_PARAMS", "ModelFileError", "read_model_file",
           "write_model_file"]

FORMAT_NAME = "fastmlp-model"
"""The value of the header's ``format`` field."""

FORMAT_VERSION = 1
"""The newest model file format this fastmlp writes and reads."""

MAX_PARAMS = 2**31
"""The most parameters a model file may declare; larger declarations are refused before reading the data."""

MAX_HEADER_BYTES = 1 << 20
"""The largest ``header.json`` member :func:`load` reads (1 MiB)."""

HEADER_MEMBER = "header.json"
PARAMS_MEMBER = "params.npy"
MAX_METADATA_DEPTH = 32
"""How deeply lists and objects may nest inside ``metadata``."""

_READ_CHUNK = 1 << 24
_SHA256_HEX = frozenset("0123456789abcdef")
_FIELDS = (
    "format", "format_version", "fastmlp_version", "created", "sizes", "hidden", "output", "loss", "dtype", "bias",
    "init", "n_params", "sha256", "training", "metadata",
)  # fmt: skip
_TRAINING_FIELDS = ("epochs", "samples_seen", "optimizer")

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


def write_model_file(path, config, params, training, metadata):
    """Write a model file (see :mod:`fastmlp.io` for the format) atomically: the complete file, or no change.

    Parameters
    ----------
    path : str or os.PathLike
        Where to write; an existing file there is replaced only once the new one is complete.
    config : dict
        The model's :meth:`~fastmlp.Model.config`.
    params : ndarray of shape (n_params,)
        The flat parameter vector.
    training : TrainingSummary or None
        The model's :attr:`~fastmlp.Model.training_summary`.
    metadata : dict or None
        The caller's JSON metadata (checked here).

    Raises
    ------
    TypeError, ValueError, OSError
        As :func:`fastmlp.io.save_model` documents.
    """
    path = v.check_path(path)
    metadata = _check_metadata(metadata)
    dtype = np.dtype(config["dtype"]).newbyteorder("<")
    params = np.ascontiguousarray(params, dtype=dtype)
    if not v.all_finite_array(params):
        raise ValueError("the model's params contain NaN or infinity; such a model file could not be loaded.")
    sizes = config["sizes"]
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    header = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
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
    header_bytes = (json.dumps(header, indent=2, ensure_ascii=False, allow_nan=False) + "\n").encode("utf-8")
    date_time = now.astimezone().timetuple()[:6]  # ZIP timestamps are local time, from 1980 on
    date_time = max(date_time, (1980, 1, 1, 0, 0, 0))
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            _write_archive(f, header_bytes, params, date_time)
            f.flush()
            os.fsync(f.fileno())


def _write_archive(fileobj, header_bytes, params, date_time):
    with zipfile.ZipFile(fileobj, mode="w", compression=zipfile.ZIP_STORED) as archive:
        info = zipfile.ZipInfo(HEADER_MEMBER, date_time=date_time)
        info.external_attr = 0o644 << 16
        archive.writestr(info, header_bytes)
        npy_header = _npy_header_bytes(params)
        info = zipfile.ZipInfo(PARAMS_MEMBER, date_time=date_time)
        info.external_attr = 0o644 << 16
        info.file_size = len(npy_header) + params.nbytes  # lets zipfile choose ZIP64 only when the data needs it
        with archive.open(info, mode="w") as member:
            member.write(npy_header)
            data = memoryview(params).cast("B")
            for start in range(0, len(data), _READ_CHUNK):
                member.write(data[start : start + _READ_CHUNK])


def _npy_header_bytes(params):
    """The ``.npy`` version 1.0 header of ``params``, as NumPy writes it."""
    import io as _stdlib_io

    buffer = _stdlib_io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, np.lib.format.header_data_from_array_1_0(params))
    return buffer.getvalue()


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
    """Read and check a model file; return its header (checked) and its parameter vector (checked).

    Parameters
    ----------
    path : str or os.PathLike

    Returns
    -------
    header : dict
        Every field of the format, checked (see :mod:`fastmlp.io`).
    params : ndarray of shape (n_params,)
        The parameters, finite, matching the header's SHA-256.

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
    file_size = os.stat(path).st_size
    with open(path, "rb") as fileobj:
        if fileobj.read(4) != b"PK\x03\x04":
            raise ModelFileError(path, "not a fastmlp model file (not a ZIP/.npz archive)")
        fileobj.seek(0)
        with zipfile.ZipFile(fileobj) as archive:
            members = _check_members(path, archive, file_size)
            header = _parse_header(path, _read_member(archive, members[HEADER_MEMBER], MAX_HEADER_BYTES))
            params = _read_params(path, archive, members[PARAMS_MEMBER], header)
    digest = hashlib.sha256(memoryview(params).cast("B")).hexdigest()
    if digest != header["sha256"]:
        raise ModelFileError(path, "the parameters' SHA-256 does not match the header: the file was altered")
    if not v.all_finite_array(params):
        raise ModelFileError(path, "the parameters contain NaN or infinity")
    return header, params


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
    infos = archive.infolist()
    names = [info.filename for info in infos]
    if sorted(names) != sorted([HEADER_MEMBER, PARAMS_MEMBER]):
        shown = ", ".join(repr(n) for n in names[:10]) + (", ..." if len(names) > 10 else "")
        raise ModelFileError(
            path, f"not a fastmlp model file: expected the members 'header.json' and 'params.npy', found [{shown}]"
        )
    members = {info.filename: info for info in infos}
    for info in infos:
        if info.flag_bits & 0x1:
            raise ModelFileError(path, f"member {info.filename!r} is encrypted")
        if info.compress_type != zipfile.ZIP_STORED:
            raise ModelFileError(path, f"member {info.filename!r} is compressed; model files are stored uncompressed")
        if info.compress_size != info.file_size or info.file_size > file_size:
            raise ModelFileError(path, f"member {info.filename!r} claims {info.file_size} bytes; the file is corrupted")
    return members


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
    missing = [k for k in _FIELDS if k not in header]
    if missing:
        raise bad(f"missing field(s) {', '.join(missing)}")
    unknown = sorted(k for k in header if k not in _FIELDS)
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
    return header


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


def _read_params(path, archive, info, header):
    """Check the ``.npy`` header of ``params.npy`` against the JSON header, then read and return the vector."""
    n_params = header["n_params"]
    expected = v.DTYPES[header["dtype"]].newbyteorder("<")
    with archive.open(info) as member:
        version = np.lib.format.read_magic(member)
        if version == (1, 0):
            shape, fortran_order, dtype = np.lib.format.read_array_header_1_0(member)
        elif version == (2, 0):
            shape, fortran_order, dtype = np.lib.format.read_array_header_2_0(member)
        else:
            raise ModelFileError(path, f"params.npy has .npy format version {version}; 1.0 or 2.0 expected")
        if dtype.hasobject:
            raise ModelFileError(path, "params.npy holds Python objects (pickled data); refused")
        if dtype != expected:
            raise ModelFileError(path, f"params.npy has dtype {dtype.str}; the header's dtype needs {expected.str}")
        if fortran_order:
            raise ModelFileError(path, "params.npy is in Fortran order; C order expected")
        if shape != (n_params,):
            raise ModelFileError(path, f"params.npy has shape {shape}; the header needs ({n_params},)")
        header_length = member.tell()
        if info.file_size != header_length + n_params * expected.itemsize:
            raise ModelFileError(
                path,
                f"params.npy is {info.file_size} bytes; its header and {n_params} {header['dtype']} values need "
                f"{header_length + n_params * expected.itemsize}",
            )
        params = np.empty(n_params, dtype=expected)
        buffer = params.view(np.uint8)
        filled = 0
        while filled < buffer.size:
            chunk = member.read(min(_READ_CHUNK, buffer.size - filled))
            if not chunk:
                raise ModelFileError(path, "params.npy is truncated")
            buffer[filled : filled + len(chunk)] = np.frombuffer(chunk, dtype=np.uint8)
            filled += len(chunk)
        if member.read(1):  # also reaches the end of the member, which checks its CRC-32
            raise ModelFileError(path, "params.npy has more data than its header declares")
    return params
