"""The implementations that ``bench/compare.py`` runs side by side, one per subprocess.

Each one builds the same network (float32, relu hidden layers, identity output with mean squared error or softmax
output with cross-entropy) from the same initial weights and offers two things to time:

- ``trainer(spec, X, y, params, lr)``: a function that trains one epoch of plain SGD (momentum 0) over ``X`` in
  order (no shuffling, in every implementation alike), in batches of ``spec.batch`` rows, the last one partial;
- ``predictor(spec, params, X)``: a function that returns the network's output for ``X`` (probabilities for a
  softmax output), finished (JAX's asynchronous results are waited for).

Data are converted to each framework's own types (tensors, device arrays) before the returned function is timed;
fastmlp and NumPy take the NumPy arrays as they are. Only NumPy is imported at module level: every framework is
imported inside its own functions, so a subprocess loads just the library it measures.
"""

from dataclasses import dataclass

import numpy as np

from .workloads import WORKLOADS

# name: what it is, the module that must import for it to run
IMPLEMENTATIONS = {
    "fastmlp": ("fastmlp: Model.fit, one compiled call per epoch; Model.predict", "fastmlp"),
    "torch": ("PyTorch eager: nn.Sequential + torch.optim.SGD, Python loop over batches", "torch"),
    "jax-step": ("JAX: jax.jit of one SGD step, Python loop over batches; jitted forward", "jax"),
    "jax-scan": ("JAX: the whole epoch under jax.jit + lax.scan", "jax"),
    "sklearn": ("scikit-learn MLPClassifier/MLPRegressor, solver='sgd', momentum=0, partial_fit per epoch", "sklearn"),
    "numpy": ("plain NumPy forward/backward loop (bench.workloads.NumpyMLP) + SGD update", "numpy"),
}


@dataclass(frozen=True)
class Spec:
    """One network and its training settings."""

    sizes: tuple
    output: str  # "identity" (mse) or "softmax" (cross-entropy)
    batch: int

    @property
    def n_layers(self):
        return len(self.sizes) - 1


def spec_for(workload):
    """The :class:`Spec` of a training workload W1/W2/W3; P1, P2 and C1 use W2's network."""
    name = "W2" if workload in ("P1", "P2", "C1") else workload
    sizes, hidden, output, batch, _ = WORKLOADS[name]
    assert hidden == "relu"
    return Spec(tuple(sizes), output, batch)


def initial_params(spec, seed=0):
    """[(W, b), ...] float32: He-normal hidden layers, Glorot-uniform output layer, zero biases (fastmlp's defaults)."""
    rng = np.random.default_rng(seed)
    params = []
    for k, (n_in, n_out) in enumerate(zip(spec.sizes[:-1], spec.sizes[1:], strict=True)):
        if k < spec.n_layers - 1:
            W = rng.normal(0.0, np.sqrt(2.0 / n_in), size=(n_in, n_out))
        else:
            limit = np.sqrt(6.0 / (n_in + n_out))
            W = rng.uniform(-limit, limit, size=(n_in, n_out))
        params.append((W.astype(np.float32), np.zeros(n_out, dtype=np.float32)))
    return params


def _batches(n, batch):
    return [(start, min(start + batch, n)) for start in range(0, n, batch)]


# --------------------------------------------------------------------------------------------------- fastmlp


def _fastmlp_model(spec, params):
    import fastmlp as fm

    model = fm.Model(list(spec.sizes), hidden="relu", output=spec.output, dtype="float32", seed=0)
    for k, (W, b) in enumerate(params):
        model.weights[k][...] = W
        model.biases[k][...] = b
    return model


def fastmlp_trainer(spec, X, y, params, lr):
    import fastmlp as fm

    model = _fastmlp_model(spec, params)
    optimizer = fm.SGD(lr=lr)

    def epoch():
        model.fit(X, y, epochs=1, batch_size=spec.batch, optimizer=optimizer, shuffle=False)

    return epoch


def fastmlp_predictor(spec, params, X):
    model = _fastmlp_model(spec, params)
    return lambda: model.predict(X)


# --------------------------------------------------------------------------------------------------- NumPy


def numpy_trainer(spec, X, y, params, lr):
    from .workloads import NumpyMLP

    net = NumpyMLP([W for W, _ in params], [b for _, b in params], spec.output)
    if spec.output == "softmax":
        Y = np.zeros((len(y), spec.sizes[-1]), dtype=np.float32)
        Y[np.arange(len(y)), y] = 1
    else:
        Y = y.reshape(len(y), -1).astype(np.float32)
    lr = np.float32(lr)
    slices = _batches(len(X), spec.batch)

    def epoch():
        for start, stop in slices:
            dW, db = net.gradients(X[start:stop], Y[start:stop])
            for W, g in zip(net.weights, dW, strict=True):
                W -= lr * g
            for b, g in zip(net.biases, db, strict=True):
                b -= lr * g

    return epoch


def numpy_predictor(spec, params, X):
    """The few-line NumPy forward pass: relu layers, then the output (softmax or identity)."""
    softmax = spec.output == "softmax"

    def predict():
        a = X
        for W, b in params[:-1]:
            a = np.maximum(a @ W + b, 0)
        z = a @ params[-1][0] + params[-1][1]
        if not softmax:
            return z
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    return predict


# --------------------------------------------------------------------------------------------------- PyTorch


def _torch_model(spec, params):
    import torch

    layers = []
    for k, (W, b) in enumerate(params):
        linear = torch.nn.Linear(W.shape[0], W.shape[1])
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(np.ascontiguousarray(W.T)))
            linear.bias.copy_(torch.from_numpy(b))
        layers.append(linear)
        if k < len(params) - 1:
            layers.append(torch.nn.ReLU())
    return torch.nn.Sequential(*layers)


def torch_trainer(spec, X, y, params, lr):
    import torch

    model = _torch_model(spec, params)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.0)
    Xt = torch.from_numpy(X)
    if spec.output == "softmax":
        yt = torch.from_numpy(y.astype(np.int64))
        loss_fn = torch.nn.CrossEntropyLoss()
    else:
        yt = torch.from_numpy(y.reshape(len(y), -1).astype(np.float32))
        loss_fn = torch.nn.MSELoss()
        # MSELoss is the mean over rows and outputs; the others' loss is half the sum over outputs, averaged over
        # rows. The same update without an extra operation per step: scale the learning rate.
        optimizer = torch.optim.SGD(model.parameters(), lr=lr * spec.sizes[-1] / 2, momentum=0.0)
    n, batch = len(X), spec.batch

    def epoch():
        for start in range(0, n, batch):
            xb, yb = Xt[start : start + batch], yt[start : start + batch]
            optimizer.zero_grad(set_to_none=True)
            loss = loss_fn(model(xb), yb)
            loss.backward()
            optimizer.step()

    return epoch


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


def _jax_functions(spec, lr):
    import jax
    import jax.numpy as jnp

    softmax = spec.output == "softmax"

    def logits(params, x):
        for W, b in params[:-1]:
            x = jax.nn.relu(x @ W + b)
        W, b = params[-1]
        return x @ W + b

    def loss_fn(params, x, y):
        z = logits(params, x)
        if softmax:
            logp = jax.nn.log_softmax(z, axis=1)
            return -jnp.mean(jnp.take_along_axis(logp, y[:, None], axis=1))
        return 0.5 * jnp.mean(jnp.sum((z - y) ** 2, axis=1))

    def sgd_step(params, x, y):
        loss, grads = jax.value_and_grad(loss_fn)(params, x, y)
        return jax.tree_util.tree_map(lambda p, g: p - lr * g, params, grads), loss

    def forward(params, x):
        z = logits(params, x)
        return jax.nn.softmax(z, axis=1) if softmax else z

    return logits, sgd_step, forward


def _jax_data(spec, X, y):
    if spec.output == "softmax":
        return X, y.astype(np.int32)
    return X, y.reshape(len(y), -1).astype(np.float32)


def _jax_params(params):
    import jax.numpy as jnp

    return [(jnp.asarray(W), jnp.asarray(b)) for W, b in params]


def _quiet_donation():
    import warnings

    warnings.filterwarnings("ignore", message="Some donated buffers were not usable")


def jax_step_trainer(spec, X, y, params, lr):
    import jax

    _quiet_donation()
    _, sgd_step, _ = _jax_functions(spec, lr)
    step = jax.jit(sgd_step, donate_argnums=0)
    X, Y = _jax_data(spec, X, y)
    batches = [(jax.device_put(X[a:b]), jax.device_put(Y[a:b])) for a, b in _batches(len(X), spec.batch)]
    state = {"params": _jax_params(params)}

    def epoch():
        p = state["params"]
        for xb, yb in batches:
            p, _ = step(p, xb, yb)
        state["params"] = jax.block_until_ready(p)

    return epoch


def jax_scan_trainer(spec, X, y, params, lr):
    import jax

    _quiet_donation()
    _, sgd_step, _ = _jax_functions(spec, lr)
    step = jax.jit(sgd_step, donate_argnums=0)

    def run(p, Xs, Ys):
        return jax.lax.scan(lambda q, xy: sgd_step(q, *xy), p, (Xs, Ys))

    run_epoch = jax.jit(run, donate_argnums=0)
    X, Y = _jax_data(spec, X, y)
    full = len(X) // spec.batch * spec.batch
    Xs = jax.device_put(X[:full].reshape(-1, spec.batch, X.shape[1]))
    Ys = jax.device_put(Y[:full].reshape((-1, spec.batch) + Y.shape[1:]))
    rest = (jax.device_put(X[full:]), jax.device_put(Y[full:])) if full < len(X) else None
    state = {"params": _jax_params(params)}

    def epoch():
        p = state["params"]
        if full:
            p, _ = run_epoch(p, Xs, Ys)
        if rest is not None:  # the partial last batch, as the other implementations train it
            p, _ = step(p, *rest)
        state["params"] = jax.block_until_ready(p)

    return epoch


def jax_predictor(spec, params, X):
    import jax

    _, _, forward = _jax_functions(spec, 0.0)
    f = jax.jit(forward)
    p = _jax_params(params)
    Xd = jax.device_put(X)
    return lambda: f(p, Xd).block_until_ready()


# --------------------------------------------------------------------------------------------------- scikit-learn


def _sklearn_model(spec, params, X, y, lr=1e-3):
    """An estimator fitted on one batch (to create its attributes and its optimizer), then given ``params``."""
    import warnings

    from sklearn.neural_network import MLPClassifier, MLPRegressor

    estimator = MLPClassifier if spec.output == "softmax" else MLPRegressor
    model = estimator(
        hidden_layer_sizes=tuple(spec.sizes[1:-1]), activation="relu", solver="sgd", alpha=0.0,
        batch_size=spec.batch, learning_rate="constant", learning_rate_init=lr, max_iter=1, shuffle=False,
        momentum=0.0, nesterovs_momentum=False, early_stopping=False, random_state=0,
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


def sklearn_trainer(spec, X, y, params, lr):
    model = _sklearn_model(spec, params, X, y, lr)

    def epoch():
        model.partial_fit(X, y)

    return epoch


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
