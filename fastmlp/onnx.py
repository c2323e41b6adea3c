"""Export to ONNX: ``fastmlp.to_onnx(model)`` gives an ``onnx.ModelProto`` that any ONNX runtime can serve.

The graph is plain ONNX: ``Gemm`` (``MatMul`` without biases) per layer and the standard activation operators, in
the model's dtype, with a symbolic batch dimension. The input scaling of :meth:`fastmlp.Model.set_input_scaling`
runs first, in float64 as fastmlp computes it; the graph's input is of the model's dtype all the same, so a float32
model's graph sees float64 data already rounded to float32 (``predict`` scales float64 data before rounding it),
which loses digits when a feature's mean is large against its spread: export a float64 model to keep them.
Classifiers output their labels and probabilities as plain tensors (no ``ZipMap``), as ``predict`` and
``predict_proba`` give them. Needs ``pip install "fastmlp[onnx]"`` (``onnx``; ``onnxruntime`` to run the result),
imported on the first call: ``import fastmlp.onnx`` itself needs neither.

The tensors, by source:

======================  ===================================  ================================================
source                  outputs                              as
======================  ===================================  ================================================
:class:`Model`          ``output`` (n, sizes[-1])            ``Model.predict``
``MLPRegressor``        ``predictions`` (n,) or (n, k)       ``predict`` ((n,) for one output)
``MLPClassifier``       ``label``, ``probabilities``         ``predict``, ``predict_proba``
======================  ===================================  ================================================

The one input is ``X``, of shape (n, sizes[0]) and the model's dtype (float32 or float64).
"""

import numbers
import sys

import numpy as np

from . import _validation as v
from ._atomic import atomic_path
from ._version import __version__
from .model import Model

__all__ = ["DEFAULT_OPSET", "MAX_OPSET", "MIN_OPSET", "to_onnx"]

DEFAULT_OPSET = 17
"""The opset of the default ONNX domain when ``opset`` is not given."""

MIN_OPSET = 13
"""The oldest opset offered: 13 gave ``Softmax`` its per-axis meaning."""

MAX_OPSET = 21
"""The newest opset offered; every opset from :data:`MIN_OPSET` to it is tested against onnxruntime."""

INPUT = "X"
BATCH = "n_samples"
OUTPUTS = ("output", "predictions", "label", "probabilities")
LEAKY_RELU_SLOPE = 0.01  # fastmlp._jit.activations.LEAKY_RELU_SLOPE, which only the engine may import

_INSTALL = "pip install 'fastmlp[onnx]'"


# ----------------------------------------------------------------------------------------------------------------
# The activations: a name of Model.activations -> a function (graph, z) returning the name of g(z). A new
# activation is one entry here.
def _op(op_type, **attributes):
    def emit(graph, z):
        return graph.node(op_type, [z], **attributes)

    return emit


def _identity(graph, z):
    return z


def _sigmoid(graph, z):
    # 1 / (1 + exp(-z)), exact to rounding also where the probability is tiny; onnxruntime's Sigmoid kernel is a
    # fast approximation (float32: 1e-5 relative error at |z| < 5, wrong by a factor of 5 below z = -17). For
    # z < -88 (float32), exp(-z) overflows to inf and the result is 0, where the true value is below 1e-38.
    one = graph.scalar("one", 1.0)
    e = graph.node("Exp", [graph.node("Neg", [z])])
    return graph.node("Div", [one, graph.node("Add", [one, e])])


def _leaky_relu(graph, z):
    if graph.dtype == np.float32:
        return graph.node("LeakyRelu", [z], alpha=LEAKY_RELU_SLOPE)
    # LeakyRelu's alpha is a float32 attribute: 0.01 would become 0.0099999998. max(z, 0.01 z) with a float64 slope
    # is fastmlp's formula exactly (the slope is below 1).
    slope = graph.scalar("leaky_relu_slope", LEAKY_RELU_SLOPE)
    return graph.node("Max", [z, graph.node("Mul", [z, slope])])


ACTIVATIONS = {
    "identity": _identity,
    "sigmoid": _sigmoid,
    "tanh": _op("Tanh"),
    "relu": _op("Relu"),
    "leaky_relu": _leaky_relu,
    "softmax": _op("Softmax", axis=-1),
    "exp": _op("Exp"),  # the log link's inverse, for an output "exp" (Poisson regression)
}


class _Graph:
    """Nodes and initialisers under unique names, in one dtype."""

    def __init__(self, onnx, dtype):
        self.onnx = onnx
        self.dtype = np.dtype(dtype)
        self.elem_type = onnx.helper.np_dtype_to_tensor_dtype(self.dtype)
        self.nodes = []
        self.initializers = []
        self._scalars = {}
        # The graph's outputs are reserved, so that no intermediate value takes one of their names.
        self._used = {INPUT, *OUTPUTS}

    def _name(self, hint):
        name, i = hint, 1
        while name in self._used:
            name, i = f"{hint}_{i}", i + 1
        self._used.add(name)
        return name

    def constant(self, hint, array):
        name = self._name(hint)
        self.initializers.append(self.onnx.numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def scalar(self, hint, value):
        """A scalar constant of the graph's dtype, one initialiser however often it is used."""
        if value not in self._scalars:
            self._scalars[value] = self.constant(hint, np.array(value, dtype=self.dtype))
        return self._scalars[value]

    def node(self, op_type, inputs, *, hint=None, output=None, **attributes):
        """Add a node; return its output: ``output`` (one of the graph's outputs) or a new name from ``hint``."""
        if output is None:
            output = self._name(hint or op_type.lower())
        elif output not in OUTPUTS:
            raise AssertionError(f"{output!r} is not one of the graph's outputs")
        self.nodes.append(
            self.onnx.helper.make_node(op_type, inputs, [output], name=self._name(f"{op_type}_node"), **attributes)
        )
        return output

    def shape(self, hint, values):
        return self.constant(hint, np.array(values, dtype=np.int64))


def to_onnx(model, path=None, *, opset=None):
    """Convert a fastmlp model, or a fitted ``MLPClassifier``/``MLPRegressor``, to an ONNX model.

    The graph computes what ``predict`` (and ``predict_proba``) compute, in the model's dtype, for any number of
    rows. Run by onnxruntime, it gives fastmlp's labels, and its outputs agree to 1e-5 relative in float32 and
    1e-12 in float64 (``tests/test_onnx.py``; typically 1e-6 and 1e-15); outputs of "identity" agree so to the
    largest magnitude of their column, since sums that cancel keep fewer digits. Unlike fastmlp, the graph does
    not check that its inputs are finite.

    Parameters
    ----------
    model : Model, MLPClassifier or MLPRegressor
        A :class:`fastmlp.Model` (any depth, activations, bias or none, input scaling), or a fitted estimator of
        :mod:`fastmlp.estimators`.
    path : str or os.PathLike, optional
        Also write the model to this file (atomically: an existing file is replaced only by a complete one).
    opset : int, optional
        Opset of the default ONNX domain, :data:`MIN_OPSET` to :data:`MAX_OPSET`; default :data:`DEFAULT_OPSET`.
        The IR version is the oldest that allows it, so that older runtimes load the file.

    Returns
    -------
    onnx.ModelProto
        One input ``X`` of shape (n_samples, sizes[0]) and the model's dtype, ``n_samples`` symbolic. Outputs:
        ``output`` (n_samples, sizes[-1]) for a :class:`Model`; ``predictions`` for a regressor, of shape
        (n_samples,) for one target and (n_samples, n_targets) otherwise; ``label`` and ``probabilities`` for a
        classifier: ``label`` holds ``classes_`` values of shape (n_samples,), or a 0/1 int64 indicator of shape
        (n_samples, n_labels) for multilabel targets, and ``probabilities`` (n_samples, n_classes) is
        ``predict_proba``'s (two columns ``[1 - p, p]`` for binary targets).

    Raises
    ------
    ImportError
        If ``onnx`` is not installed.
    TypeError
        If ``model`` is none of the above, or ``opset`` is not an integer.
    ValueError
        If ``opset`` is out of range, the parameters are not finite, or an activation has no ONNX form here.
    sklearn.exceptions.NotFittedError
        If the estimator is not fitted.

    Examples
    --------
    >>> import numpy as np, onnxruntime, fastmlp
    >>> model = fastmlp.Model([4, 16, 3], output="softmax", seed=0)
    >>> proto = fastmlp.to_onnx(model, "model.onnx")
    >>> session = onnxruntime.InferenceSession("model.onnx", providers=["CPUExecutionProvider"])
    >>> X = np.ones((2, 4), dtype=np.float32)
    >>> (probabilities,) = session.run(None, {"X": X})
    >>> np.allclose(probabilities, model.predict(X), rtol=1e-5)
    True

    A fitted classifier gives its labels and probabilities:

    >>> clf = fastmlp.MLPClassifier((8,), max_iter=50, dtype="float32").fit(X, ["a", "b"])
    >>> session = onnxruntime.InferenceSession(fastmlp.to_onnx(clf).SerializeToString())
    >>> label, probabilities = session.run(["label", "probabilities"], {"X": X})
    """
    try:
        import onnx
    except ImportError as exc:
        raise ImportError(f"fastmlp.to_onnx needs onnx, which is not installed: {_INSTALL}", name=exc.name) from exc
    kind, net, extra = _source(model)
    opset = _check_opset(opset, onnx)
    # A copy is a consistent snapshot: Model.copy refuses to run while another thread trains the model.
    net = net.copy()
    if not np.isfinite(net.params).all():
        raise ValueError("the model's params contain NaN or infinity; there is nothing meaningful to export.")

    graph = _Graph(onnx, net.dtype)
    a = _network(graph, net)
    n_out = net.sizes[-1]
    if kind == "model":
        outputs = [("output", a, graph.elem_type, [BATCH, n_out])]
    elif kind == "regressor":
        if n_out == 1:
            a = graph.node("Reshape", [a, graph.shape("flat", [-1])], output="predictions")
            outputs = [("predictions", a, graph.elem_type, [BATCH])]
        else:
            outputs = [("predictions", a, graph.elem_type, [BATCH, n_out])]
    else:
        outputs = _classifier_outputs(graph, a, *extra)
    return _finish(onnx, graph, net, model, outputs, opset, path)


def _source(model):
    """``(kind, Model, extra)`` of what to export: kind "model", "regressor" or "classifier"."""
    if isinstance(model, Model):
        return "model", model, ()
    # An estimator of fastmlp's exists only once fastmlp.estimators (and so scikit-learn) is imported; checking the
    # loaded module keeps this module free of scikit-learn.
    estimators = sys.modules.get("fastmlp.estimators")
    if estimators is not None and isinstance(model, estimators.MLPRegressor | estimators.MLPClassifier):
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(model, "model_")
        if isinstance(model, estimators.MLPRegressor):
            return "regressor", model.model_, ()
        return "classifier", model.model_, (model._label_binarizer.y_type_, model.classes_)
    hint = ""
    if type(model).__module__.startswith("sklearn."):
        hint = " (scikit-learn's own estimators convert with skl2onnx)"
    raise TypeError(
        "model must be a fastmlp.Model or a fitted fastmlp.MLPClassifier or fastmlp.MLPRegressor; got "
        f"{type(model).__module__}.{type(model).__qualname__}{hint}."
    )


def _check_opset(opset, onnx):
    if opset is None:
        opset = DEFAULT_OPSET
    elif isinstance(opset, bool | np.bool_) or not isinstance(opset, numbers.Integral):
        raise TypeError(f"opset must be an integer from {MIN_OPSET} to {MAX_OPSET}; got {opset!r}.")
    opset = int(opset)
    if not MIN_OPSET <= opset <= MAX_OPSET:
        raise ValueError(f"opset must be from {MIN_OPSET} to {MAX_OPSET}; got {opset}.")
    known = onnx.defs.onnx_opset_version()
    if opset > known:
        raise ValueError(f"opset {opset} is newer than the installed onnx {onnx.__version__} knows ({known}).")
    return opset


def _network(graph, net):
    """Add the scaling and every layer to ``graph``; return the name of the network's output."""
    a = INPUT
    scaling = net.input_scaling
    if scaling is not None:
        mean, scale = scaling
        # fastmlp scales in float64 and rounds the result once; float32 arithmetic would lose digits when the mean
        # is large against the spread (a 1000 +- 1 feature keeps 4 fewer digits).
        if graph.dtype != np.float64:
            a = graph.node("Cast", [a], to=graph.onnx.TensorProto.DOUBLE, hint="X_float64")
        a = graph.node("Sub", [a, graph.constant("input_mean", mean)], hint="X_centred")
        a = graph.node("Div", [a, graph.constant("input_scale", scale)], hint="X_scaled")
        if graph.dtype != np.float64:
            a = graph.node("Cast", [a], to=graph.elem_type, hint="X_scaled_cast")
    biases = net.biases
    for k, (W, activation) in enumerate(zip(net.weights, net.activations, strict=True)):
        if activation not in ACTIVATIONS:
            raise ValueError(f"fastmlp.to_onnx cannot export the activation {activation!r} yet.")
        W = graph.constant(f"W{k}", W)
        if biases is None:
            z = graph.node("MatMul", [a, W], hint=f"Z{k}")
        else:
            z = graph.node("Gemm", [a, W, graph.constant(f"b{k}", biases[k])], hint=f"Z{k}")
        a = ACTIVATIONS[activation](graph, z)
    return a


def _classifier_outputs(graph, p, target_type, classes):
    """``label`` and ``probabilities`` from the output ``p``, by the rules of the estimator's label binarizer."""
    onnx = graph.onnx
    n = BATCH
    if target_type == "multilabel-indicator":
        # predict: the indicator (p > 0.5) as int64, one column per label.
        positive = graph.node("Greater", [p, graph.scalar("threshold", 0.5)])
        label = graph.node("Cast", [positive], to=onnx.TensorProto.INT64, output="label")
        n_labels = len(classes)
        return [
            ("label", label, onnx.TensorProto.INT64, [n, n_labels]),
            ("probabilities", p, graph.elem_type, [n, n_labels]),
        ]
    table = _label_table(classes)
    label_type = onnx.helper.np_dtype_to_tensor_dtype(table.dtype) if table.dtype != object else onnx.TensorProto.STRING
    if target_type == "multiclass":
        index = graph.node("ArgMax", [p], axis=1, keepdims=0)  # the first maximum, as numpy's argmax
        probabilities = p
        n_classes = len(classes)
    elif target_type == "binary":
        # predict: classes_[p > 0.5]; one class seen in fit is predicted whatever p is (the table holds it twice).
        if len(table) == 1:
            table = np.concatenate([table, table])
        above = graph.node("Greater", [p, graph.scalar("threshold", 0.5)])
        positive = graph.node("Cast", [above], to=onnx.TensorProto.INT64)
        index = graph.node("Reshape", [positive, graph.shape("flat", [-1])])
        one = graph.scalar("one", 1.0)
        probabilities = graph.node("Concat", [graph.node("Sub", [one, p]), p], axis=1, output="probabilities")
        n_classes = 2
    else:  # pragma: no cover - LabelBinarizer gives the estimators no other target type
        raise ValueError(f"fastmlp.to_onnx cannot export a classifier of {target_type!r} targets.")
    label = graph.node("Gather", [graph.constant("classes", table), index], axis=0, output="label")
    return [
        ("label", label, label_type, [n]),
        ("probabilities", probabilities, graph.elem_type, [n, n_classes]),
    ]


def _label_table(classes):
    """``classes_`` as an array ONNX can hold: numbers and booleans as they are, strings as an object array."""
    labels = v.label_array(classes, "can be exported")
    return labels.astype(object) if labels.dtype.kind == "U" else labels


def _finish(onnx, graph, net, source, outputs, opset, path):
    helper = onnx.helper
    for name, value, _, _ in outputs:
        if value != name:  # a graph output must be some node's output under its own name
            graph.nodes.append(helper.make_node("Identity", [value], [name], name=graph._name("Identity_node")))
    proto_graph = helper.make_graph(
        graph.nodes,
        "fastmlp",
        [helper.make_tensor_value_info(INPUT, graph.elem_type, [BATCH, net.sizes[0]])],
        [helper.make_tensor_value_info(name, elem, shape) for name, _, elem, shape in outputs],
        initializer=graph.initializers,
    )
    opsets = [helper.make_opsetid("", opset)]
    proto = helper.make_model(
        proto_graph,
        opset_imports=opsets,
        producer_name="fastmlp",
        producer_version=__version__,
        doc_string=f"{type(source).__name__} exported by fastmlp {__version__}: {net!r}",
    )
    proto.ir_version = helper.find_min_ir_version_for(opsets)
    onnx.checker.check_model(proto, full_check=True)
    if path is not None:
        with atomic_path(path) as tmp:
            onnx.save_model(proto, tmp)
    return proto
