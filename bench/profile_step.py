"""Where one training step's time goes: each part of the step timed on its own, inside compiled loops.

Each component (the forward pass, its matrix products alone, bias + activation, backward, ...) runs in a jitted
loop of many repetitions over the same batch, so the figures carry no Python or dispatch overhead; the last line
times whole epochs of ``train_epoch`` per step. Learning rate 0 while the components are timed, so the parameters
stay put. Float32, relu hidden layers, identity output for one output and softmax otherwise, plain SGD::

    python -m bench.profile_step                        # W1: 16-32-32-1, batch 32
    python -m bench.profile_step --sizes 784-256-128-10 --batch 128

The components overlap (the forward pass includes its products): they do not add up to the step.
"""

import argparse
import statistics
import time

import numpy as np
from numba import njit

import fastmlp as fm
from fastmlp._engine import Engine
from fastmlp._jit import activations as _act
from fastmlp._jit import backward as _bwd
from fastmlp._jit import forward as _fwd
from fastmlp._jit import losses as _loss
from fastmlp._jit import optimizers as _opt
from fastmlp._jit import train as _train
from fastmlp._jit.blas import gemm
from fastmlp._jit.layout import bias_view, layer_view, weight_view


@njit
def _forward(reps, X, params, net, use_bias, zs, acts):
    for _ in range(reps):
        _fwd.forward(X, params, net, use_bias, zs, acts)


@njit
def _forward_products(reps, X, params, sizes, woff, aoff, zs):
    m = X.shape[0]
    for _ in range(reps):
        A_prev = X
        for k in range(sizes.shape[0] - 1):
            Z = layer_view(zs, sizes, aoff, m, k)
            gemm(A_prev, False, weight_view(params, sizes, woff, k), False, 1.0, 0.0, Z)
            A_prev = Z


@njit
def _bias_activation(reps, params, sizes, boff, aoff, codes, use_bias, zs, acts, m):
    for _ in range(reps):
        for k in range(sizes.shape[0] - 1):
            Z = layer_view(zs, sizes, aoff, m, k)
            _act.add_bias_and_activate(
                codes[k], use_bias, bias_view(params, sizes, boff, k), Z, layer_view(acts, sizes, aoff, m, k)
            )


@njit
def _backward(reps, X, Y, w, params, net, loss_code, use_bias, zs, acts, dlts, grads, wt):
    total = 0.0
    for _ in range(reps):
        total += _bwd.backward(X, Y, w, params, net, loss_code, use_bias, zs, acts, dlts, grads, wt)
    return total


@njit
def _backward_products(reps, X, params, sizes, woff, aoff, acts, dlts, grads, wt):
    m = X.shape[0]
    last = sizes.shape[0] - 2
    for _ in range(reps):
        for k in range(last, -1, -1):
            delta = layer_view(dlts, sizes, aoff, m, k)
            A_prev = X if k == 0 else layer_view(acts, sizes, aoff, m, k - 1)
            gemm(A_prev, True, delta, False, 1.0, 0.0, weight_view(grads, sizes, woff, k))
            if k > 0:
                E = layer_view(dlts, sizes, aoff, m, k - 1)
                _bwd.delta_times_weights_t(delta, weight_view(params, sizes, woff, k), wt, E)


@njit
def _derivatives(reps, sizes, aoff, codes, zs, acts, dlts, m):
    for _ in range(reps):
        for k in range(sizes.shape[0] - 2):
            Z = layer_view(zs, sizes, aoff, m, k)
            _act.multiply_by_derivative(
                codes[k], Z, layer_view(acts, sizes, aoff, m, k), layer_view(dlts, sizes, aoff, m, k)
            )


@njit
def _bias_gradients(reps, sizes, boff, aoff, dlts, grads, m):
    for _ in range(reps):
        for k in range(sizes.shape[0] - 1):
            _bwd.sum_rows(layer_view(dlts, sizes, aoff, m, k), bias_view(grads, sizes, boff, k), 0.0)


@njit
def _loss_and_output_delta(reps, loss_code, sizes, aoff, zs, acts, Y, w, dlts, m):
    last = sizes.shape[0] - 2
    total = 0.0
    for _ in range(reps):
        A = layer_view(acts, sizes, aoff, m, last)
        _loss.output_delta(A, Y, w, 1.0 / m, layer_view(dlts, sizes, aoff, m, last))
        total += _loss.loss_sum(loss_code, layer_view(zs, sizes, aoff, m, last), A, Y, w)
    return total


@njit
def _optimizer(reps, hyper, sizes, woff, grads, params, state, step):
    for _ in range(reps):
        _opt.optimizer_step(_opt.OPT_SGD, hyper, sizes, woff, grads, params, state, state, step, 0.0)


@njit
def _gather(reps, X, Y, w, order, xb, yb, wb):
    m = xb.shape[0]
    for _ in range(reps):
        rows = order[:m]
        _train.gather_rows(X, rows, xb)
        _train.gather_rows(Y, rows, yb)
        for i in range(m):
            wb[i] = w[rows[i]]


@njit
def _metric(reps, metric_code, sizes, aoff, acts, Y, w, acc, m):
    last = sizes.shape[0] - 2
    for _ in range(reps):
        _train.accumulate_metric(metric_code, layer_view(acts, sizes, aoff, m, last), Y, w, acc)


def _median_us(fn, reps, rounds):
    fn(1)  # compile
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn(reps)
        times.append((time.perf_counter() - start) / reps * 1e6)
    return statistics.median(times)


def profile(sizes=(16, 32, 32, 1), batch=32, rows=4096, rounds=7, dtype="float32"):
    """Median microseconds of each component of one step and, last, of a whole step: a list of (name, us)."""
    sizes = tuple(int(s) for s in sizes)
    dtype = np.dtype(dtype).type
    output = "identity" if sizes[-1] == 1 else "softmax"
    model = fm.Model(list(sizes), hidden="relu", output=output, dtype=dtype.__name__, seed=0)
    engine = Engine(model.sizes, model.hidden, model.output, model.bias)
    lsizes, woff, boff, aoff, codes = engine.net
    params = model.params
    rng = np.random.default_rng(0)
    X = rng.standard_normal((rows, sizes[0])).astype(dtype)
    if output == "softmax":
        Y = np.eye(sizes[-1], dtype=dtype)[rng.integers(0, sizes[-1], rows)]
    else:
        Y = rng.standard_normal((rows, 1)).astype(dtype)
    w = np.ones(rows, dtype)
    m = batch
    # The flag reaches the jitted helpers as an argument: a True written inside them would be typed as a literal and
    # compile a second version of every kernel it is passed to.
    use_bias = model.bias
    xb, yb, wb = X[:m].copy(), Y[:m].copy(), w[:m].copy()
    zs = np.zeros(m * int(aoff[-1]), dtype)
    acts, dlts, grads = zs.copy(), zs.copy(), np.zeros_like(params)
    wt = np.zeros(_bwd.SMALL_LAYER_WEIGHTS, dtype)
    hyper = np.zeros(_opt.N_HYPER)
    state, step = np.zeros(1, dtype), np.zeros(1, np.int64)
    loss_code = engine.loss_code
    metric_code = engine.metric_code
    acc = np.zeros(sizes[-1])
    order = np.arange(rows)
    macs = m * sum(a * b for a, b in zip(sizes[:-1], sizes[1:], strict=True))
    reps = max(20, int(2e8 / (6 * macs)))
    net = engine.net
    parts = [
        ("forward", lambda r: _forward(r, xb, params, net, use_bias, zs, acts)),
        ("  its matrix products", lambda r: _forward_products(r, xb, params, lsizes, woff, aoff, zs)),
        (
            "  bias + activation",
            lambda r: _bias_activation(r, params, lsizes, boff, aoff, codes, use_bias, zs, acts, m),
        ),
        (
            "backward",
            lambda r: _backward(r, xb, yb, wb, params, net, loss_code, use_bias, zs, acts, dlts, grads, wt),
        ),
        (
            "  its matrix products",
            lambda r: _backward_products(r, xb, params, lsizes, woff, aoff, acts, dlts, grads, wt),
        ),
        ("  activation derivatives", lambda r: _derivatives(r, lsizes, aoff, codes, zs, acts, dlts, m)),
        ("  bias gradients", lambda r: _bias_gradients(r, lsizes, boff, aoff, dlts, grads, m)),
        (
            "  loss + output delta",
            lambda r: _loss_and_output_delta(r, loss_code, lsizes, aoff, zs, acts, yb, wb, dlts, m),
        ),
        ("SGD update", lambda r: _optimizer(r, hyper, lsizes, woff, grads, params, state, step)),
        ("gather a shuffled batch", lambda r: _gather(r, X, Y, w, order, xb, yb, wb)),
        ("training metric", lambda r: _metric(r, metric_code, lsizes, aoff, acts, yb, wb, acc, m)),
    ]
    results = [(name, _median_us(fn, reps, rounds)) for name, fn in parts]
    hyper[_opt.HYPER_LR] = 1e-3

    def epochs(r):
        for _ in range(r):
            _train.train_epoch(
                X, Y, w, order, m, net, loss_code, use_bias, _opt.OPT_SGD, hyper, (params, grads, state, state),
                step, (zs, acts, dlts, wt), (xb.ravel(), yb.ravel(), wb), metric_code, False, acc,
                np.zeros(len(sizes) - 1),
            )  # fmt: skip

    steps = -(-rows // m)
    results.append(("whole step (one epoch of train_epoch / steps)", _median_us(epochs, 1, rounds) / steps))
    return results


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="16-32-32-1", help="layer widths, dash-separated (default: W1's)")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--rows", type=int, default=4096, help="rows of the epoch timed on the last line")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--dtype", choices=("float32", "float64"), default="float32")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split("-")]
    results = profile(sizes, args.batch, args.rows, args.rounds, args.dtype)
    print(f"one training step, {args.sizes}, batch {args.batch}, {args.dtype} (medians of {args.rounds} rounds):")
    for name, micros in results:
        print(f"  {name:48s} {micros:10.3f} us")
    step = results[-1][1]
    print(f"  -> {args.batch / step * 1e6:,.0f} samples/s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
