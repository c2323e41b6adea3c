"""Accuracy of fastmlp's vectorised exp, log, log1p, tanh and sigmoid (``fastmlp._jit.vecmath``), in ulp.

float32: every one of the 2**32 bit patterns (``--stride N`` takes every Nth), against NumPy in float64, whose
error is a billionth of a float32 ulp. float64: random arguments (uniform bit patterns, which cover every binade,
plus uniform and log-uniform ones in each function's busy range), against NumPy in ``np.longdouble`` (x86's
80-bit format: 2**-11 of a float64 ulp); skipped where longdouble is no wider than float64. The error is
``|result - exact| / ulp(exact rounded to the dtype)``, ulp of subnormals the smallest subnormal; a NaN or an
infinity counts as exact only where the reference rounds to the same. Prints one row per function and dtype::

    python -m bench.vecmath_accuracy                      # everything (a few minutes)
    python -m bench.vecmath_accuracy --stride 101 --f64-samples 1000000   # a quick look
"""

import argparse
import time

import numpy as np

from fastmlp._jit import vecmath

__all__ = ["float32_arguments", "float64_arguments", "main", "reference", "ulp_error"]

_REFERENCES = {
    "exp": np.exp,
    "log": np.log,
    "log1p": np.log1p,
    "tanh": np.tanh,
    "sigmoid": lambda x: 1 / (1 + np.exp(-x)),
}

SPECIALS = [0.0, -0.0, np.inf, -np.inf, np.nan, 1.0, -1.0, 0.5, -0.5]


def reference(name, x):
    """The exact value of ``name(x)`` as far as a wider float type gives it (float64 for float32 arguments)."""
    wide = np.float64 if x.dtype == np.float32 else np.longdouble
    with np.errstate(all="ignore"):
        return _REFERENCES[name](x.astype(wide))


def ulp_error(result, exact, dtype):
    """``|result - exact|`` in ulp of ``exact`` rounded to ``dtype``; 0 where both are the same NaN or inf."""
    with np.errstate(all="ignore"):
        rounded = exact.astype(dtype)
        same_special = (np.isnan(result) & np.isnan(rounded)) | (np.isinf(result) & (result == rounded))
        unit = np.maximum(np.spacing(np.abs(rounded)), np.finfo(dtype).smallest_subnormal).astype(exact.dtype)
        error = np.abs(result.astype(exact.dtype) - exact) / unit
    error[same_special] = 0.0
    error[np.isnan(error)] = np.inf  # a NaN or inf where the reference has a number, or the other way round
    return error


def float32_arguments(start, stop, step=1):
    """The float32 values whose bit patterns are ``range(start, stop, step)``."""
    return np.arange(start, stop, step, dtype=np.uint64).astype(np.uint32).view(np.float32)


def float64_arguments(name, n, seed=0):
    """``n``-ish random float64 arguments for ``name``, with the special values appended."""
    rng = np.random.default_rng(seed)
    k = max(n // 4, 1)
    wide = {"exp": 800.0, "log": 1e300, "log1p": 4.0, "tanh": 25.0, "sigmoid": 800.0}[name]
    parts = [
        rng.integers(0, 2**64, size=k, dtype=np.uint64).view(np.float64),  # every binade
        rng.uniform(-wide, wide, size=k),
        np.exp(rng.uniform(-745.0, 6.0, size=k)) * rng.choice([-1.0, 1.0], size=k),  # tiny to moderate
        rng.uniform(-1.0, 2.0, size=k) if name == "log1p" else rng.uniform(0.0, 3.0, size=k),
    ]
    return np.concatenate(parts + [np.array(SPECIALS + [5e-324, -5e-324, 2.2250738585072014e-308])])


def evaluate(name, x):
    """``name(x)`` by the compiled kernel (x is copied: evaluate takes writable C-contiguous arrays only)."""
    out = np.ascontiguousarray(x).copy()
    vecmath.evaluate(vecmath.FUNCTIONS[name], out, out)
    return out


def _worst(name, x, dtype):
    error = ulp_error(evaluate(name, x), reference(name, x), dtype)
    i = int(np.argmax(error))
    return float(error[i]), x[i], int((error > 1).sum()), x.size


def main(argv=None):
    """Measure and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--functions", nargs="+", default=list(vecmath.FUNCTIONS), choices=list(vecmath.FUNCTIONS))
    parser.add_argument("--stride", type=int, default=1, help="float32: every Nth bit pattern (1: all 2**32)")
    parser.add_argument("--f64-samples", type=int, default=20_000_000)
    args = parser.parse_args(argv)
    print("| function | dtype | arguments | max error (ulp) | at x | share over 1 ulp | seconds |")
    print("|---|---|---|---|---|---|---|")
    chunk = 1 << 24
    for name in args.functions:
        start = time.perf_counter()
        worst, at, over, total = 0.0, 0.0, 0, 0
        for lo in range(0, 1 << 32, chunk * args.stride):
            x = float32_arguments(lo, min(lo + chunk * args.stride, 1 << 32), args.stride)
            w, a, o, t = _worst(name, x, np.float32)
            if w >= worst:
                worst, at = w, a
            over, total = over + o, total + t
        what = "all 2**32" if args.stride == 1 else f"every {args.stride}th of 2**32"
        print(f"| {name} | float32 | {what} | {worst:.3f} | {at!r} | {over / total:.2e} | "
              f"{time.perf_counter() - start:.0f} |")  # fmt: skip
        if np.finfo(np.longdouble).nmant <= np.finfo(np.float64).nmant:
            print(f"| {name} | float64 | skipped: np.longdouble is no wider than float64 here | | | | |")
            continue
        start = time.perf_counter()
        x = float64_arguments(name, args.f64_samples)
        worst, at, over, total = _worst(name, x, np.float64)
        print(f"| {name} | float64 | {total:,} random | {worst:.3f} | {at!r} | {over / total:.2e} | "
              f"{time.perf_counter() - start:.0f} |")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
