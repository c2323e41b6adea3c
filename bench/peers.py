"""The implementations that ``bench/compare.py`` runs side by side, one per subprocess.

Each one builds the same network (float32; relu, tanh or sigmoid hidden layers; identity output with mean squared
error or softmax output with cross-entropy) from the same initial weights (``initial_params``) and offers two
things to time:

- ``trainer(spec, X, y, params, epochs=1)``: a function that trains ``epochs`` epochs over ``X`` in order (no
  shuffling, in every implementation alike), in batches of ``spec.batch`` rows, the last one partial, with plain
  SGD (momentum 0) or, for ``spec.optimizer == "adam"``, Adam from a fresh state at each call (as each
  ``fastmlp.Model.fit`` starts one). The function has a ``params()`` attribute that returns the current weights as
  NumPy ``[(W, b), ...]``, so that the implementations can be checked against each other;
- ``predictor(spec, params, X)``: a function that returns the network's output for ``X`` (probabilities for a
  softmax output), finished (JAX's asynchronous results are waited for).

The loss is the mean over rows of half the squared error summed over outputs (fastmlp's and the NumPy
baseline's), or the mean cross-entropy. Data are converted to each framework's own types (tensors, device arrays)
before the returned function is timed; fastmlp and NumPy take the NumPy arrays as they are. Only NumPy is imported
at module level: every framework is imported inside its own functions, so a subprocess loads just the library it
measures.
"""

from dataclasses import dataclass

import numpy as np

from .workloads import ADAM, WORKLOADS, activate

SGD_LR = 1e-3  # W1-W3's plain SGD

# name: what it is, the module that must import for it to run
IMPLEMENTATIONS = {
    "fastmlp": ("fastmlp: Model.fit, one compiled call per epoch; Model.predict", "fastmlp"),
    "torch": ("PyTorch eager: nn.Sequential + torch.optim.SGD/Adam, Python loop over batches", "torch"),
    "jax-step": ("JAX: jax.jit of one training step, Python loop over batches; jitted forward", "jax"),
    "jax-scan": ("JAX: the whole epoch (full batch: all the epochs of a call) under jax.jit + lax.scan", "jax"),
    "sklearn": ("scikit-learn MLPClassifier/MLPRegressor, solver='sgd', momentum=0, partial_fit per epoch", "sklearn"),
    "numpy": ("plain NumPy forward/backward loop (bench.workloads.NumpyMLP) + SGD/Adam update", "numpy"),
}

# Why an implementation has no figure for some workloads (compare.py shows a dash and this note).
UNSUPPORTED = {
    # scikit-learn's Adam adds eps to sqrt(v) before the bias correction and halves the squared error averaged over
    # outputs too: with eps in the denominator that is not the same update as the others'.
    ("sklearn", "adam"): "scikit-learn's Adam is a different update (eps before the bias correction)",
}


@dataclass(frozen=True)
class Spec:
    """One network and its training settings."""

    sizes: tuple
    output: str  # "identity" (mse) or "softmax" (cross-entropy)
    batch: int
    hidden: str = "relu"
    optimizer: str = "sgd"  # "sgd" (momentum 0) or "adam" (workloads.ADAM's constants)
    lr: float = SGD_LR

    @property
    def n_layers(self):
        return len(self.sizes) - 1


def spec_for(workload, hidden="relu"):
    """The :class:`Spec` of a workload with ``hidden`` activations.

    Parameters
    ----------
    workload : str
        W1-W4, or P1, P2 and C1, which use W2's network.
    hidden : {"relu", "tanh", "sigmoid"}, default="relu"

    Returns
    -------
    Spec
    """
    name = "W2" if workload in ("P1", "P2", "C1") else workload
    sizes, _, output, batch, _ = WORKLOADS[name]
    if name == "W4":
        return Spec(tuple(sizes), output, batch, hidden, "adam", ADAM["lr"])
    return Spec(tuple(sizes), output, batch, hidden)


def unsupported(impl, spec):
    """Why ``impl`` cannot train ``spec`` as the others do, or None when it can."""
    return UNSUPPORTED.get((impl, spec.optimizer))


def initial_params(spec, seed=0):
    """Float32 ``[(W, b), ...]`` with fastmlp's default initialisation.

    He-normal weights for relu layers, Glorot-uniform for the others (tanh and sigmoid hidden layers, the output
    layer), zero biases.

    Parameters
    ----------
    spec : Spec
    seed : int, default=0

    Returns
    -------
    list of (ndarray, ndarray)
    """
    rng = np.random.default_rng(seed)
    params = []
    for k, (n_in, n_out) in enumerate(zip(spec.sizes[:-1], spec.sizes[1:], strict=True)):
        if k < spec.n_layers - 1 and spec.hidden == "relu":
            W = rng.normal(0.0, np.sqrt(2.0 / n_in), size=(n_in, n_out))
        else:
            limit = np.sqrt(6.0 / (n_in + n_out))
            W = rng.uniform(-limit, limit, size=(n_in, n_out))
        params.append((W.astype(np.float32), np.zeros(n_out, dtype=np.float32)))
    return params


def _batches(n, batch):
    return [(start, min(start + batch, n)) for start in range(0, n, batch)]


def _targets(spec, y):
    """Targets as a float32 matrix: one-hot rows for a softmax output."""
    if spec.output == "softmax":
        Y = np.zeros((len(y), spec.sizes[-1]), dtype=np.float32)
        Y[np.arange(len(y)), y] = 1
        return Y
    return y.reshape(len(y), -1).astype(np.float32)


# --------------------------------------------------------------------------------------------------- fastmlp


def _fastmlp_model(spec, params):
    import fastmlp as fm

    model = fm.Model(list(spec.sizes), hidden=spec.hidden, output=spec.output, dtype="float32", seed=0)
    for k, (W, b) in enumerate(params):
        model.weights[k][...] = W
        model.biases[k][...] = b
    return model


def fastmlp_trainer(spec, X, y, params, epochs=1):
    import fastmlp as fm

    model = _fastmlp_model(spec, params)
    if spec.optimizer == "adam":
        optimizer = fm.Adam(lr=spec.lr, beta1=ADAM["beta1"], beta2=ADAM["beta2"], eps=ADAM["eps"])
    else:
        optimizer = fm.SGD(lr=spec.lr)

    def run():
        return model.fit(X, y, epochs=epochs, batch_size=spec.batch, optimizer=optimizer, shuffle=False)

    run.params = lambda: [(np.array(W), np.array(b)) for W, b in zip(model.weights, model.biases, strict=True)]
    return run


def fastmlp_predictor(spec, params, X):
    model = _fastmlp_model(spec, params)
    return lambda: model.predict(X)


# --------------------------------------------------------------------------------------------------- NumPy


def numpy_trainer(spec, X, y, params, epochs=1):
    from .workloads import NumpyMLP

    net = NumpyMLP([W for W, _ in params], [b for _, b in params], spec.output, spec.hidden)
    Y = _targets(spec, y)
    lr = np.float32(spec.lr)
    slices = _batches(len(X), spec.batch)
    tensors = net.weights + net.biases

    def sgd(grads, _):
        for p, g in zip(tensors, grads, strict=True):
            p -= lr * g

    b1, b2, eps = (np.float32(ADAM[k]) for k in ("beta1", "beta2", "eps"))

    def adam(grads, state):
        state["t"] += 1
        c1, c2 = np.float32(1 - b1 ** state["t"]), np.float32(1 - b2 ** state["t"])
        for p, g, m, v in zip(tensors, grads, state["m"], state["v"], strict=True):
            m *= b1
            m += (1 - b1) * g
            v *= b2
            v += (1 - b2) * g * g
            p -= lr * (m / c1) / (np.sqrt(v / c2) + eps)

    update = adam if spec.optimizer == "adam" else sgd

    def run():
        state = None
        if spec.optimizer == "adam":
            state = {"t": 0, "m": [np.zeros_like(p) for p in tensors], "v": [np.zeros_like(p) for p in tensors]}
        for _ in range(epochs):
            for start, stop in slices:
                dW, db = net.gradients(X[start:stop], Y[start:stop])
                update(dW + db, state)

    run.params = lambda: [(W.copy(), b.copy()) for W, b in zip(net.weights, net.biases, strict=True)]
    return run


def numpy_predictor(spec, params, X):
    """The few-line NumPy forward pass: three products, the hidden activations, then the output."""
    softmax = spec.output == "softmax"
    hidden = spec.hidden

    def predict():
        a = X
        for W, b in params[:-1]:
            a = activate(hidden, a @ W + b)
        z = a @ params[-1][0] + params[-1][1]
        if not softmax:
            return z
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    return predict


# --------------------------------------------------------------------------------------------------- PyTorch


def _torch_model(spec, params):
    import torch

    activation = {"relu": torch.nn.ReLU, "tanh": torch.nn.Tanh, "sigmoid": torch.nn.Sigmoid}[spec.hidden]
    layers = []
    for k, (W, b) in enumerate(params):
        linear = torch.nn.Linear(W.shape[0], W.shape[1])
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(np.ascontiguousarray(W.T)))
            linear.bias.copy_(torch.from_numpy(b))
        layers.append(linear)
        if k < len(params) - 1:
            layers.append(activation())
    return torch.nn.Sequential(*layers)


def torch_trainer(spec, X, y, params, epochs=1):
    import torch

    model = _torch_model(spec, params)
    Xt = torch.from_numpy(X)
    if spec.output == "softmax":
        yt = torch.from_numpy(y.astype(np.int64))
        loss_fn, scale = torch.nn.CrossEntropyLoss(), 1.0
    else:
        yt = torch.from_numpy(y.reshape(len(y), -1).astype(np.float32))
        loss_fn = torch.nn.MSELoss()
        # MSELoss is the mean over rows and outputs, so its gradient is `scale` times the others' (half the sum over
        # outputs, averaged over rows). The same update without an extra operation per step: SGD's learning rate
        # divided by it, Adam's eps multiplied by it (m / (sqrt(v) + eps) scales m and sqrt(v) alike).
        scale = 2.0 / spec.sizes[-1]
    if spec.optimizer == "adam":

        def make_optimizer():
            return torch.optim.Adam(model.parameters(), lr=spec.lr, betas=(ADAM["beta1"], ADAM["beta2"]),
                                    eps=ADAM["eps"] * scale)  # fmt: skip
    else:
        sgd = torch.optim.SGD(model.parameters(), lr=spec.lr / scale, momentum=0.0)

        def make_optimizer():
            return sgd  # no state to start afresh

    n, batch = len(X), spec.batch
    slices = [(Xt[a:b], yt[a:b]) for a, b in _batches(n, batch)]

    def run():
        optimizer = make_optimizer()
        for _ in range(epochs):
            for xb, yb in slices:
                optimizer.zero_grad(set_to_none=True)
                loss = loss_fn(model(xb), yb)
                loss.backward()
                optimizer.step()

    def current():
        linears = [m for m in model if isinstance(m, torch.nn.Linear)]
        return [(m.weight.detach().numpy().T.copy(), m.bias.detach().numpy().copy()) for m in linears]

    run.params = current
    return run


def torch_predictor(spec, params, X):
    import torch

    model = _torch_model(spec, params).eval()
    Xt = torch.from_numpy(X)
    softmax = spec.output == "softmax"

    def predict():
        with torch.inference_mode():
            z = model(Xt)
            return torch.softmax(z, dim=1) if softmax else z

    return predict


# --------------------------------------------------------------------------------------------------- JAX


def _jax_functions(spec):
    """``(init, step, forward)``: the optimizer state from params, one training step on it, the forward pass.

    The state is a tuple whose first item is the params: ``(params,)`` for SGD, ``(params, m, v, t)`` for Adam.
    """
    import jax
    import jax.numpy as jnp

    softmax = spec.output == "softmax"
    act = {"relu": jax.nn.relu, "tanh": jnp.tanh, "sigmoid": jax.nn.sigmoid}[spec.hidden]
    lr = spec.lr
    tree_map = jax.tree_util.tree_map

    def logits(params, x):
        for W, b in params[:-1]:
            x = act(x @ W + b)
        W, b = params[-1]
        return x @ W + b

    def loss_fn(params, x, y):
        z = logits(params, x)
        if softmax:
            logp = jax.nn.log_softmax(z, axis=1)
            return -jnp.mean(jnp.take_along_axis(logp, y[:, None], axis=1))
        return 0.5 * jnp.mean(jnp.sum((z - y) ** 2, axis=1))

    grad = jax.value_and_grad(loss_fn)

    if spec.optimizer == "adam":
        b1, b2, eps = ADAM["beta1"], ADAM["beta2"], ADAM["eps"]

        def init(params):
            zeros = tree_map(jnp.zeros_like, params)
            return params, zeros, zeros, jnp.zeros((), jnp.float32)

        def step(state, x, y):
            params, m, v, t = state
            loss, g = grad(params, x, y)
            t = t + 1
            m = tree_map(lambda m, g: b1 * m + (1 - b1) * g, m, g)
            v = tree_map(lambda v, g: b2 * v + (1 - b2) * g * g, v, g)
            c1, c2 = 1 - b1**t, 1 - b2**t
            params = tree_map(lambda p, m, v: p - lr * (m / c1) / (jnp.sqrt(v / c2) + eps), params, m, v)
            return (params, m, v, t), loss
    else:

        def init(params):
            return (params,)

        def step(state, x, y):
            loss, g = grad(state[0], x, y)
            return (tree_map(lambda p, g: p - lr * g, state[0], g),), loss

    def forward(params, x):
        z = logits(params, x)
        return jax.nn.softmax(z, axis=1) if softmax else z

    return init, step, forward


def _jax_data(spec, X, y):
    if spec.output == "softmax":
        return X, y.astype(np.int32)
    return X, y.reshape(len(y), -1).astype(np.float32)


def _jax_params(params):
    import jax.numpy as jnp

    return [(jnp.asarray(W), jnp.asarray(b)) for W, b in params]


def _numpy_params(holder):
    return lambda: [(np.asarray(W).copy(), np.asarray(b).copy()) for W, b in holder["params"]]


def _quiet_donation():
    import warnings

    warnings.filterwarnings("ignore", message="Some donated buffers were not usable")


def jax_step_trainer(spec, X, y, params, epochs=1):
    import jax

    _quiet_donation()
    init, step, _ = _jax_functions(spec)
    init, step = jax.jit(init), jax.jit(step, donate_argnums=0)
    X, Y = _jax_data(spec, X, y)
    batches = [(jax.device_put(X[a:b]), jax.device_put(Y[a:b])) for a, b in _batches(len(X), spec.batch)]
    holder = {"params": _jax_params(params)}

    def run():
        state = init(holder["params"])
        for _ in range(epochs):
            for xb, yb in batches:
                state, _ = step(state, xb, yb)
        holder["params"] = jax.block_until_ready(state[0])

    run.params = _numpy_params(holder)
    return run


def jax_scan_trainer(spec, X, y, params, epochs=1):
    import jax

    _quiet_donation()
    init, step, _ = _jax_functions(spec)
    X, Y = _jax_data(spec, X, y)
    holder = {"params": _jax_params(params)}
    if len(X) <= spec.batch:  # full batch: one step per epoch, so the scan runs over the epochs

        def train(p, x, y):
            state, _ = jax.lax.scan(lambda s, _: step(s, x, y), init(p), None, length=epochs)
            return state[0]

        train = jax.jit(train, donate_argnums=0)
        Xd, Yd = jax.device_put(X), jax.device_put(Y)

        def run():
            holder["params"] = jax.block_until_ready(train(holder["params"], Xd, Yd))

        run.params = _numpy_params(holder)
        return run

    init = jax.jit(init)
    one_step = jax.jit(step, donate_argnums=0)
    run_epoch = jax.jit(lambda s, Xs, Ys: jax.lax.scan(lambda q, xy: step(q, *xy), s, (Xs, Ys)), donate_argnums=0)
    full = len(X) // spec.batch * spec.batch
    Xs = jax.device_put(X[:full].reshape(-1, spec.batch, X.shape[1]))
    Ys = jax.device_put(Y[:full].reshape((-1, spec.batch) + Y.shape[1:]))
    rest = (jax.device_put(X[full:]), jax.device_put(Y[full:])) if full < len(X) else None

    def run():
        state = init(holder["params"])
        for _ in range(epochs):
            if full:
                state, _ = run_epoch(state, Xs, Ys)
            if rest is not None:  # the partial last batch, as the other implementations train it
                state, _ = one_step(state, *rest)
        holder["params"] = jax.block_until_ready(state[0])

    run.params = _numpy_params(holder)
    return run


def jax_predictor(spec, params, X):
    import jax

    _, _, forward = _jax_functions(spec)
    f = jax.jit(forward)
    p = _jax_params(params)
    Xd = jax.device_put(X)
    return lambda: f(p, Xd).block_until_ready()


# --------------------------------------------------------------------------------------------------- scikit-learn

_SKLEARN_ACTIVATION = {"relu": "relu", "tanh": "tanh", "sigmoid": "logistic"}


def _sklearn_model(spec, params, X, y, lr=SGD_LR):
    """An estimator fitted on one batch (to create its attributes and its optimizer), then given ``params``."""
    import warnings

    from sklearn.neural_network import MLPClassifier, MLPRegressor

    estimator = MLPClassifier if spec.output == "softmax" else MLPRegressor
    model = estimator(
        hidden_layer_sizes=tuple(spec.sizes[1:-1]), activation=_SKLEARN_ACTIVATION[spec.hidden], solver="sgd",
        alpha=0.0, batch_size=spec.batch, learning_rate="constant", learning_rate_init=lr, max_iter=1,
        shuffle=False, momentum=0.0, nesterovs_momentum=False, early_stopping=False, random_state=0,
    )  # fmt: skip
    warnings.filterwarnings("ignore", module="sklearn")
    if spec.output == "softmax":
        model.partial_fit(X[: spec.batch], y[: spec.batch], classes=np.arange(spec.sizes[-1]))
    else:
        model.partial_fit(X[: spec.batch], y[: spec.batch])
    for k, (W, b) in enumerate(params):
        assert model.coefs_[k].shape == W.shape and model.coefs_[k].dtype == np.float32
        model.coefs_[k][...] = W
        model.intercepts_[k][...] = b
    return model


def sklearn_trainer(spec, X, y, params, epochs=1):
    why = unsupported("sklearn", spec)
    if why:
        raise NotImplementedError(why)
    model = _sklearn_model(spec, params, X, y, spec.lr)

    def run():
        for _ in range(epochs):
            model.partial_fit(X, y)

    run.params = lambda: [(W.copy(), b.copy()) for W, b in zip(model.coefs_, model.intercepts_, strict=True)]
    return run


def sklearn_predictor(spec, params, X):
    rng = np.random.default_rng(1)
    X0 = rng.normal(size=(spec.batch, spec.sizes[0])).astype(np.float32)
    y0 = np.arange(spec.batch) % spec.sizes[-1] if spec.output == "softmax" else np.zeros(spec.batch, np.float32)
    model = _sklearn_model(spec, params, X0, y0)
    if spec.output == "softmax":
        return lambda: model.predict_proba(X)
    return lambda: model.predict(X)


TRAINERS = {
    "fastmlp": fastmlp_trainer,
    "torch": torch_trainer,
    "jax-step": jax_step_trainer,
    "jax-scan": jax_scan_trainer,
    "sklearn": sklearn_trainer,
    "numpy": numpy_trainer,
}

# JAX has one forward pass: the jitted one (a scan has nothing to add to a predict).
PREDICTORS = {
    "fastmlp": fastmlp_predictor,
    "torch": torch_predictor,
    "jax-step": jax_predictor,
    "sklearn": sklearn_predictor,
    "numpy": numpy_predictor,
}


def versions_here():
    """Versions of the libraries loaded in this process (none is imported here)."""
    import sys

    out = {}
    for name in ("numpy", "numba", "scipy", "torch", "jax", "jaxlib", "sklearn", "fastmlp"):
        mod = sys.modules.get(name)
        if mod is not None:
            out[name] = getattr(mod, "__version__", "?")
    return out


# --------------------------------------------------------------------------------------------------- C1 scripts

# Each is run with ``python -c`` in a fresh process; the timer starts before the first import and stops after the
# one-row prediction. The interpreter's own start-up is the same for all and is not counted.
_C1_BODY = {
    "fastmlp": """
import numpy as np
import fastmlp
model = fastmlp.Model({sizes}, hidden="relu", output="softmax", seed=0)
model.predict(np.ones((1, {n_in}), dtype=np.float32))
""",
    "torch": """
import torch
torch.manual_seed(0)
model = torch.nn.Sequential(
    torch.nn.Linear({s0}, {s1}), torch.nn.ReLU(),
    torch.nn.Linear({s1}, {s2}), torch.nn.ReLU(),
    torch.nn.Linear({s2}, {s3}), torch.nn.Softmax(dim=1),
)
with torch.inference_mode():
    model(torch.ones((1, {n_in})))
""",
    "jax-step": """
import numpy as np
import jax, jax.numpy as jnp
rng = np.random.default_rng(0)
params = [(jnp.asarray(rng.normal(0, (2 / a) ** 0.5, (a, b)).astype(np.float32)), jnp.zeros(b, jnp.float32))
          for a, b in zip({sizes}[:-1], {sizes}[1:])]
@jax.jit
def forward(params, x):
    for W, b in params[:-1]:
        x = jax.nn.relu(x @ W + b)
    return jax.nn.softmax(x @ params[-1][0] + params[-1][1], axis=1)
forward(params, jnp.ones((1, {n_in}), jnp.float32)).block_until_ready()
""",
    "numpy": """
import numpy as np
rng = np.random.default_rng(0)
params = [(rng.normal(0, (2 / a) ** 0.5, (a, b)).astype(np.float32), np.zeros(b, np.float32))
          for a, b in zip({sizes}[:-1], {sizes}[1:])]
x = np.ones((1, {n_in}), np.float32)
for W, b in params[:-1]:
    x = np.maximum(x @ W + b, 0)
z = x @ params[-1][0] + params[-1][1]
e = np.exp(z - z.max(axis=1, keepdims=True)); p = e / e.sum(axis=1, keepdims=True)
""",
}


def c1_script(impl, cache_dir=None, empty_cache=False):
    """The ``python -c`` program of C1 for ``impl``; prints the seconds of import + build + predict one row.

    fastmlp: ``cache_dir`` is the warm ``NUMBA_CACHE_DIR``; ``empty_cache`` gives a new empty one that is removed
    at exit, so every kernel the prediction needs is compiled.
    """
    sizes = list(spec_for("C1").sizes)
    body = _C1_BODY[impl].format(sizes=sizes, n_in=sizes[0], s0=sizes[0], s1=sizes[1], s2=sizes[2], s3=sizes[3])
    setup = ""
    if impl == "fastmlp" and empty_cache:
        setup = (
            "import atexit, os, shutil, tempfile\n"
            "_d = tempfile.mkdtemp(prefix='fastmlp-c1-')\n"
            "atexit.register(shutil.rmtree, _d, True)\n"
            "os.environ['NUMBA_CACHE_DIR'] = _d\n"
        )
    elif impl == "fastmlp" and cache_dir is not None:
        setup = f"import os\nos.environ['NUMBA_CACHE_DIR'] = {str(cache_dir)!r}\n"
    return "\n".join(
        [setup, "import time as _t", "_t0 = _t.perf_counter()", body, "print('C1_SECONDS', _t.perf_counter() - _t0)"]
    )
