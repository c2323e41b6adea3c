"""Every argument check of the public API in one place, with the tables of accepted names.

Kernels trust their inputs; everything they need to be true is made true here, once, at the Python boundary:
arrays become C-contiguous, writable arrays of the model's dtype (so each kernel compiles at most one signature per
dtype), shapes agree with the model, and values are finite. One rule for errors: a wrong type is a ``TypeError``,
a wrong value a ``ValueError``, and each names the argument and what was expected.
"""

import numbers
import operator
import os
import sys

import numpy as np

from ._codes import HIDDEN_ACTIVATIONS, OUTPUT_ACTIVATIONS, OUTPUT_LOSSES
from ._engine import CSR
from ._engine import all_finite as _all_finite
from ._engine import is_permutation as _is_permutation

__all__ = [
    "ALIASES",
    "DTYPES",
    "HIDDEN_ACTIVATIONS",
    "INITS",
    "OUTPUT_ACTIVATIONS",
    "OUTPUT_LOSSES",
    "all_finite_array",
    "as_array",
    "assert_all_finite",
    "check_alpha",
    "check_bool",
    "CONFIG_KEYS",
    "check_callbacks",
    "check_config",
    "check_dtype",
    "check_epoch_order",
    "check_features",
    "check_fit_flags",
    "check_float_above",
    "check_fraction",
    "check_hidden",
    "check_init",
    "check_init_list",
    "check_input_scaling",
    "check_int",
    "check_memory",
    "check_nonnegative_float",
    "check_option",
    "check_out",
    "check_output",
    "check_path",
    "check_positive_float",
    "check_sample_weight",
    "check_seed",
    "check_sizes",
    "check_sparse_features",
    "check_step",
    "check_tol",
    "check_validation",
    "check_weight_total",
    "class_labels",
    "class_weight_rows",
    "encode_targets",
    "is_sparse",
    "label_array",
    "to_kernel_array",
]

# scikit-learn's name for the sigmoid; accepted on input, stored under its canonical name.
ALIASES = {"logistic": "sigmoid", "linear": "identity", "xavier": "glorot"}
INITS = ("he", "glorot", "normal")
DTYPES = {"float32": np.dtype(np.float32), "float64": np.dtype(np.float64)}


def _choice(value, name, options):
    """Return the canonical name for ``value`` among ``options``, or raise naming the parameter."""
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a string, one of {sorted(options)}; got {value!r}.")
    canonical = ALIASES.get(value.lower(), value.lower())
    if canonical not in options:
        raise ValueError(f"{name} must be one of {sorted(options)}; got {value!r}.")
    return canonical


def check_int(value, name, minimum):
    """Return ``value`` as an int, requiring an integer (not a bool) >= ``minimum``."""
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer >= {minimum}; got {value!r}.")
    value = operator.index(value)
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}; got {value}.")
    return value


def check_positive_float(value, name):
    """Return ``value`` as a float, requiring a finite real number > 0."""
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number > 0; got {value!r}.")
    value = float(value)
    if not np.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a finite number > 0; got {value}.")
    return value


def check_nonnegative_float(value, name, *, finite=False):
    """Return ``value`` as a float, requiring a real number >= 0 (and finite when ``finite``)."""
    what = "a number >= 0, finite" if finite else "a number >= 0"
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be {what}; got {value!r}.")
    if not value >= 0 or (finite and not value < np.inf):
        raise ValueError(f"{name} must be {what}; got {value!r}.")
    return float(value)


def check_fraction(value, name, low_open=False):
    """Return ``value`` as a float in [0, 1), or in (0, 1) when ``low_open``."""
    interval = "(0, 1)" if low_open else "[0, 1)"
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number in {interval}; got {value!r}.")
    value = float(value)
    if not (0 < value < 1 if low_open else 0 <= value < 1):
        raise ValueError(f"{name} must lie in {interval}; got {value}.")
    return value


def check_sizes(sizes, dtype=np.float64):
    """Return the layer widths as a tuple of ints, at least two (inputs and outputs), each >= 1.

    The parameters of such a network (``dtype`` values) must also fit in this machine's memory.
    """
    if isinstance(sizes, str | bytes) or not hasattr(sizes, "__len__"):
        raise TypeError(f"sizes must be a sequence of layer widths such as [n_in, 32, n_out]; got {sizes!r}.")
    if len(sizes) < 2:
        raise ValueError(f"sizes must list at least the input and output widths, [n_in, n_out]; got {list(sizes)}.")
    sizes = tuple(check_int(width, f"sizes[{i}]", 1) for i, width in enumerate(sizes))
    n_params = sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:], strict=False))
    check_memory(n_params, dtype, f"a model of sizes {list(sizes)} ({n_params:,} parameters)", "sizes")
    return sizes


def check_hidden(hidden, n_hidden):
    """Return one canonical hidden activation name per hidden layer."""
    if isinstance(hidden, str):
        return (_choice(hidden, "hidden", HIDDEN_ACTIVATIONS),) * n_hidden
    if not hasattr(hidden, "__len__"):
        raise TypeError(f"hidden must be an activation name or a sequence of names; got {hidden!r}.")
    if len(hidden) != n_hidden:
        raise ValueError(
            f"hidden must give one activation per hidden layer: the model has {n_hidden}, got {len(hidden)}."
        )
    return tuple(_choice(name, f"hidden[{i}]", HIDDEN_ACTIVATIONS) for i, name in enumerate(hidden))


def check_output(output, n_out):
    """Return the canonical output activation name, checking it fits the output width."""
    output = _choice(output, "output", OUTPUT_ACTIVATIONS)
    if output == "softmax" and n_out < 2:
        raise ValueError(
            f"output='softmax' needs at least 2 output units, got sizes[-1] = {n_out}; "
            "use output='sigmoid' for a single binary target."
        )
    return output


def check_init(init, n_layers, activations):
    """Return one initialisation name per layer, choosing the default from each layer's activation."""
    if init is None:
        return tuple("he" if act in ("relu", "leaky_relu") else "glorot" for act in activations)
    return (_choice(init, "init", INITS),) * n_layers


def check_dtype(dtype):
    """Return the model's dtype: float32 or float64."""
    if dtype is None:  # np.dtype(None) would quietly mean float64
        raise TypeError("dtype must be 'float32' or 'float64'; got None.")
    try:
        resolved = np.dtype(dtype)
    except TypeError as exc:
        raise TypeError(f"dtype must be 'float32' or 'float64'; got {dtype!r}.") from exc
    if resolved.name not in DTYPES:
        raise ValueError(f"dtype must be 'float32' or 'float64'; got {dtype!r}.")
    return DTYPES[resolved.name]


def check_seed(seed):
    """Return a ``numpy.random.Generator`` from None, an int or a Generator."""
    if seed is None or isinstance(seed, np.random.Generator):
        return np.random.default_rng(seed)
    if isinstance(seed, bool | np.bool_) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"seed must be None, a non-negative integer or a numpy.random.Generator; got {seed!r}.")
    if seed < 0:
        raise ValueError(f"seed must be None, a non-negative integer or a numpy.random.Generator; got {seed}.")
    return np.random.default_rng(int(seed))


def check_bool(value, name):
    """Return ``value`` as a bool, refusing anything but True and False (a string "no" would count as True)."""
    if not isinstance(value, bool | np.bool_):
        raise TypeError(f"{name} must be True or False; got {value!r}.")
    return bool(value)


def as_array(a, name):
    """Return ``a`` as an ndarray of a real numeric dtype, refusing kinds that have no meaning as numbers."""
    if isinstance(a, str | bytes):
        raise TypeError(f"{name} must be an array of numbers; got a string.")
    if isinstance(a, np.ma.MaskedArray):  # np.asarray would drop the mask and use the hidden values
        raise TypeError(f"{name} is a masked array; fill or drop the masked values first (e.g. {name}.filled()).")
    try:
        arr = np.asarray(a)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{name} could not be read as a rectangular numeric array: {exc}") from exc
    kind = arr.dtype.kind
    if kind in "OUSV":
        raise TypeError(
            f"{name} must hold numbers; got an array of dtype {arr.dtype} (convert it with .astype(float))."
        )
    if kind == "c":
        raise TypeError(f"{name} must be real; complex data (dtype {arr.dtype}) is not supported.")
    if kind == "b":
        raise TypeError(f"{name} must hold numbers; got a boolean array (convert it with .astype(float)).")
    if kind not in "fiu":
        raise TypeError(f"{name} must hold real numbers; got dtype {arr.dtype}.")
    return arr


def all_finite_array(arr):
    """Return True when the real array ``arr`` holds no NaN and no +-inf."""
    if arr.dtype.kind != "f":
        return True
    if arr.dtype in (np.float32, np.float64) and arr.flags.c_contiguous and arr.flags.writeable:
        # The arrays the kernels receive: one compiled pass, no temporary (about 3x faster than np.isfinite).
        return bool(_all_finite(arr.reshape(-1)))
    return bool(np.isfinite(arr).all())


def assert_all_finite(arr, name):
    """Raise ``ValueError`` if ``arr`` holds NaN or +-inf."""
    if all_finite_array(arr):
        return
    if np.isnan(arr).any():
        raise ValueError(f"{name} contains NaN; remove or impute missing values first.")
    raise ValueError(f"{name} contains infinity (or values too large for {arr.dtype}); every value must be finite.")


def to_kernel_array(arr, dtype):
    """Return ``arr`` as a C-contiguous, writable array of ``dtype``, copying only when needed.

    Numba compiles a separate specialisation for each dtype, layout and writability; converting here keeps every
    kernel at one signature per model dtype.
    """
    with np.errstate(over="ignore"):  # an overflow to inf is reported by assert_all_finite, naming the argument
        out = np.ascontiguousarray(arr, dtype=dtype)
    if not out.flags.writeable:
        out = out.copy()
    return out


def check_features(X, n_features, name="X"):
    """Validate a 2-D input array against the model's input width; return it as an ndarray (not yet converted)."""
    X = as_array(X, name)
    if X.ndim != 2:
        hint = " Reshape a single sample with X.reshape(1, -1), or a single feature with X.reshape(-1, 1)."
        raise ValueError(
            f"{name} must be 2-D of shape (n_samples, {n_features}); got {X.ndim}-D shape {X.shape}.{hint}"
        )
    if X.shape[0] == 0:
        raise ValueError(f"{name} is empty: 0 samples (shape={X.shape}); at least 1 is required.")
    if X.shape[1] == 0:
        raise ValueError(f"{name} has 0 feature(s) (shape={X.shape}) while a minimum of 1 is required.")
    if X.shape[1] != n_features:
        raise ValueError(f"{name} has {X.shape[1]} features, but the model expects {n_features} (sizes[0]).")
    return X


def encode_targets(y, output, n_out, n_rows, dtype, name="y"):
    """Validate targets against the output layer and return them as an ``(n_rows, n_out)`` kernel array.

    - identity (regression): real values, 1-D when ``n_out == 1`` or 2-D ``(n_rows, n_out)``;
    - sigmoid: values in [0, 1] (0/1 labels, or probabilities), 1-D when ``n_out == 1`` or 2-D; booleans allowed;
    - softmax: 1-D integer class labels in ``[0, n_out)``, or 2-D rows of class probabilities (one-hot);
    - exp (Poisson regression): values >= 0, shaped as for identity.
    """
    if output == "sigmoid" and np.asarray(y).dtype.kind == "b":
        y = np.asarray(y, dtype=dtype)
    y = as_array(y, name)
    if y.shape[:1] != (n_rows,):
        raise ValueError(f"{name} must have one row per sample of X ({n_rows}); got shape {y.shape}.")
    assert_all_finite(y, name)
    if output == "softmax" and y.ndim == 1:
        labels = y
        if labels.dtype.kind == "f" and not np.array_equal(labels, np.round(labels)):
            raise ValueError(f"{name} holds class labels for output='softmax' and must be integers; got fractions.")
        if labels.min() < 0 or labels.max() >= n_out:
            raise ValueError(
                f"{name} labels must lie in [0, {n_out - 1}] for {n_out} output units; "
                f"got values from {labels.min()} to {labels.max()}."
            )
        Y = np.zeros((n_rows, n_out), dtype=dtype)
        Y[np.arange(n_rows), labels.astype(np.intp)] = 1
        return Y
    if y.ndim == 1:
        if n_out != 1:
            raise ValueError(f"{name} must be 2-D of shape ({n_rows}, {n_out}) for {n_out} outputs; got 1-D.")
        y = y.reshape(-1, 1)
    if y.ndim != 2 or y.shape[1] != n_out:
        raise ValueError(f"{name} must have shape ({n_rows}, {n_out}) to match the {n_out} outputs; got {y.shape}.")
    if output == "exp" and y.min() < 0:
        raise ValueError(f"{name} must be >= 0 (counts or rates) for output='exp', Poisson regression; got {y.min()}.")
    if output in ("sigmoid", "softmax") and (y.min() < 0 or y.max() > 1):
        raise ValueError(f"{name} must hold probabilities in [0, 1] for output={output!r}; got values outside.")
    if output == "softmax" and not np.allclose(y.sum(axis=1), 1, rtol=0, atol=1e-6):
        raise ValueError(f"{name} rows must sum to 1 (one-hot or class probabilities) for output='softmax'.")
    Y = to_kernel_array(y, dtype)
    assert_all_finite(Y, name)  # again after the cast: values too large for float32 become inf
    return Y


def check_path(path, name="path"):
    """Return a file path as a str, refusing anything that is not a non-empty path."""
    if not isinstance(path, str | bytes | os.PathLike):
        raise TypeError(f"{name} must be a file path (str or os.PathLike); got {type(path).__name__}.")
    path = os.fsdecode(os.fspath(path))
    if not path:
        raise ValueError(f"{name} must not be empty.")
    return path


# ---------------------------------------------------------------------------------------------------------------
# Training arguments


def check_alpha(alpha):
    """The L2 penalty: a finite number >= 0."""
    if isinstance(alpha, bool | np.bool_) or not isinstance(alpha, numbers.Real):
        raise TypeError(f"alpha must be a finite number >= 0; got {alpha!r}.")
    if not 0 <= alpha < np.inf:
        raise ValueError(f"alpha must be a finite number >= 0; got {alpha!r}.")
    return float(alpha)


def check_tol(tol):
    """``fit``'s ``tol``: None (no tol stop) or a finite number >= 0."""
    if tol is None:
        return None
    if isinstance(tol, bool | np.bool_) or not isinstance(tol, numbers.Real):
        raise TypeError(f"tol must be None or a number >= 0; got {tol!r}.")
    if not 0 <= tol < np.inf:
        raise ValueError(f"tol must be None or a number >= 0, finite; got {tol!r}.")
    return float(tol)


def check_fit_flags(shuffle, verbose, record_gradient_norms):
    """The boolean options of fit (``shuffle`` may also be a callable giving each epoch's order)."""
    if not callable(shuffle):
        check_bool(shuffle, "shuffle")
    check_bool(record_gradient_norms, "record_gradient_norms")
    if not isinstance(verbose, bool | int):
        raise TypeError(f"verbose must be True or False; got {verbose!r}.")


def check_sample_weight(sample_weight, n_rows, dtype, name="sample_weight"):
    """Return row weights as a float array of length ``n_rows`` (ones when None)."""
    if sample_weight is None:
        return np.ones(n_rows, dtype=dtype)
    w = as_array(sample_weight, name)
    if w.shape != (n_rows,):
        raise ValueError(f"{name} must have shape ({n_rows},), one weight per sample of X; got {w.shape}.")
    w = to_kernel_array(w, dtype)
    assert_all_finite(w, name)
    if (w < 0).any():
        raise ValueError(f"{name} must be >= 0; got a negative weight.")
    if not (w > 0).any():
        raise ValueError(f"{name} must have at least one positive weight; all weights are zero.")
    check_weight_total(w, name)
    return w


def check_weight_total(w, name):
    """Refuse row weights whose total is too small to divide by in their dtype (subnormal, say)."""
    total = float(np.sum(w, dtype=np.float64))
    if total < float(np.finfo(w.dtype).tiny):  # compared in float64: a float32 total may be past its range
        raise ValueError(
            f"{name} sums to {total:.3g}, too small to divide the loss by in {w.dtype}; scale the weights up (the "
            "loss depends only on their ratios)."
        )


def class_labels(output, n_out, y):
    """Integer class labels of the targets of a classifier with one label per row, or raise ValueError."""
    y = np.asarray(y)
    if output == "softmax":
        return y.astype(np.intp) if y.ndim == 1 else y.argmax(axis=1)
    if output == "sigmoid" and n_out == 1:
        return (y.reshape(-1) >= 0.5).astype(np.intp)
    raise ValueError(
        "class_weight needs a classifier with one label per row: output='softmax', or output='sigmoid' with one "
        f"output; this model has output={output!r} with {n_out} output(s)."
    )


def class_weight_rows(class_weight, output, n_out, y):
    """Return per-row weights from ``class_weight`` ("balanced" or {class: weight}), or None."""
    if class_weight is None:
        return None
    labels = class_labels(output, n_out, y)
    n_classes = max(n_out, 2)
    if isinstance(class_weight, str):
        if class_weight != "balanced":
            raise ValueError(f"class_weight must be 'balanced', a dict or None; got {class_weight!r}.")
        counts = np.bincount(labels, minlength=n_classes)
        present = counts > 0
        table = np.zeros(n_classes)
        table[present] = len(labels) / (present.sum() * counts[present])
    elif isinstance(class_weight, dict):
        table = np.ones(n_classes)
        for label, weight in class_weight.items():
            if isinstance(label, bool) or not isinstance(label, numbers.Integral) or not 0 <= label < n_classes:
                raise ValueError(f"class_weight keys must be class labels in [0, {n_classes - 1}]; got {label!r}.")
            if isinstance(weight, bool) or not isinstance(weight, numbers.Real) or not 0 <= weight < np.inf:
                raise ValueError(f"class_weight values must be finite numbers >= 0; got {weight!r} for {label}.")
            table[label] = weight
    else:
        raise TypeError(f"class_weight must be 'balanced', a dict or None; got {type(class_weight).__name__}.")
    return table[labels]


def check_validation(validation, validation_fraction):
    """Check the two ways to give validation data; return (validation pair or None, fraction or None)."""
    if validation is not None and validation_fraction is not None:
        raise ValueError("give validation=(X_val, y_val) or validation_fraction, not both.")
    if validation is not None:
        if not isinstance(validation, tuple | list) or len(validation) != 2:
            raise ValueError("validation must be a pair (X_val, y_val).")
    if validation_fraction is not None:
        if isinstance(validation_fraction, bool) or not isinstance(validation_fraction, numbers.Real):
            raise TypeError(f"validation_fraction must be a number in (0, 1); got {validation_fraction!r}.")
        if not 0 < validation_fraction < 1:
            raise ValueError(f"validation_fraction must lie in (0, 1); got {validation_fraction}.")
    return validation, validation_fraction


def check_callbacks(callbacks):
    """Return the callbacks as a list of callables ``f(epoch, logs)``."""
    if callbacks is None:
        return []
    if callable(callbacks) or hasattr(callbacks, "on_epoch_end"):
        callbacks = [callbacks]
    result = []
    for callback in callbacks:
        if hasattr(callback, "on_epoch_end"):
            result.append(callback.on_epoch_end)
        elif callable(callback):
            result.append(callback)
        else:
            raise TypeError(f"callbacks must be callables f(epoch, logs) or have on_epoch_end; got {callback!r}.")
    return result



def _physical_memory():
    """Bytes of memory this machine has, or None where the system does not say."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def check_memory(n_values, dtype, what, name):
    """Refuse, naming ``name``, buffers of ``n_values`` values of ``dtype`` that this machine's memory cannot hold.

    NumPy hands out more than the machine has (the pages are only taken when written), so an oversized model or
    workspace would be killed part way through instead of refused; this check makes it a ValueError up front.
    """
    n_bytes = int(n_values) * np.dtype(dtype).itemsize
    memory = _physical_memory()
    if memory is not None and n_bytes > memory:
        raise ValueError(
            f"{what} needs {n_bytes / 2**30:,.1f} GiB, more than this machine's {memory / 2**30:,.1f} GiB of memory; "
            f"reduce {name}."
        )


def check_input_scaling(mean, scale, n_features):
    """Return ``(mean, scale)`` as float64 arrays of ``n_features`` values (finite, scales > 0), or None."""
    if mean is None and scale is None:
        return None
    if mean is None or scale is None:
        raise ValueError("give both mean and scale for the input scaling, or neither.")
    arrays = []
    for name, values in (("mean", mean), ("scale", scale)):
        values = as_array(values, name)
        if values.shape != (n_features,):
            raise ValueError(f"{name} must have shape ({n_features},), a value per input feature; got {values.shape}.")
        values = np.array(values, dtype=np.float64)
        assert_all_finite(values, name)
        arrays.append(values)
    if not (arrays[1] > 0).all():
        raise ValueError("scale must be > 0 for every feature.")
    return arrays[0], arrays[1]


def check_epoch_order(order, n_rows):
    """Return the row order a ``shuffle`` callable gave as int64, requiring a permutation of ``range(n_rows)``."""
    try:
        order = np.asarray(order)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"shuffle must return an array of row indices; got {type(order).__name__}.") from exc
    if order.dtype.kind not in "iu" or order.shape != (n_rows,):
        raise ValueError(
            f"shuffle must return a permutation of range({n_rows}): integers of shape ({n_rows},); got "
            f"dtype {order.dtype} and shape {order.shape}."
        )
    order = np.ascontiguousarray(order, dtype=np.int64)
    if not _is_permutation(order, n_rows):
        raise ValueError(f"shuffle must return a permutation of range({n_rows}): every row exactly once.")
    return order


def is_sparse(X):
    """Whether ``X`` is a SciPy sparse matrix or array."""
    # No sparse matrix exists before scipy.sparse is imported, and importing it here would cost a fresh process
    # about 0.17 s (a sixth of the demo) on every dense fit. Once it is in sys.modules the import costs nothing,
    # and waits for another thread that is still importing it.
    if "scipy.sparse" not in sys.modules:
        return False
    import scipy.sparse

    return scipy.sparse.issparse(X)


def _check_sparse_structure(X, name):
    """Refuse a CSR or CSC matrix whose index arrays do not describe its shape.

    SciPy checks them only when asked (``check_format(full_check=True)``), so a matrix built from arrays, or whose
    ``indices`` were edited, may point outside its rows or columns. The kernels read and write through these
    indices without bounds checks: an index out of range would read past the weights, or crash the process.
    """
    major, minor = X.shape if X.format == "csr" else X.shape[::-1]
    what = "row" if X.format == "csr" else "column"
    indptr, indices, data = X.indptr, X.indices, X.data
    if indptr.ndim != 1 or indptr.shape[0] != major + 1 or indices.ndim != 1 or data.ndim != 1:
        raise ValueError(
            f"{name} is a malformed sparse matrix: its indptr must have {major + 1} entries (one per {what}, plus "
            f"one); got {indptr.shape[0] if indptr.ndim == 1 else indptr.shape}."
        )
    nnz = int(indptr[-1])
    if indptr[0] != 0 or not (indptr[1:] >= indptr[:-1]).all() or nnz > min(indices.shape[0], data.shape[0]):
        raise ValueError(
            f"{name} is a malformed sparse matrix: its indptr must start at 0, never decrease and end at most at "
            f"the number of stored values ({min(indices.shape[0], data.shape[0])}); got {indptr[0]} ... {nnz}."
        )
    used = indices[:nnz]
    if nnz and not (0 <= int(used.min()) and int(used.max()) < minor):
        raise ValueError(
            f"{name} is a malformed sparse matrix: a stored value's index lies outside [0, {minor}) "
            f"(indices from {int(used.min())} to {int(used.max())})."
        )


def check_sparse_features(X, n_features, dtype, name="X"):
    """Validate a SciPy sparse input (CSR or CSC, matrix or array) and return it as a :class:`CSR` of ``dtype``.

    Only the stored entries are converted (CSC is transposed to CSR): the matrix is never densified.
    """
    if X.ndim != 2:
        raise ValueError(f"{name} must be 2-D of shape (n_samples, {n_features}); got {X.ndim}-D shape {X.shape}.")
    if X.format not in ("csr", "csc"):
        raise TypeError(f"{name} is a sparse {X.format.upper()} matrix; give CSR or CSC ({name}.tocsr()).")
    if X.shape[0] == 0:
        raise ValueError(f"{name} is empty: 0 samples (shape={X.shape}); at least 1 is required.")
    if X.shape[1] != n_features:
        raise ValueError(f"{name} has {X.shape[1]} features, but the model expects {n_features} (sizes[0]).")
    if X.dtype.kind not in "fiu":
        raise TypeError(f"{name} must hold real numbers; got a sparse matrix of dtype {X.dtype}.")
    _check_sparse_structure(X, name)
    X = X.tocsr()
    data = to_kernel_array(X.data, dtype)
    assert_all_finite(data, name)
    return CSR(data, X.indices.astype(np.int64), X.indptr.astype(np.int64), tuple(int(n) for n in X.shape))


CONFIG_KEYS = ("sizes", "hidden", "output", "dtype", "bias", "init")
"""The keys of :meth:`fastmlp.Model.config`; all but ``init`` are required by ``from_config``."""


def check_config(config):
    """Return ``config`` when it is a dict with :data:`CONFIG_KEYS` (``init`` optional) and no others."""
    if not isinstance(config, dict):
        raise TypeError(f"config must be a dict as Model.config() returns it; got {type(config).__name__}.")
    unknown = set(config) - set(CONFIG_KEYS)
    if unknown:
        raise ValueError(f"config has unknown keys {sorted(unknown)}.")
    missing = set(CONFIG_KEYS[:-1]) - set(config)
    if missing:
        raise ValueError(f"config lacks the keys {sorted(missing)}.")
    return config


def check_init_list(init, n_layers):
    """Return one canonical initialisation name per layer from a list or tuple of ``n_layers`` names."""
    if not isinstance(init, list | tuple) or len(init) != n_layers:
        raise ValueError(f"config['init'] must list one initialisation per layer ({n_layers}).")
    return tuple(_choice(name, f"init[{i}]", INITS) for i, name in enumerate(init))


def check_out(out, shape, dtype, X=None):
    """Check an ``out`` array for ``predict``.

    It must be an ndarray (a memmap is fine), writable, of ``shape`` and ``dtype``, sharing no memory with the input
    array ``X``.
    """
    if not isinstance(out, np.ndarray):
        raise TypeError(f"out must be a numpy array (a memmap is fine); got {type(out).__name__}.")
    if out.shape != shape or out.dtype != dtype or not out.flags.writeable:
        raise ValueError(
            f"out must be a writable array of shape {shape} and dtype {dtype}; got shape {out.shape}, "
            f"dtype {out.dtype}{'' if out.flags.writeable else ', read-only'}."
        )
    if X is not None and np.may_share_memory(out, X) and _overlap(out, X):
        # The kernel would overwrite rows of X before reading them (a model without hidden layers writes its
        # outputs while it reads its inputs).
        raise ValueError("out must not share memory with X: give a separate array.")
    return out


_TooHardError = getattr(np, "exceptions", np).TooHardError  # NumPy >= 1.25 keeps it in np.exceptions


def _overlap(a, b):
    """Whether arrays ``a`` and ``b`` share memory (assumed so when that is too costly to decide)."""
    try:
        return bool(np.shares_memory(a, b, max_work=10_000))
    except _TooHardError:
        return True


def check_option(value, name, options):
    """Return ``value`` when it is one of the strings ``options``, else raise naming ``name``."""
    text = " or ".join(repr(o) for o in options)
    if not isinstance(value, str):
        raise TypeError(f"{name} must be {text}; got {value!r}.")
    if value not in options:
        raise ValueError(f"{name} must be {text}; got {value!r}.")
    return value


def check_float_above(value, name, bound):
    """Return ``value`` as a float, requiring a finite real number > ``bound``."""
    what = f"a number > {bound}, finite"
    _check_real(value, name, what)
    if not bound < value < np.inf:
        raise ValueError(f"{name} must be {what}; got {value!r}.")
    return float(value)


def _check_real(value, name, what):
    """Raise TypeError, naming ``name`` and ``what`` it must be, unless ``value`` is a real number (not a bool)."""
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be {what}; got {value!r}.")


def check_step(value, name, largest=0.1):
    """A finite-difference step: a real number in (0, ``largest``]."""
    value = check_positive_float(value, name)
    if value > largest:
        raise ValueError(f"{name} must be a small step, in (0, {largest}]; got {value}.")
    return value


def label_array(classes, what):
    """Class labels as an array without objects: numbers and booleans as they are, strings as ``<U``.

    ``what`` ends the message of the TypeError for any other kind of label ("can be saved", say).
    """
    classes = np.asarray(classes)
    if classes.dtype.kind in "biufU":
        return classes
    values = classes.tolist()
    if classes.dtype.kind == "O" and values and all(isinstance(c, str) for c in values):
        return np.asarray(values, dtype=str)
    if classes.dtype.kind == "O" and values and all(isinstance(c, numbers.Real | np.bool_) for c in values):
        numeric = np.asarray(values)
        if numeric.dtype.kind in "biuf" and numeric.ndim == 1:
            return numeric
    kinds = sorted({type(c).__name__ for c in values})
    raise TypeError(f"classes_ holds {', '.join(kinds)} values; only numbers, booleans and strings {what}.")
