"""The :class:`Model`: layer shapes, the flat parameter vector and validation, around the compiled kernels."""

import copy
from dataclasses import dataclass

import numpy as np

from . import _engine
from . import _validation as v
from . import training as _training
from ._guard import UseGuard, reads, trains
from ._modelfile import write_model_file
from .optimizers import resolve_optimizer
from .schedules import Cosine

__all__ = ["DEFAULT_CHUNK_ROWS", "ForwardTrace", "Gradients", "Model", "SMALL_BATCH_ROWS"]

DEFAULT_CHUNK_ROWS = 4096
"""Rows per chunk in :meth:`Model.predict` and :meth:`Model.loss`: bounds the workspace, keeps it near the caches."""

SMALL_BATCH_ROWS = 64
"""Up to this many rows in a writable, C-contiguous ndarray of the model's dtype, and with neither ``out`` nor
``chunk_size`` given, :meth:`Model.predict` makes one kernel call with the checks inside it."""

SCALING_ARRAYS = ("input_scaling_mean", "input_scaling_scale")
"""The names of the input scaling's ``(mean, scale)`` among a model file's arrays."""

NORMAL_INIT_STD = 0.05
PICKLE_FORMAT = 1


def _read_only(attribute, doc):
    """A read-only property returning ``self.<attribute>``, documented by ``doc``."""
    return property(lambda self: getattr(self, attribute), doc=doc)


@dataclass
class ForwardTrace:
    """Every layer's quantities from one forward pass (:meth:`Model.forward`).

    Attributes
    ----------
    Z : list of ndarray
        ``Z[k]`` of shape (n_samples, sizes[k + 1]): pre-activations ``A[k] @ W_k + b_k`` of layer k.
    A : list of ndarray
        ``A[0]`` is the input X (as the model's dtype); ``A[k + 1] = g(Z[k])``; ``A[-1]`` is the output.
    """

    Z: list
    A: list


@dataclass
class Gradients:
    """Backpropagation's results for one batch (:meth:`Model.gradients`).

    Attributes
    ----------
    loss : float
        The mean loss J over the batch.
    dW : list of ndarray
        ``dW[k]`` = dJ/dW_k, shape (sizes[k], sizes[k + 1]) = ``A[k].T @ delta[k]``.
    db : list of ndarray or None
        ``db[k]`` = dJ/db_k, the column sums of ``delta[k]``; None when the model has no biases.
    delta : list of ndarray
        ``delta[k]`` = dJ/dZ_k, shape (n_samples, sizes[k + 1]).
    flat : ndarray of shape (n_params,)
        All gradients in the layout of :attr:`Model.params`; ``dW`` and ``db`` are views into it.
    """

    loss: float
    dW: list
    db: list | None
    delta: list
    flat: np.ndarray


def _scaled_name(name):
    """How errors name the input ``name`` after the model's input scaling."""
    return f"{name} after the model's input scaling (X - mean) / scale"


class Model:
    """A fully connected feed-forward network: ``Z_k = A_{k-1} W_k + b_k``, ``A_k = g(Z_k)``, ``A_0 = X``.

    Parameters
    ----------
    sizes : sequence of int
        Layer widths ``[n_inputs, hidden..., n_outputs]``, each >= 1. ``[n_in, n_out]`` has no hidden layer; with
        ``output="identity"`` it is linear regression.
    hidden : str or sequence of str, default="relu"
        Hidden activation, one name for all hidden layers or one per hidden layer: "identity", "sigmoid" (alias
        "logistic"), "tanh", "relu", "leaky_relu" (slope 0.01).
    output : str, default="identity"
        Output activation, which fixes the loss: "identity" with mean squared error ``J = 1/2 sum (y - a)^2 / m``,
        "sigmoid" with binary cross-entropy, "softmax" (>= 2 outputs) with cross-entropy, "exp" (Poisson regression,
        a log link: ``a = exp(z)``) with half the Poisson deviance ``sum (y log(y / a) - y + a) / m`` (targets
        >= 0). Each pairing makes the output delta ``(A - Y) / m``.
    dtype : {"float32", "float64"}, default="float32"
        Dtype of the parameters, the computations and the outputs.
    seed : int, numpy.random.Generator or None, default=None
        Seeds the initial weights and, unless ``fit`` is given its own seed, the shuffling in ``fit``.
    bias : bool, default=True
        Whether layers have biases. With ``bias=False``, ``Z = A_prev W`` exactly and :attr:`biases` is None.
    init : {"he", "glorot", "xavier", "normal"} or None, default=None
        Weight initialisation: "he" draws N(0, 2 / n_in); "glorot" (alias "xavier") draws
        U(-sqrt(6 / (n_in + n_out)), +sqrt(6 / (n_in + n_out))); "normal" draws N(0, 0.05^2). None picks "he" for
        relu and leaky_relu layers and "glorot" for all other layers (the output layer included). Biases start
        at 0.

    Attributes
    ----------
    params : ndarray of shape (n_params,)
        Every parameter in one vector: for each layer, ``W_k`` row-major then ``b_k``.
    weights : list of ndarray
        ``weights[k]`` of shape (sizes[k], sizes[k + 1]), a view into :attr:`params`: writing it changes the model.
    biases : list of ndarray or None
        ``biases[k]`` of length sizes[k + 1], a view into :attr:`params`; None when ``bias=False``.

    Examples
    --------
    >>> import numpy as np, fastmlp
    >>> model = fastmlp.Model([2, 8, 1], hidden="tanh", seed=0)
    >>> model.predict(np.zeros((3, 2))).shape
    (3, 1)
    """

    def __init__(self, sizes, hidden="relu", output="identity", *, dtype="float32", seed=None, bias=True, init=None):
        dtype = v.check_dtype(dtype)
        sizes = v.check_sizes(sizes, dtype)
        self._configure(
            sizes=sizes,
            hidden=v.check_hidden(hidden, len(sizes) - 2),
            output=v.check_output(output, sizes[-1]),
            dtype=dtype,
            bias=v.check_bool(bias, "bias"),
        )
        self._rng = v.check_seed(seed)
        self._train_state = None
        self._init_names = v.check_init(init, self.n_layers, self.activations)
        self._initialise()

    def _configure(self, sizes, hidden, output, dtype, bias):
        self._sizes = tuple(sizes)
        self._hidden = tuple(hidden)
        self._output = output
        self._dtype = np.dtype(dtype)
        self._bias = bias
        self._engine = _engine.Engine(self._sizes, self._hidden, output, bias)
        self._guard = UseGuard()
        self._scaling = None
        self._layout = self._engine.layout
        self._params = np.zeros(self._layout.n_params, dtype=self._dtype)
        self._weights = self._layout.weight_views(self._params)
        self._biases = self._layout.bias_views(self._params)

    def _initialise(self):
        for k, (W, name) in enumerate(zip(self._weights, self._init_names, strict=True)):
            n_in, n_out = self._sizes[k], self._sizes[k + 1]
            # Drawn in float64 whatever the dtype, so float32 and float64 models of one seed start at the same point.
            if name == "he":
                values = self._rng.normal(0.0, np.sqrt(2.0 / n_in), size=(n_in, n_out))
            elif name == "glorot":
                limit = np.sqrt(6.0 / (n_in + n_out))
                values = self._rng.uniform(-limit, limit, size=(n_in, n_out))
            else:
                values = self._rng.normal(0.0, NORMAL_INIT_STD, size=(n_in, n_out))
            W[...] = values

    # ----------------------------------------------------------------------------------------------------------
    # Read-only description
    sizes = _read_only("_sizes", "tuple of int: the layer widths ``(n_inputs, hidden..., n_outputs)``.")
    hidden = _read_only("_hidden", "tuple of str: the activation of each hidden layer.")
    output = _read_only("_output", "str: the output activation.")
    dtype = _read_only("_dtype", "numpy.dtype: float32 or float64.")
    bias = _read_only("_bias", "bool: whether the layers have biases.")
    init = _read_only("_init_names", "tuple of str: the initialisation used for each layer's weights.")

    @property
    def n_layers(self):
        """int: the number of weight layers (hidden layers + 1)."""
        return len(self._sizes) - 1

    @property
    def activations(self):
        """tuple of str: the activation of every layer, the output's last."""
        return self._hidden + (self._output,)

    @property
    def loss_name(self):
        """str: the loss paired with the output: "mse", "binary_crossentropy", "crossentropy" or "poisson"."""
        return self._engine.loss_name

    # ----------------------------------------------------------------------------------------------------------
    # Parameters
    @property
    def params(self):
        """ndarray of shape (n_params,): the flat parameter vector (the model's own array, not a copy).

        Assigning ``model.params = values`` copies ``values`` into it, so the views in :attr:`weights` and
        :attr:`biases` stay valid.
        """
        return self._params

    @params.setter
    @trains("assigning params")
    def params(self, values):
        values = v.as_array(values, "params")
        if values.shape != self._params.shape:
            raise ValueError(f"params must have shape {self._params.shape}; got {values.shape}.")
        v.assert_all_finite(values, "params")
        previous = self._params.copy()
        with np.errstate(over="ignore"):
            np.copyto(self._params, values, casting="unsafe")
        if not v.all_finite_array(self._params):  # finite in the given dtype but too large for the model's
            np.copyto(self._params, previous)
            raise ValueError(f"params contains values too large for {self._dtype}; the model is unchanged.")

    @property
    def n_params(self):
        """int: the number of parameters."""
        return self._layout.n_params

    @property
    def weights(self):
        """tuple of ndarray: ``weights[k]`` of shape (sizes[k], sizes[k + 1]), views into :attr:`params`.

        Change a layer in place, ``model.weights[k][...] = values``; the tuple itself cannot be assigned to.
        """
        return tuple(self._weights)

    @property
    def biases(self):
        """tuple of ndarray or None: ``biases[k]`` of length sizes[k + 1], views into :attr:`params`."""
        return None if self._biases is None else tuple(self._biases)

    def config(self):
        """Return the model's configuration: everything but the parameters, as plain JSON-compatible values.

        ``Model.from_config(model.config(), params=model.params)`` rebuilds an equal model; model files store
        exactly this dictionary.

        Returns
        -------
        dict
            ``sizes`` (list of int), ``hidden`` (list of str), ``output`` (str), ``dtype`` ("float32" or
            "float64"), ``bias`` (bool) and ``init`` (list of str: the initialisation each layer's weights got).
        """
        return {
            "sizes": [int(s) for s in self._sizes],
            "hidden": list(self._hidden),
            "output": self._output,
            "dtype": self._dtype.name,
            "bias": bool(self._bias),
            "init": list(self._init_names),
        }

    @classmethod
    def from_config(cls, config, *, params=None, seed=None, input_scaling=None):
        """Build a model from :meth:`config`'s dictionary, with the given parameters.

        Parameters
        ----------
        config : dict
            As :meth:`config` returns it (``init`` may be left out).
        params : array-like of shape (n_params,), optional
            The parameters, copied into the model (see :attr:`params`); None keeps the fresh initialisation.
        seed : int, numpy.random.Generator or None, default=None
            Seeds the new model's generator (used by ``fit`` without a seed, and for the initial weights).
        input_scaling : tuple (mean, scale), optional
            As :attr:`input_scaling` returns it; see :meth:`set_input_scaling`.

        Returns
        -------
        Model

        Raises
        ------
        TypeError, ValueError
            If ``config`` is not such a dictionary, or ``params`` do not fit it.
        """
        config = v.check_config(config)
        model = cls(
            config["sizes"], hidden=config["hidden"], output=config["output"], dtype=config["dtype"],
            bias=config["bias"], seed=seed,
        )  # fmt: skip
        if config.get("init") is not None:
            model._init_names = v.check_init_list(config["init"], model.n_layers)
        if params is not None:
            model.params = params
        if input_scaling is not None:
            model.set_input_scaling(*input_scaling)
        return model

    @property
    def training_summary(self):
        """TrainingSummary or None: the epochs, rows seen and optimizer of the last fit (None if never trained).

        ``partial_fit`` calls add to the summary of the fit they continue; model files store it.
        """
        return None if self._train_state is None else self._train_state.summary()

    @reads("astype")
    def astype(self, dtype):
        """Return a copy of the model with parameters converted to ``dtype`` ("float32" or "float64")."""
        clone = object.__new__(Model)
        state = self.__getstate__()
        state["dtype"] = v.check_dtype(dtype).name
        state["params"] = state["params"].astype(state["dtype"])
        state["rng"] = copy.deepcopy(self._rng)
        clone.__setstate__(state)
        return clone

    def copy(self):
        """Return an independent copy of the model (same parameters, same random state)."""
        return self.astype(self._dtype)

    @reads("save")
    def save(self, path, *, metadata=None, arrays=None):
        """Write the model to one ``.npz`` file, atomically; :func:`fastmlp.load` reads it back bit-exactly.

        The format (a JSON header, the flat parameter vector and optional array members, no pickle) is documented
        in :mod:`fastmlp.io`. The input scaling, if any, is stored as the arrays ``input_scaling_mean``
        and ``input_scaling_scale``, and a loaded model applies it.

        Parameters
        ----------
        path : str or os.PathLike
            Target file; an existing file is replaced only once the new one is complete.
        metadata : dict, optional
            JSON-compatible values to store with the model (read back with :func:`fastmlp.io.load_with_metadata`).
        arrays : dict of str to ndarray, optional
            Arrays to store with the model (see :func:`fastmlp.io.save_model`); the two names of the input
            scaling's arrays are the model's own.
        """
        if arrays is not None and not isinstance(arrays, dict):
            raise TypeError(f"arrays must be a dict of names to NumPy arrays; got {type(arrays).__name__}.")
        arrays = dict(arrays or {})
        reserved = sorted(set(arrays) & set(SCALING_ARRAYS))
        if reserved:
            raise ValueError(f"arrays may not use the names {reserved}: they hold the model's input scaling.")
        if self._scaling is not None:
            arrays.update(zip(SCALING_ARRAYS, self._scaling, strict=True))
        write_model_file(path, self.config(), self._params, self.training_summary, metadata, arrays=arrays or None)

    def __getstate__(self):
        # Pickles hold configuration and plain arrays only; the views are rebuilt on load. The optimizer state of
        # partial_fit is not kept.
        return {
            "pickle_format": PICKLE_FORMAT, **self.config(), "params": self._params.copy(), "rng": self._rng,
            "input_scaling": self.input_scaling,
        }  # fmt: skip

    def __setstate__(self, state):
        if state.get("pickle_format") != PICKLE_FORMAT:
            raise ValueError(
                f"this pickled Model has format {state.get('pickle_format')!r}; this fastmlp reads format "
                f"{PICKLE_FORMAT}. Pickles are for passing models between processes of one installation; store models "
                "with Model.save and fastmlp.load."
            )
        sizes = v.check_sizes(state["sizes"])
        self._configure(
            sizes,
            v.check_hidden(state["hidden"], len(sizes) - 2),
            v.check_output(state["output"], sizes[-1]),
            v.check_dtype(state["dtype"]),
            v.check_bool(state["bias"], "bias"),
        )
        if np.shape(state["params"]) != self._params.shape:
            raise ValueError(f"pickled params have shape {np.shape(state['params'])}; expected {self._params.shape}.")
        self._init_names = tuple(state["init"])
        self._rng = state["rng"]
        self._train_state = None
        self._params[...] = state["params"]
        scaling = state.get("input_scaling")
        self._scaling = None if scaling is None else v.check_input_scaling(*scaling, self._sizes[0])

    def __repr__(self):
        hidden = self._hidden[0] if len(set(self._hidden)) == 1 else list(self._hidden)
        return (
            f"Model(sizes={list(self._sizes)}, hidden={hidden!r}, "
            f"output={self._output!r}, dtype={self._dtype.name!r}, bias={self._bias})"
        )

    # ----------------------------------------------------------------------------------------------------------
    # Computation
    def _kernel_inputs(self, X, name="X", sparse=False):
        """``X`` validated, scaled and in the kernels' form; a sparse ``X`` as a CSR when ``sparse``, else dense."""
        if v.is_sparse(X):
            if self._scaling is not None:
                raise ValueError(
                    f"{name} is sparse, and this model's input scaling would make it dense: scale the data itself, "
                    "or remove the scaling (set_input_scaling(None, None))."
                )
            csr = v.check_sparse_features(X, self._sizes[0], self._dtype, name)
            if sparse:
                return csr
            # One batch (forward, gradients): densified, within the memory check.
            v.check_memory(csr.shape[0] * csr.shape[1], self._dtype, f"{name} made dense", f"the rows of {name}")
            X = X.toarray()
        X = v.check_features(X, self._sizes[0], name)
        if self._scaling is not None:
            v.assert_all_finite(X, name)
            X = self._scaled(X)
            name = _scaled_name(name)  # X is finite: an overflow now comes from the scaling
        X = v.to_kernel_array(X, self._dtype)
        v.assert_all_finite(X, name)
        return X

    def _scaled(self, X, out=None):
        """``(X - mean) / scale`` of the input scaling, computed in float64, into ``out`` when given."""
        mean, scale = self._scaling
        with np.errstate(over="ignore"):  # an overflow to inf is reported by the caller's finiteness check
            result = (np.asarray(X, dtype=np.float64) - mean) / scale
        if out is None:
            return result
        with np.errstate(over="ignore"):
            np.copyto(out, result, casting="unsafe")
        return out

    @property
    def input_scaling(self):
        """tuple of ndarray or None: ``(mean, scale)`` applied to every input as ``(X - mean) / scale``.

        Set with :meth:`set_input_scaling`. Every computation (``predict``, ``forward``, ``loss``, ``gradients``,
        ``fit``) takes raw inputs and scales them first, and model files keep the scaling, so a loaded model
        predicts from raw inputs as the saved one did. Copies: changing them changes nothing.
        """
        return None if self._scaling is None else (self._scaling[0].copy(), self._scaling[1].copy())

    @trains("set_input_scaling")
    def set_input_scaling(self, mean, scale):
        """Make the model scale every input as ``(X - mean) / scale`` before its first layer.

        Parameters
        ----------
        mean, scale : array-like of shape (sizes[0],) or None
            Per-feature offsets and scales (finite; scales > 0), typically the training data's mean and standard
            deviation. Both None removes the scaling.
        """
        self._scaling = v.check_input_scaling(mean, scale, self._sizes[0])

    @reads("predict")
    def predict(self, X, *, out=None, chunk_size=None):
        """Return the network's output ``A_L`` for every row of ``X``.

        Thread-safe: each call uses its own workspace, so several threads may predict with one model at once (the
        kernels release the GIL).

        Parameters
        ----------
        X : array-like of shape (n_samples, sizes[0])
            Inputs: any real dtype, any memory layout, read-only arrays and memory maps included.
        out : ndarray of shape (n_samples, sizes[-1]), optional
            Where to write the outputs: a writable array of the model's dtype, a ``numpy.memmap`` for outputs larger
            than memory, say. It is returned.
        chunk_size : int, optional
            Rows processed per kernel call (default :data:`DEFAULT_CHUNK_ROWS`). Memory beyond the output is
            bounded by about ``chunk_size * (sizes[0] + sum of hidden widths + sizes[-1])`` values whatever
            ``n_samples`` is: ``X`` is read and converted chunk by chunk.

        Returns
        -------
        ndarray of shape (n_samples, sizes[-1])
            Outputs in the model's dtype: values for "identity", probabilities for "sigmoid" and "softmax". Always
            2-D, also for one output.
        """
        if (
            out is None
            and chunk_size is None
            and self._scaling is None
            and type(X) is np.ndarray
            and X.dtype == self._dtype
            and X.ndim == 2
            and 0 < X.shape[0] <= SMALL_BATCH_ROWS
            and X.shape[1] == self._sizes[0]
            and X.flags.c_contiguous
            and X.flags.writeable
        ):
            # A few rows already in the kernels' form (online serving): one compiled call does the finiteness
            # checks and the forward pass. Any failure takes the general path below, which reports it.
            result = np.empty((X.shape[0], self._sizes[-1]), dtype=self._dtype)
            hidden = self._engine.hidden_buffer(X.shape[0], self._dtype)
            if self._engine.predict_into(self._params, X, hidden, result, True) == _engine.PREDICTED:
                return result
        sparse = v.is_sparse(X)
        X = self._kernel_inputs(X, sparse=True) if sparse else v.check_features(X, self._sizes[0])
        rows = DEFAULT_CHUNK_ROWS if chunk_size is None else v.check_int(chunk_size, "chunk_size", 1)
        n = X.shape[0]
        shape = (n, self._sizes[-1])
        if out is None:
            v.check_memory(n * shape[1], self._dtype, f"the outputs for {n:,} rows", "the rows per call")
            out = np.empty(shape, dtype=self._dtype)
        else:
            v.check_out(out, shape, self._dtype, None if sparse else X)
        self._check_workspace(min(rows, n), self._engine.hidden_width + shape[1] + X.shape[1], "chunk_size")
        # The kernel writes C-contiguous blocks: straight into out when its rows are, else through one buffer.
        direct = out.flags.c_contiguous
        out_buf = None if direct else np.empty((min(rows, n), shape[1]), dtype=self._dtype)
        hidden_buf = self._engine.hidden_buffer(min(rows, n), self._dtype)
        first_buf = self._engine.first_buffer(min(rows, n), self._dtype) if sparse else None
        for start, chunk in self._chunks(X, rows, prepared=sparse):
            m = chunk.shape[0] if not sparse else len(chunk)
            target = np.asarray(out[start : start + m]) if direct else out_buf[:m]
            if sparse:
                status = self._engine.sparse_predict_into(self._params, X, chunk, first_buf, hidden_buf, target)
            else:
                status = self._engine.predict_into(self._params, chunk, hidden_buf, target, False)
            if status != _engine.PREDICTED:
                self._check_outputs(target, "X")
            if not direct:
                out[start : start + m] = target
        return out

    def _chunks(self, X, rows, name="X", prepared=False):
        """Yield ``(start, chunk)``: ``X[start:start + rows]`` validated, scaled and in the kernels' form.

        Inputs already in that form (``prepared``: from :meth:`_kernel_inputs`) are passed as slices; anything else
        is converted chunk by chunk into one reused buffer, so a large input of another dtype or layout (a memory
        map, say) is never copied whole.
        """
        n = X.shape[0]
        if isinstance(X, _engine.CSR):  # a sparse matrix, checked already: its chunks are runs of row numbers
            for start in range(0, n, rows):
                yield start, np.arange(start, min(start + rows, n), dtype=np.int64)
            return
        plain = X.dtype == self._dtype and X.flags.c_contiguous and X.flags.writeable and self._scaling is None
        direct = prepared or plain
        buffer = None if direct else np.empty((min(rows, n), self._sizes[0]), dtype=self._dtype)
        for start in range(0, n, rows):
            stop = min(start + rows, n)
            if direct:
                chunk = np.asarray(X[start:stop])  # a plain ndarray view, also of a memmap
            elif self._scaling is not None:
                v.assert_all_finite(X[start:stop], name)  # named as the caller's input, before the scaling
                chunk = self._scaled(X[start:stop], out=buffer[: stop - start])
            else:
                chunk = buffer[: stop - start]
                with np.errstate(over="ignore"):  # values too large for the dtype become inf, reported just below
                    np.copyto(chunk, X[start:stop], casting="unsafe")
            v.assert_all_finite(chunk, _scaled_name(name) if self._scaling is not None and not prepared else name)
            yield start, chunk

    def _check_outputs(self, out, name):
        """Raise instead of returning NaN or infinity from finite inputs (the rule for every result)."""
        if v.all_finite_array(out):
            return
        if not v.all_finite_array(self._params):
            raise ValueError("the model's params contain NaN or infinity, so its outputs are not finite.")
        raise ValueError(
            f"the forward pass of {name} overflowed {self._dtype}: its outputs are not finite. {self._advice('inputs')}"
        )

    def _advice(self, what):
        """What to change when a result from finite inputs overflows this model's dtype."""
        more = " or use dtype='float64'" if self._dtype == np.float32 else ""
        return f"Scale the {what} (standardise them, say){more}."

    def _check_workspace(self, rows, values_per_row, name):
        v.check_memory(rows * values_per_row, self._dtype, f"a workspace of {rows:,} rows", name)

    def _check_training_workspace(self, data, batch_size):
        # Per batch row: Z, A and delta of every layer, and a gathered row of X and Y.
        per_row = 3 * self._layout.width_sum + self._sizes[0] + self._sizes[-1]
        self._check_workspace(min(batch_size, data[0].shape[0]), per_row, "batch_size")

    @reads("forward")
    def forward(self, X):
        """Run the forward pass on ``X`` in one batch and return every layer's Z and A.

        The one computation that returns non-finite values instead of raising: it is the tool for finding the layer
        where an overflow or a NaN weight starts (``np.isfinite(trace.A[k]).all()``). Every other method raises a
        ValueError rather than return NaN or infinity from finite inputs.

        Parameters
        ----------
        X : array-like of shape (n_samples, sizes[0])

        Returns
        -------
        ForwardTrace
            ``trace.Z[k]`` and ``trace.A[k + 1]`` for each layer k, with ``trace.A[0]`` the input.
        """
        X = self._kernel_inputs(X)
        m = X.shape[0]
        self._check_workspace(m, 2 * self._layout.width_sum, "the rows of X")
        ws = self._engine.workspace(m, self._dtype, backward=False)
        self._engine.forward(self._params, X, ws)
        # A[0] is a copy, so that changing the trace never changes the caller's array.
        return ForwardTrace(Z=self._layout.layer_blocks(ws.zs, m), A=[X.copy()] + self._layout.layer_blocks(ws.acts, m))

    def _targets(self, y, n_rows, name="y"):
        return v.encode_targets(y, self._output, self._sizes[-1], n_rows, self._dtype, name)

    def _output_and_loss(self, X, Y, w=None, name="X", chunk_size=None, prepared=False):
        """Forward ``X`` in chunks over one workspace: return the outputs and the weighted mean loss against ``Y``.

        ``prepared``: ``X`` comes from :meth:`_kernel_inputs` (validated and scaled already).
        """
        rows = DEFAULT_CHUNK_ROWS if chunk_size is None else chunk_size
        n = X.shape[0]
        w = np.ones(n, dtype=self._dtype) if w is None else w
        out = np.empty((n, self._sizes[-1]), dtype=self._dtype)
        ws = self._engine.workspace(min(rows, n), self._dtype, backward=False)
        total = 0.0
        sparse = isinstance(X, _engine.CSR)
        for start, chunk in self._chunks(X, rows, name, prepared):
            stop = start + len(chunk)
            if sparse:
                A_out, chunk_total = self._engine.sparse_forward_loss(
                    self._params, X, chunk, Y[start:stop], w[start:stop], ws
                )
            else:
                A_out, chunk_total = self._engine.forward_loss(self._params, chunk, Y[start:stop], w[start:stop], ws)
            self._check_outputs(A_out, name)
            out[start:stop] = A_out
            total += chunk_total
        return out, total / _total_weight(w)

    def _evaluate(self, X, Y, w, name):
        """Outputs and loss of validation data already in the kernels' form (``training.fit``'s ``evaluate``)."""
        return self._output_and_loss(X, Y, w, name, prepared=True)

    @reads("loss")
    def loss(self, X, y, *, sample_weight=None, alpha=0.0, chunk_size=None):
        """Return the loss J over the rows of ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, sizes[0])
        y : array-like
            Targets: for "identity", values of shape (n_samples,) (one output) or (n_samples, n_outputs); for
            "sigmoid", values in [0, 1] shaped the same way; for "softmax", integer labels of shape (n_samples,) or
            one-hot rows of shape (n_samples, n_outputs).
        sample_weight : array-like of shape (n_samples,), optional
            Row weights >= 0: J becomes ``sum_i w_i loss_i / sum_i w_i``.
        alpha : float, default=0.0
            L2 penalty, scikit-learn's definition: adds ``alpha / 2 * sum_k ||W_k||^2 / sum_i w_i`` (biases are
            not penalised; ``sum_i w_i`` is n_samples without weights).
        chunk_size : int, optional
            Rows per kernel call (default :data:`DEFAULT_CHUNK_ROWS`).

        Returns
        -------
        float
            The (weighted) mean of ``1/2 sum_j (y_j - a_j)^2`` (identity), of the binary cross-entropy summed over
            outputs (sigmoid), or of the cross-entropy (softmax), plus the penalty.
        """
        sparse = v.is_sparse(X)
        X = self._kernel_inputs(X, sparse=True) if sparse else v.check_features(X, self._sizes[0])
        Y = self._targets(y, X.shape[0])
        w = v.check_sample_weight(sample_weight, X.shape[0], self._dtype)
        alpha = v.check_alpha(alpha)
        rows = None if chunk_size is None else v.check_int(chunk_size, "chunk_size", 1)
        _, loss = self._output_and_loss(X, Y, w, chunk_size=rows, prepared=sparse)
        return self._finite_loss(loss + self._engine.penalty(self._params, alpha, _total_weight(w)), alpha)

    def _finite_loss(self, loss, alpha):
        """``loss`` as a float, or a ValueError saying what made it overflow."""
        if np.isfinite(loss):
            return float(loss)
        if alpha and not np.isfinite(self._engine.penalty(self._params, alpha, 1.0)):
            raise ValueError(f"the L2 penalty overflowed float64: alpha={alpha} is too large for these weights.")
        raise ValueError(f"the loss overflowed float64: it is not finite. {self._advice('inputs and targets')}")

    @reads("gradients")
    def gradients(self, X, y, *, sample_weight=None, alpha=0.0):
        """Backpropagate one batch: the loss and every layer's dJ/dW, dJ/db and delta, from the compiled recurrence.

        Parameters
        ----------
        X : array-like of shape (n_samples, sizes[0])
        y : array-like
            Targets, as for :meth:`loss`.
        sample_weight : array-like of shape (n_samples,), optional
            Row weights, as for :meth:`loss`.
        alpha : float, default=0.0
            L2 penalty, as for :meth:`loss`; its gradient ``alpha * W_k / sum_i w_i`` is included in ``dW``.

        Returns
        -------
        Gradients
            The loss :meth:`loss` would return and its gradients, per layer and as one flat vector.
        """
        X = self._kernel_inputs(X)
        m = X.shape[0]
        Y = self._targets(y, m)
        w = v.check_sample_weight(sample_weight, m, self._dtype)
        alpha = v.check_alpha(alpha)
        self._check_workspace(m, 3 * self._layout.width_sum, "the rows of X")
        ws = self._engine.workspace(m, self._dtype)
        grads = np.empty_like(self._params)
        loss = self._engine.loss_and_gradient(self._params, X, Y, w, alpha, ws, grads)
        self._check_outputs(self._engine.output_block(ws.acts, m), "X")
        loss = self._finite_loss(loss, alpha)
        if not v.all_finite_array(grads):
            raise ValueError(
                f"the gradients overflowed {self._dtype}: they are not finite. {self._advice('inputs and targets')}"
            )
        return Gradients(
            loss=loss,
            dW=self._layout.weight_views(grads),
            db=self._layout.bias_views(grads),
            delta=self._layout.layer_blocks(ws.dlts, m),
            flat=grads,
        )

    def _training_data(self, X, y, sample_weight, class_weight):
        """Validate and convert the training data: ``(X, Y, w)`` as kernel arrays, ``w`` with a positive sum.

        A sparse ``X`` stays sparse (a :class:`fastmlp._engine.CSR`): the epochs read its stored entries alone.
        """
        X = self._kernel_inputs(X, sparse=True)
        Y = self._targets(y, X.shape[0])
        w = v.check_sample_weight(sample_weight, X.shape[0], self._dtype)
        extra = v.class_weight_rows(class_weight, self._output, self._sizes[-1], y)
        if extra is not None:
            w = v.to_kernel_array(w * extra, self._dtype)
            if not v.all_finite_array(w):
                raise ValueError(
                    f"class_weight times sample_weight gives weights too large for {self._dtype}; scale the class "
                    "weights down (only their ratios matter)."
                )
            if not (w > 0).any():
                raise ValueError("class_weight and sample_weight leave every row with weight 0.")
            v.check_weight_total(w, "class_weight times sample_weight")
        return X, Y, w

    @trains("fit")
    def fit(
        self, X, y, *, epochs=10, batch_size=32, optimizer=None, shuffle=True, validation=None,
        validation_fraction=None, early_stopping=False, sample_weight=None, class_weight=None, alpha=0.0, tol=None,
        n_iter_no_change=10, callbacks=None, verbose=False, seed=None, record_gradient_norms=False,
    ):  # fmt: skip
        """Train the model; one compiled call runs each whole epoch (gather, forward, backward, update per batch).

        Parameters
        ----------
        X : array-like of shape (n_samples, sizes[0])
        y : array-like
            Targets, as for :meth:`loss`.
        epochs : int, default=10
            Passes over the data (0 leaves the model unchanged).
        batch_size : int, default=32
            Rows per gradient step. A value larger than ``n_samples`` gives full-batch gradient descent.
        optimizer : Optimizer or {"sgd", "adam", "adamw"}, optional
            :class:`~fastmlp.SGD` (the default, lr 0.01), :class:`~fastmlp.Adam` or :class:`~fastmlp.AdamW`, with
            the learning-rate schedule set on the optimizer. Each fit starts from a fresh optimizer state.
        shuffle : bool or callable, default=True
            Visit the rows in a new random order each epoch (from the fit's generator). A batch of every training
            row (``batch_size`` at least the rows left after any validation split) is one step whatever the order,
            so such epochs are not shuffled and draw nothing from the generator. A
            callable ``shuffle(epoch, n_rows)`` gives each epoch's order itself (0-based epoch): a permutation of
            ``range(n_rows)``, checked, for a curriculum or another library's order.
        validation : tuple (X_val, y_val), optional
            Data to compute ``val_loss`` and ``val_metric`` on after each epoch.
        validation_fraction : float in (0, 1), optional
            Hold out this fraction of the rows (chosen with the fit's generator) as validation data instead.
        early_stopping : bool or EarlyStopping, default=False
            Stop when the monitored loss stops improving (``True``: :class:`~fastmlp.EarlyStopping` defaults on the
            validation loss, or the training loss without validation data) and restore the best weights.
        sample_weight : array-like of shape (n_samples,), optional
            Row weights >= 0, not all 0, in the loss and its gradient: a weight of 2 counts a row twice.
        class_weight : "balanced" or dict, optional
            Weights per class label (softmax, or sigmoid with one output), multiplied into ``sample_weight``;
            "balanced" weighs class c by ``n_samples / (n_classes * count_c)``.
        alpha : float, default=0.0
            L2 penalty on the weights (not the biases), scikit-learn's definition (see :meth:`loss`).
        tol : float, optional
            scikit-learn's stop: end the fit when the training loss has not fallen below its best minus ``tol`` for
            more than ``n_iter_no_change`` consecutive epochs. None (default) turns it off.
        n_iter_no_change : int, default=10
            Patience of ``tol``.
        callbacks : callable or list, optional
            Each is called as ``callback(epoch, logs)`` (or its ``on_epoch_end``) after every epoch, with ``logs``
            holding the epoch's loss, metric, validation figures and lr; a true return value stops training.
        verbose : bool, default=False
            Show progress: a tqdm bar on a terminal when tqdm is installed, otherwise one line per epoch.
        seed : int, numpy.random.Generator or None, default=None
            Seeds the shuffling and the validation split; None continues the model's own generator (seeded by
            ``Model(seed=...)``). Same seeds and thread settings give the same bits.
        record_gradient_norms : bool, default=False
            Record each layer's mean weight-gradient norm per epoch in ``History.grad_norms``.

        Returns
        -------
        History
            Per-epoch loss, metric, validation figures, learning rate and time.

        Raises
        ------
        TrainingDivergedError
            If the loss or a parameter becomes NaN or infinite. The parameters (and the optimizer state) are
            restored to their values at the start of that epoch.
        """
        epochs = v.check_int(epochs, "epochs", 0)
        batch_size = v.check_int(batch_size, "batch_size", 1)
        v.check_fit_flags(shuffle, verbose, record_gradient_norms)
        optimizer = resolve_optimizer(optimizer)
        alpha = v.check_alpha(alpha)
        tol = v.check_tol(tol)
        n_iter_no_change = v.check_int(n_iter_no_change, "n_iter_no_change", 1)
        validation, validation_fraction = v.check_validation(validation, validation_fraction)
        has_validation = validation is not None or validation_fraction is not None
        stopper = _training.resolve_early_stopping(early_stopping, has_validation)
        callbacks = v.check_callbacks(callbacks)
        rng = self._rng if seed is None else v.check_seed(seed)
        v.assert_all_finite(self._params, "the model's params")

        data = self._training_data(X, y, sample_weight, class_weight)
        self._check_training_workspace(data, batch_size)
        val = None
        if validation_fraction is not None:
            data, val = _training.split_validation(*data, validation_fraction, rng)
        elif validation is not None:
            X_val = self._kernel_inputs(validation[0], name="validation X", sparse=True)  # before any epoch runs
            val = (X_val, self._targets(validation[1], X_val.shape[0], name="validation y"), None)
        state = _training.TrainState.fresh(self.n_params, self._dtype, optimizer, epochs)
        try:
            return _training.fit(
                self._engine, self._params, data, state, rng, epochs=epochs, batch_size=batch_size, alpha=alpha,
                shuffle=shuffle, validation=val, evaluate=self._evaluate, stopper=stopper, tol=tol,
                n_iter_no_change=n_iter_no_change, callbacks=callbacks, verbose=verbose,
                record_norms=record_gradient_norms,
            )  # fmt: skip
        finally:
            # Also after a divergence: the state of this fit, as it was before the epoch that diverged.
            self._train_state = state

    @trains("partial_fit")
    def partial_fit(
        self, X, y, *, batch_size=32, optimizer=None, sample_weight=None, class_weight=None, alpha=0.0, shuffle=True,
        seed=None,
    ):  # fmt: skip
        """Train one pass over ``X``, continuing the optimizer state of the previous ``fit`` or ``partial_fit``.

        For data that arrives in pieces (online learning). The first call, or a call with a different
        ``optimizer``, starts a fresh optimizer state; later calls keep momentum, Adam's moments and step count,
        and advance the learning-rate schedule by one epoch each.

        Parameters
        ----------
        X, y, batch_size, sample_weight, class_weight, alpha, shuffle, seed
            As for :meth:`fit`.
        optimizer : Optimizer or str, optional
            None keeps the current optimizer (SGD's defaults on a first call).

        Returns
        -------
        History
            The pass's loss, metric, learning rate and time.
        """
        batch_size = v.check_int(batch_size, "batch_size", 1)
        v.check_fit_flags(shuffle, False, False)
        alpha = v.check_alpha(alpha)
        rng = self._rng if seed is None else v.check_seed(seed)
        state = self._train_state
        if state is None or (optimizer is not None and resolve_optimizer(optimizer) != state.optimizer):
            state = _training.TrainState.fresh(self.n_params, self._dtype, resolve_optimizer(optimizer), 0)
        schedule = state.optimizer.schedule
        if isinstance(schedule, Cosine) and schedule.epochs is None and state.schedule_state["epochs"] == 0:
            raise ValueError(
                "a Cosine schedule in partial_fit needs its length: use Cosine(epochs=...), the number of passes "
                "planned."
            )
        v.assert_all_finite(self._params, "the model's params")
        data = self._training_data(X, y, sample_weight, class_weight)
        self._check_training_workspace(data, batch_size)
        try:
            return _training.partial_fit(
                self._engine, self._params, data, state, rng, batch_size=batch_size, alpha=alpha, shuffle=shuffle
            )
        finally:
            self._train_state = state


def _total_weight(w):
    """``sum(w)`` in float64, the denominator of every weighted mean loss."""
    return float(np.sum(w, dtype=np.float64))
