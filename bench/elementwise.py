"""Nanoseconds per element of each activation's passes, and of exp and log, against ReLU's and NumPy's.

For each dtype and block shape the table gives nanoseconds per element of

* fastmlp's forward pass (``add_bias_and_activate``, no bias) and forward plus derivative pass
  (``multiply_by_derivative``), run in a compiled loop so that no call from Python is counted;
* the same pass with ``math.tanh`` / ``math.exp`` in a Numba loop (the C library, one element at a time: the
  implementation before fastmlp._jit.vecmath), forward only;
* NumPy doing the same work with ufuncs writing into preallocated arrays: ``np.tanh``; ``1 / (1 + np.exp(-x))``
  as four in-place ufuncs; ``np.maximum(z, 0)``; for the derivative ``e *= 1 - a * a``, ``e *= a * (1 - a)``,
  ``e *= z > 0``; ``np.exp``, ``np.log``;

and the ratios: fastmlp's forward plus derivative over ReLU's, and fastmlp over NumPy (forward alone, and forward
plus derivative). Every derivative pass multiplies a buffer that starts at 1e30 (1e300 in float64) and is
refilled every 16 passes, so that it never becomes subnormal (which would time the CPU's slow path instead); the
refill is in every derivative figure alike. Rounds alternate the implementations; each figure is the median over
the rounds, ± half their range as a share of it::

    python -m bench.elementwise                        # 32x1024 and 10000x32, float32 and float64, 7 rounds
    python -m bench.elementwise --shapes 10000x48 --rounds 11

Run it on an otherwise idle core (``taskset -c 1``): the machine's other load moves single figures by 10-30%.
"""

import argparse
import math
import statistics
import time

import numpy as np
from numba import njit

from fastmlp._jit import activations as act
from fastmlp._jit import vecmath

__all__ = [
    "ACTIVATIONS",
    "arrays",
    "evaluate_passes",
    "forward_and_derivative_passes",
    "forward_passes",
    "main",
    "measure",
    "numpy_passes",
]

ACTIVATIONS = {"relu": act.ACT_RELU, "tanh": act.ACT_TANH, "sigmoid": act.ACT_SIGMOID, "leaky_relu": act.ACT_LEAKY_RELU}
REFILL = 16


# use_bias is an argument, False from Python: a literal False in here would compile the kernels for the type
# Literal[bool](False), a version that the library never runs.
@njit(nogil=True)
def forward_passes(reps, code, use_bias, b, Z, A):
    """``reps`` forward passes of activation ``code``."""
    for _ in range(reps):
        act.add_bias_and_activate(code, use_bias, b, Z, A)


@njit(nogil=True)
def forward_and_derivative_passes(reps, code, use_bias, b, Z, A, E, E0):
    """``reps`` forward and derivative passes, ``E`` refilled from ``E0`` every REFILL passes."""
    for r in range(reps):
        if r % REFILL == 0:
            E[:, :] = E0
        act.add_bias_and_activate(code, use_bias, b, Z, A)
        act.multiply_by_derivative(code, Z, A, E)


@njit(nogil=True)
def evaluate_passes(reps, code, x, out):
    """``reps`` passes of ``vecmath.evaluate``."""
    for _ in range(reps):
        vecmath.evaluate(code, x, out)


@njit(nogil=True, error_model="numpy")
def libm_forward_passes(reps, code, z, a):
    # The pre-vecmath loops: one call into the C library per element.
    for _ in range(reps):
        if code == act.ACT_TANH:
            for t in range(z.shape[0]):
                a[t] = math.tanh(z[t])
        elif code == act.ACT_SIGMOID:
            for t in range(z.shape[0]):
                z_t = z[t]
                if z_t >= 0:
                    a[t] = 1.0 / (1.0 + math.exp(-z_t))
                else:
                    e = math.exp(z_t)
                    a[t] = e / (1.0 + e)
        elif code == vecmath.FN_EXP + 100:
            for t in range(z.shape[0]):
                a[t] = math.exp(z[t])
        elif code == vecmath.FN_LOG + 100:
            for t in range(z.shape[0]):
                a[t] = math.log(z[t])


def _numpy_forward(name, Z, A, tmp):
    if name == "tanh":
        np.tanh(Z, out=A)
    elif name == "sigmoid":
        np.negative(Z, out=A)
        np.exp(A, out=A)
        A += 1
        np.reciprocal(A, out=A)
    elif name == "relu":
        np.maximum(Z, 0, out=A)
    elif name == "leaky_relu":
        np.multiply(Z, 0.01, out=tmp)
        np.maximum(Z, tmp, out=A)
    elif name == "exp":
        np.exp(Z, out=A)
    elif name == "log":
        np.log(Z, out=A)


def _numpy_derivative(name, Z, A, E, tmp):
    if name == "tanh":
        np.multiply(A, A, out=tmp)
        np.subtract(1, tmp, out=tmp)
    elif name == "sigmoid":
        np.subtract(1, A, out=tmp)
        tmp *= A
    elif name == "relu":
        np.greater(Z, 0, out=tmp)
    elif name == "leaky_relu":
        np.greater(Z, 0, out=tmp)
        tmp *= 0.99
        tmp += 0.01
    E *= tmp


def numpy_passes(reps, name, Z, A, E, E0, tmp, derivative):
    """The same passes with NumPy's ufuncs, into preallocated arrays."""
    for r in range(reps):
        if derivative and r % REFILL == 0:
            np.copyto(E, E0)
        _numpy_forward(name, Z, A, tmp)
        if derivative:
            _numpy_derivative(name, Z, A, E, tmp)


def arrays(name, shape, dtype, seed=0):
    """``Z, A, E, E0, tmp`` for ``name``: arguments (positive for log), outputs, derivative buffer and its refill."""
    rng = np.random.default_rng(seed)
    Z = (rng.normal(size=shape) * 2).astype(dtype)
    if name == "log":
        Z = np.abs(Z) + dtype(1e-3)
    E0 = np.full(shape, 1e30 if dtype == np.float32 else 1e300, dtype=dtype)
    return Z, np.empty_like(Z), np.empty_like(Z), E0, np.empty_like(Z)


def _timed(run, reps):
    start = time.perf_counter()
    run(reps)
    return time.perf_counter() - start


def measure(names, shape, dtype, rounds=7, seconds=0.02):
    """Return ``{(name, implementation): [ns per element, one per round]}`` for one block shape and dtype."""
    n = shape[0] * shape[1]
    b = np.zeros(shape[1], dtype)
    runs = {}
    for name in names:
        Z, A, E, E0, tmp = arrays(name, shape, dtype)
        z, a = Z.reshape(-1), A.reshape(-1)
        if name in ACTIVATIONS:
            code = ACTIVATIONS[name]
            runs[name, "forward"] = lambda k, code=code, Z=Z, A=A: forward_passes(k, code, False, b, Z, A)
            runs[name, "forward+derivative"] = lambda k, code=code, Z=Z, A=A, E=E, E0=E0: (
                forward_and_derivative_passes(k, code, False, b, Z, A, E, E0)
            )  # fmt: skip
            runs[name, "numpy forward+derivative"] = lambda k, name=name, Z=Z, A=A, E=E, E0=E0, tmp=tmp: (
                numpy_passes(k, name, Z, A, E, E0, tmp, True)
            )  # fmt: skip
            libm_code = code
        else:
            code = vecmath.FUNCTIONS[name]
            runs[name, "forward"] = lambda k, code=code, z=z, a=a: evaluate_passes(k, code, z, a)
            libm_code = code + 100
        runs[name, "numpy forward"] = lambda k, name=name, Z=Z, A=A, E=E, E0=E0, tmp=tmp: (
            numpy_passes(k, name, Z, A, E, E0, tmp, False)
        )  # fmt: skip
        if name in ("tanh", "sigmoid", "exp", "log"):
            runs[name, "libm forward"] = lambda k, c=libm_code, z=z, a=a: libm_forward_passes(k, c, z, a)
    reps = {}
    for key, run in runs.items():  # compile, then size each run to about `seconds`
        run(1)
        reps[key] = max(1, int(seconds / max(_timed(run, 3) / 3, 1e-9)))
    results = {key: [] for key in runs}
    for _ in range(rounds):
        for key, run in runs.items():
            results[key].append(_timed(run, reps[key]) / reps[key] / n * 1e9)
    return results


def _cell(values):
    median = statistics.median(values)
    spread = (max(values) - min(values)) / median if median else 0.0
    return median, f"{median:.3f} ±{100 * spread / 2:.0f}%"


def main(argv=None):
    """Measure and print the table (markdown)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shapes", nargs="+", default=["32x1024", "10000x32"])
    parser.add_argument("--dtypes", nargs="+", default=["float32", "float64"])
    parser.add_argument("--functions", nargs="+", default=["relu", "leaky_relu", "tanh", "sigmoid", "exp", "log"])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--seconds", type=float, default=0.02, help="length of one measurement")
    args = parser.parse_args(argv)
    names = ["relu"] + [f for f in args.functions if f != "relu"]
    print("ns per element, median over rounds ±half the spread; ratios of medians.\n")
    print(
        "| function | dtype | shape | forward | forward+derivative | ÷ relu's | NumPy forward | ÷ NumPy "
        "| NumPy fwd+deriv | ÷ NumPy | libm forward |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for dtype_name in args.dtypes:
        dtype = np.dtype(dtype_name).type
        for shape_text in args.shapes:
            shape = tuple(int(v) for v in shape_text.split("x"))
            results = measure(names, shape, dtype, args.rounds, args.seconds)
            relu_pass, _ = _cell(results["relu", "forward+derivative"])
            for name in names:
                fwd, fwd_text = _cell(results[name, "forward"])
                np_fwd, np_fwd_text = _cell(results[name, "numpy forward"])
                row = [name, dtype_name, shape_text, fwd_text]
                if (name, "forward+derivative") in results:
                    both, both_text = _cell(results[name, "forward+derivative"])
                    np_both, np_both_text = _cell(results[name, "numpy forward+derivative"])
                    row += [both_text, f"{both / relu_pass:.2f}", np_fwd_text, f"{fwd / np_fwd:.2f}"]
                    row += [np_both_text, f"{both / np_both:.2f}"]
                else:
                    row += ["", "", np_fwd_text, f"{fwd / np_fwd:.2f}", "", ""]
                libm = results.get((name, "libm forward"))
                row.append(_cell(libm)[1] if libm else "")
                print("| " + " | ".join(row) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
