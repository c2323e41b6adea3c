"""Model files: save a :class:`~fastmlp.Model` to one ``.npz`` file and load it back, safely and bit-exactly.

The file format (version 1)
---------------------------
A model file is an uncompressed ZIP archive (the ``.npz`` container of NumPy) with exactly two members, both stored
without compression:

``header.json``
    UTF-8 JSON text, one object (human-readable: ``unzip -p model.npz header.json``). Fields:

    =================== =====================================================================================
    ``format``          ``"fastmlp-model"``
    ``format_version``  ``1`` (an integer)
    ``fastmlp_version`` the version of fastmlp that wrote the file (a string, informational)
    ``created``         when the file was written, ISO 8601 in UTC (a string, informational)
    ``sizes``           layer widths ``[n_inputs, hidden..., n_outputs]``, integers >= 1, at least two
    ``hidden``          one activation name per hidden layer: ``"identity"``, ``"sigmoid"``, ``"tanh"``,
                        ``"relu"`` or ``"leaky_relu"``
    ``output``          the output activation: ``"identity"``, ``"sigmoid"`` or ``"softmax"``
    ``loss``            the loss paired with ``output``: ``"mse"``, ``"binary_crossentropy"`` or
                        ``"crossentropy"``
    ``dtype``           ``"float32"`` or ``"float64"``: the dtype of the parameters
    ``bias``            ``true`` or ``false``: whether the layers have biases
    ``init``            one initialisation name per layer (``"he"``, ``"glorot"`` or ``"normal"``), a record
                        only
    ``n_params``        the length of the parameter vector: ``sum_k sizes[k] * sizes[k + 1]``, plus
                        ``sum_k sizes[k + 1]`` with biases
    ``sha256``          SHA-256 (lowercase hex) of the raw bytes of the parameter vector as stored
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

Plain NumPy reads it without fastmlp and without pickle::

    with np.load("model.npz", allow_pickle=False) as f:
        params = f["params"]                         # the .npy member
        header = json.loads(f["header.json"])        # a non-.npy member comes back as bytes

Versioning
----------
``format_version`` changes whenever a version-1 reader could not read a file correctly (a new field, a new
activation, a new member). fastmlp reads every format version up to its own and refuses newer ones with a message
asking to upgrade fastmlp. Within a version the schema is closed: unknown fields are refused, not ignored.

What :func:`load` refuses
-------------------------
Loading never unpickles and never imports, evaluates or looks up anything named in the file: activation, loss and
dtype names are checked against fixed tables. Every problem raises :class:`ModelFileError` (a ``ValueError``)
naming the path and the reason; no other exception type escapes for any file content. It refuses:

- a missing or unreadable path, or one that does not start with a ZIP local file header (a pickle, a bare ``.npy``,
  say); a truncated or corrupted archive (the ZIP CRC-32 of every member is checked by reading it to the end);
- members other than exactly ``header.json`` and ``params.npy``, compressed or encrypted members, a header larger
  than 1 MiB;
- a header that is not UTF-8 JSON, has duplicate keys, ``NaN`` or ``Infinity``, a wrong ``format``, a
  ``format_version`` newer than this fastmlp (``"upgrade fastmlp"``), missing or unknown fields, or any field of
  the wrong type or value (booleans are not integers; ``sizes`` >= 1; names outside the tables; a ``loss`` that does
  not match ``output``; a ``hidden`` or ``init`` list of the wrong length; ``n_params`` that does not match
  ``sizes`` and ``bias``; more than :data:`MAX_PARAMS` parameters);
- a ``params.npy`` whose ``.npy`` header (checked before anything is allocated) is not version 1.0 or 2.0, has an
  object or any other dtype than ``dtype`` says, Fortran order, or a shape other than ``(n_params,)``; or whose
  member size is not exactly the ``.npy`` header plus ``n_params`` values, or exceeds the file's size;
- parameters whose SHA-256 differs from ``sha256``, or that hold NaN or infinity.

Accidental corruption anywhere in the file is caught by the CRC-32s and, for the parameters, the SHA-256. The
header is plain JSON that may be edited on purpose: an edit that keeps every check above satisfied (a new
``created`` date, different ``metadata``) loads. A loaded model's random generator is seeded with 0 (generators
are not stored), so its later ``fit`` calls without a seed are reproducible.
"""

from . import _validation as v
from ._modelfile import (
    _FIELDS,  # noqa: F401  (the closed list of header fields, for tests and tools)
    FORMAT_NAME,
    FORMAT_VERSION,
    MAX_HEADER_BYTES,
    MAX_METADATA_DEPTH,
    MAX_PARAMS,
    ModelFileError,
    read_model_file,
)
from .model import Model

__all__ = [
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "MAX_HEADER_BYTES",
    "MAX_METADATA_DEPTH",
    "MAX_PARAMS",
    "ModelFileError",
    "load",
    "load_with_metadata",
    "save_model",
]


def save_model(model, path, *, metadata=None):
    """Write ``model`` to ``path`` as a model file (format version 1, see :mod:`fastmlp.io`), atomically.

    The file is written to a temporary file in the same directory, flushed to disk (``fsync``) and renamed over
    ``path``: a failed or interrupted save leaves no partial file, and an existing file at ``path`` stays as it was
    until the new one is complete. ``path`` is used as given (no ``.npz`` is appended).

    Parameters
    ----------
    model : Model
        The model to save. Its configuration, parameters and a summary of its training are stored; the optimizer
        state and the random generator are not.
    path : str or os.PathLike
        Where to write the file.
    metadata : dict, optional
        Extra JSON data to store in the header's ``metadata`` field (for example ``{"classes": [0, 1],
        "n_features_in": 4}``): string keys; values str, int, finite float, bool, None, or lists, tuples and dicts
        of those, nested at most :data:`MAX_METADATA_DEPTH` deep. NumPy values must be converted first
        (``array.tolist()``, ``int(value)``).

    Raises
    ------
    TypeError
        If ``model`` is not a :class:`~fastmlp.Model`, ``path`` is not a path, or ``metadata`` holds anything else
        than the JSON types above.
    ValueError
        If the parameters hold NaN or infinity (such a file could not be loaded), or a metadata float is not
        finite.
    OSError
        If the file cannot be written (the target is then unchanged).

    Examples
    --------
    >>> import fastmlp, tempfile, os
    >>> from fastmlp.io import save_model, load
    >>> model = fastmlp.Model([2, 8, 1], seed=0)
    >>> path = os.path.join(tempfile.mkdtemp(), "model.npz")
    >>> save_model(model, path, metadata={"note": "example"})
    >>> bool((load(path).params == model.params).all())
    True
    """
    if not isinstance(model, Model):
        raise TypeError(f"model must be a fastmlp.Model; got {type(model).__name__}.")
    model.save(path, metadata=metadata)


def load(path):
    """Load the model of a file written by :func:`save_model` or ``Model.save``.

    ``load(path)`` is ``load_with_metadata(path)[0]``, which documents the parameter, the result and the errors.
    The model is bit-identical to the saved one: same parameters, hence the same predictions. The random generator
    and the optimizer state are not stored: a loaded model's generator is seeded with 0 and its ``partial_fit``
    starts a fresh optimizer state.
    """
    return load_with_metadata(path)[0]


def load_with_metadata(path):
    """Load a model file and return the model and its validated header.

    Parameters
    ----------
    path : str or os.PathLike
        The model file.

    Returns
    -------
    model : Model
        The saved model, bit for bit, with its generator seeded with 0.
    header : dict
        The file's header (see :mod:`fastmlp.io` for the fields), checked: ``header["metadata"]`` is the dict given
        to :func:`save_model` (``{}`` if none), ``header["training"]`` the training summary or None.

    Raises
    ------
    ModelFileError
        For every problem with the file: missing, unreadable, not a model file, truncated, corrupted, forged,
        inconsistent, or written by a newer fastmlp (the module documentation lists the checks). No other
        exception type escapes, whatever the file holds.
    TypeError
        If ``path`` is not a path.
    """
    path = v.check_path(path)
    header, params = read_model_file(path)
    config = {key: header[key] for key in ("sizes", "hidden", "output", "dtype", "bias", "init")}
    try:
        model = Model.from_config(config, params=params, seed=0)
    except (ValueError, TypeError) as exc:
        raise ModelFileError(path, f"the header describes an invalid model: {exc}") from exc
    if model.n_params != header["n_params"]:  # the header check computed it the same way; a second opinion
        raise ModelFileError(path, "n_params does not match the model's layout")
    return model, header
