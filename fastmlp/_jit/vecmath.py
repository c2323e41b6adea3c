"""Elementwise exp, log, log1p, tanh and sigmoid that LLVM vectorises, in float32 and float64.

Numba compiles ``math.tanh``, ``math.exp`` and friends to calls into the C library, one element at a time, and a
loop that calls a function is never vectorised: ``math.tanh`` over 480,000 float32 values takes 8.6 ms in a Numba
loop, ``np.tanh`` (SIMD) 0.24 ms. The functions here are arithmetic, selects and a few LLVM intrinsics (``fma``,
``rint``, ``fabs``, ``copysign``, bit casts), so a loop over them becomes SIMD code.

They are called from compiled code, like ``math.exp``: ``vecmath.exp(z)`` in a kernel picks the float32 or float64
implementation from the type of ``z`` while compiling, so float32 data stay float32, sixteen to a 512-bit register;
each implementation is compiled once per process and inlined by LLVM into the calling loop (:func:`_register_by_width`).
Called from Python they run :func:`evaluate`, so both give the same bits.

Method (the approach of Cephes, Eigen and SLEEF; the coefficients are this module's own, minimax fits for relative
error made by ``tools/fit_vecmath.py``):

exp
    ``x = n ln2 + r`` with ``n = rint(x / ln2)`` and ``|r| <= ln2 / 2``; ln2 in two parts (Cody and Waite), the
    first with enough trailing zero bits that ``n * ln2_hi`` is exact, so ``r`` is accurate with or without a
    fused multiply-add. ``e**r = 1 + r + r**2 P(r)`` with ``P`` of degree 4 (float32) or 9 (float64). ``2**n``
    is added to the exponent bits; in the subnormal range and next to overflow the scaling is split so that its
    one rounding happens in a final multiplication by a constant.
tanh, float32
    ``x P(x**2) / Q(x**2)``, degrees 5 and 4 in ``x**2`` (odd degree 11 over even degree 8), fitted on
    ``[0, 9.02]``; +-1 past 9.0109, where tanh rounds to 1. The fit is good to 2**-29; the 5 ulp near +-1 are
    the float32 rounding of its eleven multiply-adds and one division. An expm1-based float32 tanh (as float64's
    below) measured 2.4 ulp but 1.4 times the time, slower than ``np.tanh``.
tanh, float64
    A rational of that accuracy needs high degrees; instead ``tanh(|x|) = u / (u + 2)`` with ``u = expm1(2|x|)``:
    the exp reduction, ``expm1(r) = r + r**2 / 2 + r**3 Q(r)`` with ``Q`` of degree 9, and
    ``u = 2**n expm1(r) + (2**n - 1)`` in one fused multiply-add (exact for ``n = 0``, so tanh keeps its relative
    accuracy near 0). ``|x|`` is clamped to 20, past which tanh rounds to 1, and the sign copied back.
sigmoid
    ``e = exp(-|x|)`` is in (0, 1] and never overflows; ``1 / (1 + e)`` for ``x >= 0`` and ``e / (1 + e)`` below,
    one division either way, accurate also where the result is subnormal.
log, log1p
    ``x = 2**k m`` with ``m`` in ``[sqrt(1/2), sqrt(2))`` read from the bits (subnormals scaled up first), so
    ``f = m - 1`` is exact. ``log(1 + f) = f - s (f - s**2 T(s**2))`` with ``s = f / (2 + f)`` and ``T`` of degree
    2 (float32) or 6 (float64): the large term ``f`` is exact, and the rounded terms are at most a fifth of the
    result. log1p takes ``f = x`` itself when ``1 + x`` lies in that interval (nothing rounded), and elsewhere adds
    the rounding error of ``1 + x`` back as ``d / (1 + x)``.

Accuracy, from ``python -m bench.vecmath_accuracy``: the largest error in ulp over all 2**32 float32 arguments
and over 2e7 random float64 ones (against float64 and ``np.longdouble``), with FMA (x86-64 without FMA, over a
sample: within 0.5 ulp of these):

=========  =======  =======
function   float32  float64
=========  =======  =======
exp        1.01     1.01
log        0.95     1.18
log1p      1.34     1.46
tanh       5.15     2.49
sigmoid    2.40     2.11
=========  =======  =======

Why no branch and no table: a branch per element, a call or a gather keeps LLVM from vectorising a loop; special
cases (NaN, +-inf, +-0, negative arguments, overflow and underflow) are selects at the end. Polynomials and the
range reduction are explicit fused multiply-adds where the CPU has FMA, plain multiplications and additions where
it has none: either way the same operations run in a loop's SIMD body and in its scalar remainder, so a value gets
the same bits wherever it lies in an array, and ``FASTMLP_FASTMATH=1`` (whose ``reassoc`` and ``contract`` may
regroup plain arithmetic) cannot regroup them. Under that setting log1p may lose its ``d / (1 + x)`` correction
(``x - ((1 + x) - 1)`` folds to 0), costing an ulp or two; nothing else depends on how arithmetic is grouped.
"""

import platform

import llvmlite.binding as llvm
import numpy as np
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.core.imputils import lower_builtin
from numba.extending import intrinsic, overload, type_callable

from ._config import jit, subroutine_flags

_KERNEL_SALT = "95ae8010b7a9040c03630019dcd43a65fed4875d399efbbec15dc88c3c7e3004"

# Codes for evaluate(): which function to apply.
FN_EXP = 0
FN_LOG = 1
FN_LOG1P = 2
FN_TANH = 3
FN_SIGMOID = 4
FUNCTIONS = {"exp": FN_EXP, "log": FN_LOG, "log1p": FN_LOG1P, "tanh": FN_TANH, "sigmoid": FN_SIGMOID}

# Architectures whose every CPU has a fused multiply-add (x86-64 has it from Haswell and Piledriver on only).
_FMA_MACHINES = {"aarch64", "arm64", "ppc64le", "ppc64", "s390x", "riscv64"}


def _target_has_fma(context):
    """Whether the CPU that Numba compiles for (the host, or ``NUMBA_CPU_NAME``/``_FEATURES``) has an FMA."""
    if platform.machine().lower() in _FMA_MACHINES:
        return True
    try:
        features = context.codegen()._get_host_cpu_features()
    except AttributeError:  # pragma: no cover - a Numba without this private helper: ask LLVM about the host
        return bool(llvm.get_host_cpu_features().get("fma", False))
    return "+fma" in features.split(",")


def _is_float(t):
    return isinstance(t, types.Float) and t.bitwidth in (32, 64)


def _mul_add(builder, fused, a, b, c):
    """Emit ``a * b + c``: ``llvm.fma`` (one rounding) when ``fused``, else a multiplication and an addition."""
    if fused:
        ty = a.type
        fn = builder.module.declare_intrinsic("llvm.fma", [ty], ir.FunctionType(ty, [ty, ty, ty]))
        return builder.call(fn, [a, b, c])
    return builder.fadd(builder.fmul(a, b), c)


@intrinsic
def _fma(typingctx, a, b, c):
    """``a * b + c``, fused (one rounding) where the CPU has FMA, else multiplied then added."""
    if not (_is_float(a) and a == b == c):
        return None

    def codegen(context, builder, sig, args):
        return _mul_add(builder, _target_has_fma(context), *args)

    return a(a, b, c), codegen


@intrinsic
def _poly(typingctx, x, coeffs):
    """``coeffs[0] + coeffs[1] x + coeffs[2] x**2 + ...`` by Horner's rule, in :func:`_fma` steps, unrolled."""
    if not (_is_float(x) and isinstance(coeffs, types.UniTuple) and coeffs.dtype == x):
        return None

    # Estrin's scheme (shorter dependency chains, the same count of operations) measured no faster here: the loops
    # have independent elements enough to keep the FMA units busy either way.
    def codegen(context, builder, sig, args):
        xv, cv = args
        fused = _target_has_fma(context)
        p = builder.extract_value(cv, coeffs.count - 1)
        for i in range(coeffs.count - 2, -1, -1):
            p = _mul_add(builder, fused, p, xv, builder.extract_value(cv, i))
        return p

    return x(x, coeffs), codegen


@intrinsic
def _select(typingctx, cond, a, b):
    """``a if cond else b`` as one LLVM ``select``: no branch for the vectoriser to remove."""
    if not (isinstance(cond, types.Boolean) and _is_float(a) and a == b):
        return None

    def codegen(context, builder, sig, args):
        return builder.select(*args)

    return a(cond, a, b), codegen


@intrinsic
def _rint(typingctx, x):
    """``x`` rounded to the nearest integer, ties to even (``llvm.rint``: one ``vrndscaleps`` on x86)."""
    if not _is_float(x):
        return None

    def codegen(context, builder, sig, args):
        ty = args[0].type
        fn = builder.module.declare_intrinsic("llvm.rint", [ty], ir.FunctionType(ty, [ty]))
        return builder.call(fn, args)

    return x(x), codegen


@intrinsic
def _copysign(typingctx, magnitude, sign):
    """``magnitude`` with the sign bit of ``sign`` (``llvm.copysign``, which keeps -0.0)."""
    if not (_is_float(magnitude) and magnitude == sign):
        return None

    def codegen(context, builder, sig, args):
        ty = args[0].type
        fn = builder.module.declare_intrinsic("llvm.copysign", [ty], ir.FunctionType(ty, [ty, ty]))
        return builder.call(fn, args)

    return magnitude(magnitude, sign), codegen


def _mantissa_bits(float_type):
    return 23 if float_type.bitwidth == 32 else 52


@intrinsic
def _scale_exponent(typingctx, p, n):
    """``p * 2**n`` by adding ``n`` to the exponent bits of ``p``.

    Exact when ``p`` and the result are normal numbers and ``n`` is integral; the callers keep them so (a NaN
    ``n`` would make the conversion to an integer undefined).
    """
    if not (_is_float(p) and p == n):
        return None

    def codegen(context, builder, sig, args):
        ity = ir.IntType(sig.args[0].bitwidth)
        shift = builder.shl(builder.fptosi(args[1], ity), ir.Constant(ity, _mantissa_bits(sig.args[0])))
        return builder.bitcast(builder.add(builder.bitcast(args[0], ity), shift), args[0].type)

    return p(p, n), codegen


# The bits of sqrt(1/2): subtracting them moves the step of the exponent field from 1 to sqrt(1/2), so that the
# mantissa left over lies in [sqrt(1/2), sqrt(2)), centred on 1 where log(1 + f) is approximated.
_SQRT_HALF_BITS = {32: 0x3F3504F3, 64: 0x3FE6A09E667F3BCD}


@intrinsic
def _split_exponent(typingctx, x):
    """``(k, m)`` with ``x = 2**k m``, ``m`` in ``[sqrt(1/2), sqrt(2))`` and ``k`` integral.

    Valid for positive normal ``x``. Any other bit pattern gives some pair of finite numbers (integer arithmetic
    on the bits, nothing undefined), which the caller replaces.
    """
    if not _is_float(x):
        return None

    def codegen(context, builder, sig, args):
        fty = sig.args[0]
        ity = ir.IntType(fty.bitwidth)
        offset = ir.Constant(ity, _SQRT_HALF_BITS[fty.bitwidth])
        u = builder.sub(builder.bitcast(args[0], ity), offset)
        k = builder.sitofp(builder.ashr(u, ir.Constant(ity, _mantissa_bits(fty))), args[0].type)
        low = builder.and_(u, ir.Constant(ity, (1 << _mantissa_bits(fty)) - 1))
        m = builder.bitcast(builder.add(low, offset), args[0].type)
        return cgutils.make_anonymous_struct(builder, [k, m])

    return types.UniTuple(x, 2)(x), codegen


@intrinsic
def prefer_wide_vectors(typingctx):
    """Let LLVM vectorise the calling kernel's loops 512 bits wide on CPUs with AVX-512.

    LLVM vectorises 256 bits wide there by default (``prefer-vector-width``), a choice made against the clock
    slowdown that 512-bit instructions cost the first AVX-512 servers; the loops over this module's functions run
    1.3-1.5 times faster 512 bits wide on a Sapphire Rapids core (``python -m bench.elementwise``). It is a hint:
    a CPU without AVX-512 compiles at its own widest width. Call it once per kernel, outside the loops.

    llvmlite knows no string attributes, so this adds one to the function's attribute set directly; were llvmlite
    to change how it stores them, the hint would be skipped and the kernel stay correct, 256 bits wide.
    """

    def codegen(context, builder, sig, args):
        try:
            set.add(builder.function.attributes, '"prefer-vector-width"="512"')
        except TypeError:  # pragma: no cover - an llvmlite whose attribute sets are no longer sets
            pass
        return context.get_dummy_value()

    return types.none(), codegen


# Coefficients from tools/fit_vecmath.py, lowest degree first.
# fmt: off
_EXP_P32 = (  # e**r = 1 + r + r**2 P(r), |r| <= ln2 / 2: relative error 2**-28.3
    0.49999993443908951138, 0.16666520573474390687, 0.041668388723192976386, 0.0083687239446977036041,
    0.0013814584387662237296,
)
_EXP_P64 = (  # relative error 2**-57.9
    0.50000000000000106376, 0.16666666666666412264, 0.041666666666530050091, 0.008333333333494592489,
    0.0013888888943662819146, 0.00019841269506374602005, 0.000024801493061333433008, 2.7557586483185693286e-6,
    2.7630262938920746487e-7, 2.5000050483399252082e-8,
)
_EXPM1_Q64 = (  # expm1(r) = r + r**2 / 2 + r**3 Q(r), |r| <= ln2 / 2: relative error 2**-61.7
    0.16666666666666675798, 0.041666666666666577622, 0.0083333333333221497403, 0.0013888888888942703252,
    0.00019841269884971014982, 0.000024801587198171501984, 2.7557245262136623539e-6, 2.755738706072332116e-7,
    2.5108698695918901753e-8, 2.0878915920369171051e-9,
)
_TANH_P32 = (  # tanh(x) = x P(x**2) / Q(x**2), 0 <= x <= 9.02: relative error 2**-29.5
    0.99999999869090012217, 0.13679914709912405544, 0.003868327318213455512, 0.000028007451418010436962,
    3.0585008257129216113e-8, -1.2203458188767707424e-11,
)
_TANH_Q32 = (
    1.0, 0.47013246770290221705, 0.027245837183068622183, 0.00039386304053423964313, 1.2873661312924449942e-6,
)
_LOG_T32 = (  # 2 atanh(s) = 2 s + s z T(z), z = s**2 <= 0.0295 (log(1 + f), s = f / (2 + f)): 2**-30.2
    0.66666776419734573052, 0.39977528120362779819, 0.29872281072882594768,
)
_LOG_T64 = (  # 2**-59.5
    0.66666666666667346365, 0.39999999999412799396, 0.28571428742887942844, 0.22222198513814108505,
    0.18183567809068498207, 0.15313951725527553614, 0.14797031737939078245,
)
# fmt: on


class _Constants:
    """The constants of one dtype, held as values of that dtype: a float64 constant would promote float32 math."""

    def __init__(self, dtype, **values):
        for name, value in values.items():
            setattr(self, name, tuple(dtype(v) for v in value) if isinstance(value, tuple) else dtype(value))


# ln2 = ln2_hi + ln2_lo, ln2_hi rounded to 16 (float32) or 32 (float64) significant bits, so n * ln2_hi is exact for
# every n that the clamped arguments give (|n| < 2**8, 2**11). exp rounds to inf above ln(largest float) and to 0
# below ln(smallest subnormal / 2): exp_hi and exp_lo lie just past those, and clamping to them keeps n in the range
# that the exponent scaling handles. Past tiny_n the result is subnormal: the exponent is raised by tiny_shift
# first and the product scaled by tiny_scale; past huge_n one factor 2 is kept for the final product (which may
# then overflow to inf, correctly rounded).
_C32 = _Constants(
    np.float32, zero=0.0, one=1.0, two=2.0, inf=np.inf, nan=np.nan,
    log2e=1.4426950408889634, ln2_hi=0.693145751953125, ln2_lo=1.428606765330187e-06,
    exp_lo=-104.0, exp_hi=89.0, exp_p=_EXP_P32, tiny_n=-125.0, tiny_shift=64.0, tiny_scale=2.0**-64, huge_n=127.0,
    tanh_p=_TANH_P32, tanh_q=_TANH_Q32, tanh_sat=9.010913347279288,  # ln(2**26) / 2
    log_t=_LOG_T32, sqrt_half=0.7071067811865476, sqrt_two=1.4142135623730951,
    min_normal=2.0**-126, sub_shift=24.0, sub_scale=2.0**24,
)  # fmt: skip
_C64 = _Constants(
    np.float64, zero=0.0, one=1.0, two=2.0, half=0.5, inf=np.inf, nan=np.nan,
    log2e=1.4426950408889634, ln2_hi=0.6931471806019545, ln2_lo=-4.2009150726810846e-11,
    exp_lo=-746.0, exp_hi=710.0, exp_p=_EXP_P64, tiny_n=-1021.0, tiny_shift=128.0, tiny_scale=2.0**-128,
    huge_n=1023.0, expm1_q=_EXPM1_Q64, tanh_hi=20.0,
    log_t=_LOG_T64, sqrt_half=0.7071067811865476, sqrt_two=1.4142135623730951,
    min_normal=2.0**-1022, sub_shift=54.0, sub_scale=2.0**54,
)  # fmt: skip


def _make_exp(c):
    one, two, lo, hi, p_coeffs = c.one, c.two, c.exp_lo, c.exp_hi, c.exp_p
    log2e, ln2_hi, ln2_lo = c.log2e, c.ln2_hi, c.ln2_lo
    tiny_n, tiny_shift, tiny_scale, huge_n = c.tiny_n, c.tiny_shift, c.tiny_scale, c.huge_n

    def exp_impl(x):
        # NaN goes to lo with -inf (and comes back at the end): the integer steps must see finite values.
        xc = _select(x > lo, x, lo)
        xc = _select(xc < hi, xc, hi)
        n = _rint(xc * log2e)
        r = _fma(n, -ln2_hi, xc)
        r = _fma(n, -ln2_lo, r)
        p = _fma(r * r, _poly(r, p_coeffs), r) + one
        tiny = n < tiny_n
        huge = n > huge_n
        m = _select(tiny, n + tiny_shift, _select(huge, n - one, n))
        y = _scale_exponent(p, m) * _select(tiny, tiny_scale, _select(huge, two, one))
        return _select(x != x, x, y)

    return exp_impl


def _make_tanh_rational(c):
    one, sat, p_coeffs, q_coeffs = c.one, c.tanh_sat, c.tanh_p, c.tanh_q

    def tanh_impl(x):
        t = x * x
        r = x * _poly(t, p_coeffs) / _poly(t, q_coeffs)
        # Past sat the rational gives some rounding of 1 - 3e-8, and inf / inf once x * x overflows: +-1 instead.
        # NaN fails the comparison and stays NaN.
        return _select(abs(x) > sat, _copysign(one, x), r)

    return tanh_impl


def _make_tanh_expm1(c):
    one, two, half, log2e, ln2_hi, ln2_lo, q_coeffs, hi = (
        c.one, c.two, c.half, c.log2e, c.ln2_hi, c.ln2_lo, c.expm1_q, c.tanh_hi
    )  # fmt: skip

    def tanh_impl(x):
        a = abs(x)
        a = _select(a < hi, a, hi)  # NaN too: the exponent scaling needs a finite n
        y = a + a
        n = _rint(y * log2e)
        r = _fma(n, -ln2_hi, y)
        r = _fma(n, -ln2_lo, r)
        q = _fma(r * r, _fma(r, _poly(r, q_coeffs), half), r)  # expm1(r)
        s = _scale_exponent(one, n)
        u = _fma(s, q, s - one)  # expm1(2a) = 2**n (1 + q) - 1
        return _select(x != x, x, _copysign(u / (u + two), x))

    return tanh_impl


def _make_sigmoid(c):
    zero, one = c.zero, c.one

    def sigmoid_impl(x):
        e = exp(-abs(x))
        return _select(x >= zero, one, e) / (one + e)

    return sigmoid_impl


def _make_log1p_reduced(c):
    two, ln2_hi, ln2_lo, t_coeffs = c.two, c.ln2_hi, c.ln2_lo, c.log_t

    def log1p_reduced_impl(k, f):
        s = f / (two + f)
        z = s * s
        y = _fma(-s, _fma(-z, _poly(z, t_coeffs), f), f)
        return _fma(k, ln2_hi, _fma(k, ln2_lo, y))

    return log1p_reduced_impl


def _make_log(c):
    zero, one, inf, nan, min_normal, sub_shift, sub_scale = (
        c.zero, c.one, c.inf, c.nan, c.min_normal, c.sub_shift, c.sub_scale
    )  # fmt: skip

    def log_impl(x):
        sub = x < min_normal
        k, m = _split_exponent(_select(sub, x * sub_scale, x))
        y = _log1p_reduced(k - _select(sub, sub_shift, zero), m - one)
        y = _select(x == inf, x, y)
        y = _select(x == zero, -inf, y)
        return _select(x >= zero, y, nan)  # negative or NaN

    return log_impl


def _make_log1p(c):
    zero, one, inf, nan, sqrt_half, sqrt_two = c.zero, c.one, c.inf, c.nan, c.sqrt_half, c.sqrt_two

    def log1p_impl(x):
        w = one + x
        near = (w >= sqrt_half) & (w < sqrt_two)
        k, m = _split_exponent(w)
        y = _log1p_reduced(_select(near, zero, k), _select(near, x, m - one))
        # d = (1 + x) - w exactly (Fast2Sum, the larger operand first); log(w + d) = log(w) + d / w.
        d = _select(x > one, one - (w - x), x - (w - one))
        y = y + _select(near, zero, d / w)
        y = _select(x == zero, x, y)  # keeps -0.0
        y = _select(x == inf, x, y)
        y = _select(x == -one, -inf, y)
        return _select(x >= -one, y, nan)  # below -1 or NaN

    return log1p_impl


def _by_width(make):
    return {32: make(_C32), 64: make(_C64)}


_EXP = _by_width(_make_exp)
_TANH = {32: _make_tanh_rational(_C32), 64: _make_tanh_expm1(_C64)}
_SIGMOID = _by_width(_make_sigmoid)
_LOG1P_REDUCED = _by_width(_make_log1p_reduced)
_LOG = _by_width(_make_log)
_LOG1P = _by_width(_make_log1p)


def _log1p_reduced(k, f):
    """``k ln2 + log(1 + f)`` for integral ``k`` and ``1 + f`` in ``[sqrt(1/2), sqrt(2))``; compiled code only."""
    raise NotImplementedError("_log1p_reduced is only callable from compiled code")


@overload(_log1p_reduced, inline="always")
def _log1p_reduced_overload(k, f):
    if _is_float(f) and k == f:
        return _LOG1P_REDUCED[f.bitwidth]
    return None


def _from_python(code, x):
    """Run :func:`evaluate` on ``x`` (array or scalar, float32 or float64), returning the same shape and type.

    :func:`exp`, :func:`tanh`, :func:`sigmoid`, :func:`log` and :func:`log1p` take one float32 or float64 argument
    (from Python also an array) and return a result of its type; inside a compiled loop they vectorise.
    """
    x = np.asarray(x)
    if x.dtype not in (np.float32, np.float64):
        raise TypeError(f"fastmlp._jit.vecmath takes float32 or float64 values, got {x.dtype}")
    out = x.reshape(-1).copy()  # writable and C-contiguous: the one array type evaluate is compiled for
    evaluate(code, out, out)
    return out.reshape(x.shape)[()]


def exp(x):
    """Return ``e**x`` within about 1 ulp; inside a compiled loop, vectorised.

    Special values: ``exp(x)``: 0 for ``-inf`` and below the log of the smallest subnormal, ``inf`` for ``inf`` and
    past the overflow threshold, NaN for NaN; subnormal results are rounded once.
    """
    return _from_python(FN_EXP, x)


def tanh(x):
    """Return ``tanh(x)`` within a few ulp (5 in float32, 3 in float64); inside a compiled loop, vectorised.

    Special values: ``tanh(x)``: odd (``tanh(-0.0)`` is ``-0.0``), exactly ``+-1`` where tanh rounds to it and for
    ``+-inf``, NaN for NaN.
    """
    return _from_python(FN_TANH, x)


def sigmoid(x):
    """Return the logistic function ``1 / (1 + exp(-x))`` within a few ulp; inside a compiled loop, vectorised.

    Special values: ``sigmoid(x)`` in ``[0, 1]``, with no overflow on the way: 0 for ``-inf``, 1 for ``inf``, NaN
    for NaN, subnormal (not 0) for arguments near the bottom of the range.
    """
    return _from_python(FN_SIGMOID, x)


def log(x):
    """Return the natural logarithm of ``x`` within about 1 ulp; inside a compiled loop, vectorised.

    Special values: ``log(x)``: ``-inf`` for +-0, ``inf`` for ``inf``, NaN for negative arguments and NaN; subnormal
    arguments are handled.
    """
    return _from_python(FN_LOG, x)


def log1p(x):
    """Return ``log(1 + x)`` within a few ulp, also where ``1 + x`` rounds; inside a compiled loop, vectorised.

    Special values: ``log1p(x)``: ``x`` itself for tiny ``x`` (``-0.0`` kept), ``-inf`` at -1, NaN below -1 and for
    NaN, ``inf`` for ``inf``.
    """
    return _from_python(FN_LOG1P, x)


def _register_by_width(func, impls):
    """Type and lower ``func(x)`` in compiled code as a call, always inlined by LLVM, of ``impls[x.bitwidth]``.

    Each implementation is compiled once per process and dtype (Numba's ``compile_subroutine``) and linked into
    every kernel that calls it; the call carries ``alwaysinline``, so LLVM puts the arithmetic in the caller's loop,
    which it then vectorises. An ``overload(..., inline="always")`` gives the same machine code, but Numba types,
    inlines and lowers the implementation's IR again at every call site (a loop of exp: 0.25 s to compile, against
    0.14 s for a loop of multiplications), and the kernels have dozens of sites. Compiled once, they cut the demo's
    first run to 0.69 and 0.93 of its time in two measurements (``farm-bench``, 4 and 3 pairs).
    """

    @type_callable(func)
    def _type(context):
        def typer(x):
            return x if _is_float(x) else None

        return typer

    @lower_builtin(func, types.Float)
    def _lower(context, builder, sig, args):
        cres = context.compile_subroutine(builder, impls[sig.args[0].bitwidth], sig, flags=subroutine_flags())
        callee = context.declare_function(builder.module, cres.fndesc)
        status, result = context.call_conv.call_function(
            builder, callee, sig.return_type, sig.args, args, attrs=("alwaysinline",)
        )
        with cgutils.if_unlikely(builder, status.is_error):  # never taken: the implementations raise nothing
            context.call_conv.return_status_propagate(builder, status)
        return result


for _func, _impls in ((exp, _EXP), (tanh, _TANH), (sigmoid, _SIGMOID), (log, _LOG), (log1p, _LOG1P)):
    _register_by_width(_func, _impls)


@jit(inline=True)
def _apply(code, x, out):
    if code == FN_EXP:
        for i in range(x.shape[0]):
            out[i] = exp(x[i])
    elif code == FN_LOG:
        for i in range(x.shape[0]):
            out[i] = log(x[i])
    elif code == FN_LOG1P:
        for i in range(x.shape[0]):
            out[i] = log1p(x[i])
    elif code == FN_TANH:
        for i in range(x.shape[0]):
            out[i] = tanh(x[i])
    elif code == FN_SIGMOID:
        for i in range(x.shape[0]):
            out[i] = sigmoid(x[i])


@jit
def evaluate(code, x, out):
    """Write ``out = f(x)`` elementwise, for the function ``f`` named by ``code``: the array form of this module.

    Parameters
    ----------
    code : int
        One of the ``FN_*`` codes of this module.
    x : ndarray of shape (n,)
        Arguments, float32 or float64, C-contiguous.
    out : ndarray of shape (n,)
        Results, the dtype of ``x``, C-contiguous. Modified in place. May be ``x`` itself.

    Notes
    -----
    Unchecked preconditions: same length and dtype; ``out`` is ``x`` or does not overlap it. For the tests and
    benchmarks of these functions; the library's kernels call the scalar functions in their own loops.
    """
    prefer_wide_vectors()
    if x.ctypes.data == out.ctypes.data:
        _apply(code, out, out)  # one pointer: vectorised without the runtime overlap test an in-place call fails
    else:
        _apply(code, x, out)


@intrinsic
def add_reassociable(typingctx, total, x):
    """``total + x``, marked reassociable so that LLVM may vectorise a running sum of such additions.

    ``x`` is widened to the type of ``total`` (float32 terms into a float64 sum). With IEEE semantics a loop's
    running sum is one chain of dependent additions in a fixed order, which LLVM neither vectorises nor
    interleaves, and it then keeps every element's arithmetic scalar too, however vectorisable. The ``reassoc``
    flag on this one addition lets it keep a partial sum per vector lane and add the lanes up after the loop: a
    blocked summation, no less accurate than the sequential one, and the same on every call for the same shapes.
    Nothing else is relaxed (the library's fastmath policy is unchanged).
    """
    if not (_is_float(total) and _is_float(x) and x.bitwidth <= total.bitwidth):
        return None

    def codegen(context, builder, sig, args):
        addend = context.cast(builder, args[1], sig.args[1], sig.args[0])  # float32 terms into a float64 sum
        return builder.fadd(args[0], addend, flags=["reassoc"])

    return total(total, x), codegen
