"""Fit the polynomial and rational coefficients of ``fastmlp/_jit/vecmath.py`` (minimax for relative error).

Remez's exchange algorithm in mpmath at 60 digits: solve for the approximation that equioscillates on a set of
points, move the points to the extrema of the new error curve, repeat. The weight makes the minimised quantity the
relative error of the whole function, not of the fitted part, so the fixed leading terms (``1 + r`` of exp, ``f``
of log) are accounted for. Each fit prints its coefficients (lowest degree first) and ``log2`` of the error; the
rounding to float32 and the evaluation in it add the rest, which ``tests/test_vecmath.py`` and
``python -m bench.vecmath_accuracy`` measure.

Usage: ``python tools/fit_vecmath.py`` (needs mpmath; a few seconds).
"""

import mpmath as mp

mp.mp.dps = 60


def _polyval(coeffs, x):
    p = mp.mpf(0)
    for c in reversed(coeffs):
        p = p * x + c
    return p


def _alternating_extrema(xs, errors, count):
    """Indices of the largest |error| in each run of one sign, trimmed to ``count`` from the smaller end."""
    runs, run = [], []
    for j, e in enumerate(errors):
        if e == 0:
            continue
        if run and (e > 0) != (errors[run[0]] > 0):
            runs.append(run)
            run = []
        run.append(j)
    runs.append(run)
    picked = [max(r, key=lambda j: abs(errors[j])) for r in runs]
    while len(picked) > count:
        picked.pop(0 if abs(errors[picked[0]]) < abs(errors[picked[-1]]) else -1)
    return picked


def remez(h, weight, a, b, n_num, n_den=0, iterations=60, grid=2000):
    """Return ``(p, q, error)``: the coefficients of the minimax ``P / Q`` and its error.

    ``P`` of degree ``n_num`` and ``Q`` of degree ``n_den`` with ``q[0] = 1`` minimise
    ``max |weight(x) (h(x) - P(x) / Q(x))|`` on ``[a, b]``.
    """
    n_points = n_num + n_den + 2
    xs = [a + (b - a) * (1 - mp.cos(mp.pi * mp.mpf(i) / grid)) / 2 for i in range(grid + 1)]
    hs = [h(x) for x in xs]
    ws = [weight(x) for x in xs]
    points = [a + (b - a) * (1 - mp.cos(mp.pi * (i + mp.mpf(1) / 2) / n_points)) / 2 for i in range(n_points)]
    # A weight that vanishes at an end (x = 0 for exp's r**2 P(r)) would make the first system singular.
    points = [x if abs(weight(x)) > mp.mpf("1e-8") * abs(weight(b)) else x + (b - a) / 50 for x in points]
    q = [mp.mpf(1)] + [mp.mpf(0)] * n_den
    best = None
    for _ in range(iterations):
        # The system is linear in p, q and the levelled error E once E * Q(x) is taken from the previous Q.
        for _ in range(8 if n_den else 1):
            A = mp.matrix(n_points, n_points)
            rhs = mp.matrix(n_points, 1)
            for i, x in enumerate(points):
                hx = h(x)
                for k in range(n_num + 1):
                    A[i, k] = x**k
                for k in range(1, n_den + 1):
                    A[i, n_num + k] = -hx * x**k
                A[i, n_points - 1] = (-1) ** i * _polyval(q, x) / weight(x)
                rhs[i] = hx
            solution = mp.lu_solve(A, rhs)
            p = [solution[k] for k in range(n_num + 1)]
            q = [mp.mpf(1)] + [solution[n_num + k] for k in range(1, n_den + 1)]
        errors = [ws[i] * (hs[i] - _polyval(p, x) / _polyval(q, x)) for i, x in enumerate(xs)]
        worst = max(abs(e) for e in errors)
        if best is None or worst < best[2]:
            best = (p, q, worst)
        picked = _alternating_extrema(xs, errors, n_points)
        if len(picked) < n_points or [xs[j] for j in picked] == points:
            break
        points = [xs[j] for j in picked]
    return best


def fits():
    """Yield ``(name, p, q, error)`` for every approximation in vecmath."""
    half_ln2 = mp.log(2) / 2 * mp.mpf("1.0002")  # the margin covers n = rint(x / ln2) computed in floating point

    def exp_part(r):  # e**r = 1 + r + r**2 P(r)
        return mp.mpf(1) / 2 + r / 6 if abs(r) < mp.mpf("1e-25") else (mp.exp(r) - 1 - r) / r**2

    for name, degree in (("_EXP_P32", 4), ("_EXP_P64", 9)):
        yield (name, *remez(exp_part, lambda r: r**2 / mp.exp(r), -half_ln2, half_ln2, degree))

    def expm1_part(r):  # expm1(r) = r + r**2 / 2 + r**3 Q(r)
        return mp.mpf(1) / 6 + r / 24 if abs(r) < mp.mpf("1e-25") else (mp.expm1(r) - r - r**2 / 2) / r**3

    yield ("_EXPM1_Q64", *remez(expm1_part, lambda r: r**3 / mp.expm1(r), -half_ln2, half_ln2, 9))

    def tanh_over_x(t):  # tanh(x) / x as a function of t = x**2
        return 1 - t / 3 if t < mp.mpf("1e-30") else mp.tanh(mp.sqrt(t)) / mp.sqrt(t)

    yield ("_TANH_P32/_TANH_Q32", *remez(tanh_over_x, lambda t: 1 / tanh_over_x(t), 0, mp.mpf("9.02") ** 2, 5, 4))

    s_max = (mp.sqrt(2) - 1) / (mp.sqrt(2) + 1)

    def log_part(z):  # 2 atanh(s) = 2 s + s z T(z), z = s**2
        s = mp.sqrt(z)
        return mp.mpf(2) / 3 + 2 * z / 5 if z < mp.mpf("1e-30") else (2 * mp.atanh(s) / s - 2) / z

    def log_weight(z):
        s = mp.sqrt(z)
        return s * z / (2 * mp.atanh(s)) if z > 0 else mp.mpf(0)

    for name, degree in (("_LOG_T32", 2), ("_LOG_T64", 6)):
        yield (name, *remez(log_part, log_weight, 0, s_max**2 * mp.mpf("1.001"), degree))


def main():
    """Print every fit."""
    for name, p, q, error in fits():
        print(f"{name}: relative error 2**{float(mp.log(error, 2)):.1f}")
        print("  P:", ", ".join(mp.nstr(c, 20) for c in p))
        if len(q) > 1:
            print("  Q:", ", ".join(mp.nstr(c, 20) for c in q))


if __name__ == "__main__":
    main()
