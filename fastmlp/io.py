"""Model files: save a :class:`~fastmlp.Model` to one ``.npz`` file and load it back, safely and bit-exactly.

The file format (version 2)
---------------------------
A model file is an uncompressed ZIP archive (the ``.npz`` container of NumPy) whose members are all stored without
compression: ``header.json``, ``params.npy`` and, in version 2, any number (up to ``MAX_ARRAYS``) of array
members ``arrays/<name>.npy``. A file without arrays is written as version 1, which is version 2 without the
``arrays`` field and members, so that older fastmlp versions keep reading it.

``header.json``
    UTF-8 JSON text, one object (human-readable: ``unzip -p model.npz header.json``), at most
    :data:`MAX_HEADER_BYTES` (1 MiB). Fields:

    =================== =====================================================================================
    ``format``          ``"fastmlp-model"``
    ``format_version``  ``1`` or ``2`` (an integer)
    ``fastmlp_version`` the version of fastmlp that wrote the file (a string, informational)
    ``created``         when the file was written, ISO 8601 in UTC (a string, informational)
    ``sizes``           layer widths ``[n_inputs, hidden..., n_outputs]``, integers >= 1, at least two
    ``hidden``          one activation name per hidden layer: ``"identity"``, ``"sigmoid"``, ``"tanh"``,
                        ``"relu"`` or ``"leaky_relu"``
    ``output``          the output activation: ``"identity"``, ``"sigmoid"``, ``"softmax"`` or ``"exp"``
    ``loss``            the loss paired with ``output``: ``"mse"``, ``"binary_crossentropy"``,
                        ``"crossentropy"`` or ``"poisson"``
    ``dtype``           ``"float32"`` or ``"float64"``: the dtype of the parameters
    ``bias``            ``true`` or ``false``: whether the layers have biases
    ``init``            one initialisation name per layer (``"he"``, ``"glorot"`` or ``"normal"``), a record
                        only
    ``n_params``        the length of the parameter vector: ``sum_k sizes[k] * sizes[k + 1]``, plus
                        ``sum_k sizes[k + 1]`` with biases
    ``sha256``          SHA-256 (lowercase hex) of the raw bytes of the parameter vector as stored
    ``arrays``          version 2 only: an object declaring each array member, by name:
                        ``{"<name>": {"dtype": str, "shape": [int, ...], "sha256": str}, ...}``
    ``training``        ``null``, or ``{"epochs": int, "samples_seen": int, "optimizer": str}`` summarising
                        the training when saved (``optimizer`` is the optimizer's ``repr``, a record only)
    ``metadata``        an object given by the caller (``save_model(..., metadata=...)``), ``{}`` by default:
                        strings, integers, finite floats, booleans, null, and lists and objects of those
    =================== =====================================================================================

``params.npy``
    The flat parameter vector (:attr:`Model.params`) as a NumPy ``.npy`` array, format version 1.0: 1-D, C order,
    little-endian ``<f4`` (float32) or ``<f8`` (float64), ``n_params`` values. For each layer k in order:
    ``W_k`` (``sizes[k]`` x ``sizes[k + 1]``, row-major), then ``b_k`` (``sizes[k + 1]`` values) when
    ``bias`` is true.

``arrays/<name>.npy``
    One array given to ``save_model(..., arrays={name: array})``: data too large, or too typed, for the JSON
    header (class labels, feature names, a loss curve, input scaling). ``<name>`` is 1 to 64 ASCII letters,
    digits and underscores, not starting with a digit. The member is a ``.npy`` array, format version 1.0, C
    order, of any shape with at most ``MAX_ARRAY_NDIM`` dimensions, whose dtype is one of
    ``ARRAY_DTYPES`` (booleans stored as bytes 0 and 1; little-endian integers of 1, 2, 4 and 8 bytes, signed
    and unsigned; floats of 2, 4 and 8 bytes; complex numbers of 8 and 16 bytes) or a little-endian fixed-width
    unicode string ``<U1`` to ``<U1048576`` (UTF-32 code points). Never Python objects, bytes strings, dates or
    structured records. Its header declaration gives its ``dtype`` (NumPy's ``dtype.str``, for example ``"<f8"``
    or ``"<U12"``), its ``shape`` and the SHA-256 of its raw bytes as stored. Values are not otherwise checked
    (a float array may hold NaN): what they mean is up to the code that stored them.

Plain NumPy reads it without fastmlp and without pickle::

    with np.load("model.npz", allow_pickle=False) as f:
        params = f["params"]                         # the .npy member
        header = json.loads(f["header.json"])        # a non-.npy member comes back as bytes
        names = f["arrays/feature_names_in"]         # an array member, when the header declares it

Versioning
----------
``format_version`` changes whenever a reader of the previous version could not read a file correctly (a new
field, a new activation, a new member); version 2 added the array members. fastmlp reads every format version up
to its own and refuses newer ones with a message asking to upgrade fastmlp, and writes the oldest version that
holds the file's content. Within a version the schema is closed: unknown fields are refused, not ignored.

What :func:`save_model` refuses
-------------------------------
Whatever ``save`` writes, :func:`load` reads. Before any file is created, the header that would be written goes
through the loader's own checks, and the arrays through the loader's rules: metadata that would make the header
larger than 1 MiB, metadata that is not plain JSON, parameters holding NaN or infinity, and arrays of another
dtype, name or number of dimensions raise ``TypeError`` or ``ValueError``, and an existing file stays as it was.
An existing target that is a directory, a named pipe, a device or a socket (after following symbolic links) is
refused with ``OSError`` and left alone; only a regular file (or a symbolic link to one, which is replaced) is
replaced. While writing in the main thread, SIGTERM and SIGHUP with their default handlers first remove the
temporary file, then end the process as they would have.

What :func:`load` refuses
-------------------------
Loading never unpickles and never imports, evaluates or looks up anything named in the file: activation, loss and
dtype names are checked against fixed tables. Every problem raises :class:`ModelFileError` (a ``ValueError``)
naming the path and the reason; no other exception type escapes for any file content. Memory and time are
bounded by the file's real size: every size the file claims is checked against it before anything is allocated.
It refuses:

- a missing or unreadable path; a directory, a named pipe, a device or a socket (checked on the path before it is
  opened, and on the open descriptor; a pipe is never waited on); a file that does not start with a ZIP local file
  header (a pickle, a bare ``.npy``, say); a truncated or corrupted archive (the ZIP CRC-32 of every member is
  checked by reading it to the end);
- members other than ``header.json``, ``params.npy`` and ``arrays/<name>.npy`` (so no path such as ``../x`` or
  ``/etc/x``; nothing is ever extracted), a member present twice, more than ``MAX_ARRAYS`` arrays, compressed
  or encrypted members, a member claiming more bytes than the file has, members claiming more bytes together than
  the file has (overlapping members), a header larger than 1 MiB;
- a header that is not UTF-8 JSON, has duplicate keys, ``NaN`` or ``Infinity``, a wrong ``format``, a
  ``format_version`` newer than this fastmlp (``"upgrade fastmlp"``), missing or unknown fields for its version,
  or any field of the wrong type or value (booleans are not integers; ``sizes`` >= 1; names outside the tables; a
  ``loss`` that does not match ``output``; a ``hidden`` or ``init`` list of the wrong length; ``n_params`` that
  does not match ``sizes`` and ``bias``; more than :data:`MAX_PARAMS` parameters; an array declaration with
  another dtype than those above, a bad name, shape or digest);
- an array member that the header does not declare, or a declared array without its member;
- a ``.npy`` member whose ``.npy`` header (checked before anything is allocated) is not version 1.0 or 2.0, has
  an object or any other dtype than the JSON header declares, Fortran order, or another shape; or whose member
  size is not exactly the ``.npy`` header plus the declared values;
- parameters or arrays whose SHA-256 differs from the header's, parameters that hold NaN or infinity, boolean
  arrays holding bytes other than 0 and 1, and unicode arrays holding numbers that are not Unicode code points.

Accidental corruption anywhere in the file is caught by the CRC-32s and, for the parameters and arrays, the
SHA-256s. The header is plain JSON that may be edited on purpose: an edit that keeps every check above satisfied
(a new ``created`` date, different ``metadata``) loads. A loaded model's random generator is seeded with 0
(generators are not stored), so its later ``fit`` calls without a seed are reproducible.
"""

from . import _validation as v
from ._modelfile import (
    _FIELDS,  # noqa: F401  (the closed list of header fields of the newest version, for tests and tools)
    _FIELDS_BY_VERSION,  # noqa: F401  (the same for each version)
    ARRAY_DTYPES,
    FORMAT_NAME,
    FORMAT_VERSION,
    MAX_ARRAY_NDIM,
    MAX_ARRAYS,
    MAX_HEADER_BYTES,
    MAX_METADATA_DEPTH,
    MAX_PARAMS,
    MAX_STRING_LENGTH,
    ModelFileError,
    read_model_file,
)
from .model import SCALING_ARRAYS, Model

__all__ = [
    "ARRAY_DTYPES",
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "MAX_ARRAYS",
    "MAX_ARRAY_NDIM",
    "MAX_HEADER_BYTES",
    "MAX_METADATA_DEPTH",
    "MAX_PARAMS",
    "MAX_STRING_LENGTH",
    "ModelFileError",
    "ModelHeader",
    "load",
    "load_with_metadata",
    "save_model",
]


class ModelHeader(dict):
    """The checked header of a model file, as :func:`load_with_metadata` returns it: a dict, plus its arrays.

    The dict holds the fields of ``header.json`` exactly as in the file (plain JSON values, so
    ``json.dumps(header)`` works); for a version 2 file ``header["arrays"]`` holds the arrays' declarations
    (dtype, shape, SHA-256). The arrays themselves are the attribute ``arrays``.

    Parameters
    ----------
    fields : dict
        The header's fields.
    arrays : dict of str to ndarray, optional
        The file's array members by name.

    Attributes
    ----------
    arrays : dict of str to ndarray
        The arrays stored with ``save_model(..., arrays=...)``, by name: each a new, writable, C-contiguous array
        of the stored dtype (little-endian) and shape, matching its SHA-256. ``{}`` for a file without arrays
        (every version 1 file).
    """

    def __init__(self, fields=(), arrays=None):
        super().__init__(fields)
        self.arrays = {} if arrays is None else dict(arrays)

    def __repr__(self):
        return f"ModelHeader({dict.__repr__(self)}, arrays={self.arrays!r})"  # NumPy abbreviates large arrays


def save_model(model, path, *, metadata=None, arrays=None):
    """Write ``model`` to ``path`` as a model file (see :mod:`fastmlp.io`), atomically.

    The file is written to a temporary file in the same directory, flushed to disk (``fsync``) and renamed over
    ``path``: a failed or interrupted save leaves no partial file, and an existing file at ``path`` stays as it was
    until the new one is complete. ``path`` is used as given (no ``.npz`` is appended). Everything is checked
    against what :func:`load` accepts before any file is created: a file this writes always loads.

    Parameters
    ----------
    model : Model
        The model to save. Its configuration, parameters and a summary of its training are stored; the optimizer
        state and the random generator are not.
    path : str or os.PathLike
        Where to write the file: a new path, or an existing regular file (or a symbolic link to one).
    metadata : dict, optional
        Extra JSON data to store in the header's ``metadata`` field (for example ``{"note": "trained on v3"}``):
        string keys; values str, int, finite float, bool, None, or lists, tuples and dicts of those, nested at most
        :data:`MAX_METADATA_DEPTH` deep, the whole header at most :data:`MAX_HEADER_BYTES`. NumPy values must be
        converted first (``array.tolist()``, ``int(value)``); large or typed data belongs in ``arrays``.
    arrays : dict of str to ndarray, optional
        Arrays to store as ``arrays/<name>.npy`` members, read back as
        ``load_with_metadata(path)[1].arrays[name]`` with the same dtype (made little-endian), shape and values.
        At most ``MAX_ARRAYS``; names of 1 to 64 ASCII letters, digits and underscores, not starting with a
        digit; dtypes among ``ARRAY_DTYPES`` or fixed-width unicode (``<U1`` to ``<U1048576``); at most
        ``MAX_ARRAY_NDIM`` dimensions. With any arrays the file is format version 2, else version 1.

    Raises
    ------
    TypeError
        If ``model`` is not a :class:`~fastmlp.Model`, ``path`` is not a path, ``metadata`` holds anything else
        than the JSON types above, or an array is not an ndarray of an allowed dtype.
    ValueError
        If the parameters hold NaN or infinity, a metadata float is not finite, the header would exceed
        :data:`MAX_HEADER_BYTES` or any other limit of :func:`load`, or an array name, count or number of
        dimensions is not allowed. Nothing is written.
    OSError
        If the file cannot be written, or ``path`` exists and is not a regular file (``IsADirectoryError`` for a
        directory; ``errno.EINVAL`` for a named pipe, a device or a socket). The target is then unchanged.

    Examples
    --------
    >>> import fastmlp, tempfile, os
    >>> import numpy as np
    >>> from fastmlp.io import save_model, load_with_metadata
    >>> model = fastmlp.Model([2, 8, 1], seed=0)
    >>> path = os.path.join(tempfile.mkdtemp(), "model.npz")
    >>> save_model(model, path, metadata={"note": "example"}, arrays={"input_mean": np.array([0.5, 2.0])})
    >>> loaded, header = load_with_metadata(path)
    >>> bool((loaded.params == model.params).all()), header["metadata"], header.arrays["input_mean"].tolist()
    (True, {'note': 'example'}, [0.5, 2.0])
    """
    if not isinstance(model, Model):
        raise TypeError(f"model must be a fastmlp.Model; got {type(model).__name__}.")
    model.save(path, metadata=metadata, arrays=arrays)


def load(path):
    """Load the model of a file written by :func:`save_model` or ``Model.save``.

    ``load(path)`` is ``load_with_metadata(path)[0]``, which documents the parameter, the result and the errors.
    The model is bit-identical to the saved one: same parameters, hence the same predictions. The random generator
    and the optimizer state are not stored: a loaded model's generator is seeded with 0 and its ``partial_fit``
    starts a fresh optimizer state.
    """
    return load_with_metadata(path)[0]


def load_with_metadata(path):
    """Load a model file and return the model and its validated header, arrays included.

    Parameters
    ----------
    path : str or os.PathLike
        The model file.

    Returns
    -------
    model : Model
        The saved model, bit for bit, with its generator seeded with 0.
    header : ModelHeader
        The file's header (see :mod:`fastmlp.io` for the fields), checked: a dict whose ``header["metadata"]`` is
        the dict given to :func:`save_model` (``{}`` if none) and ``header["training"]`` the training summary or
        None, with the file's arrays as ``header.arrays`` (a dict of name to ndarray, ``{}`` if none).

    Raises
    ------
    ModelFileError
        For every problem with the file: missing, not a regular file, unreadable, not a model file, truncated,
        corrupted, forged, inconsistent, or written by a newer fastmlp (the module documentation lists the
        checks). No other exception type escapes, whatever the file holds.
    TypeError
        If ``path`` is not a path.
    """
    path = v.check_path(path)
    header, params, arrays = read_model_file(path)
    config = {key: header[key] for key in ("sizes", "hidden", "output", "dtype", "bias", "init")}
    scaling = None
    if any(name in arrays for name in SCALING_ARRAYS):
        scaling = tuple(arrays.get(name) for name in SCALING_ARRAYS)
    try:
        model = Model.from_config(config, params=params, seed=0, input_scaling=scaling)
    except (ValueError, TypeError) as exc:
        raise ModelFileError(path, f"the header describes an invalid model: {exc}") from exc
    if model.n_params != header["n_params"]:  # the header check computed it the same way; a second opinion
        raise ModelFileError(path, "n_params does not match the model's layout")
    return model, ModelHeader(header, arrays)
