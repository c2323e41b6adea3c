"""Register-blocked matrix products written in Numba, against the BLAS that fastmlp's kernels call.

Where a product is small, a call into the BLAS (its checks, its choice of kernel, its packing of operands) can
cost more than the arithmetic, and a kernel written for the shape could win. This module holds such a kernel and
times it against :func:`fastmlp._jit.blas.gemm` at the shapes fastmlp's training runs: the products of W1's
16-32-32-1 net on batches of 32 rows and of W4's 4-32-16-4 net on the blocks of rows a 10,000-row batch is trained in
(``fastmlp._jit.train.tile_rows``: 1,680 rows in float32, 840 in float64), and, for contrast, on all 10,000 rows at
once::

    python -m bench.smallgemm              # float32 and float64, one thread
    python -m bench.smallgemm --quick      # fewer shapes and repeats

The kernel: ``C <- alpha * op(A) @ B + beta * C`` for ``op(A) = A`` or ``A.T``, all three row-major. Each of up to
eight rows of ``C`` keeps one or two vectors of its columns in registers (LLVM vector values, the ``Vector`` type
below) while the rows of ``B`` stream past, each loaded once for all eight: 8 accumulators of 64 bytes (16 float32
or 8 float64 lanes) with AVX-512, else of 32 bytes. Written as loops over arrays, the same product gets no such
blocking from LLVM, which neither unrolls and jams the loop nest nor keeps ``C``'s entries in registers across the
inner loop (``C`` may alias the operands). A product over many rows (``A.T @ D``) is taken in blocks of 256.

It is not used by fastmlp: on the machine of the README's benchmark notes, OpenBLAS 0.3.34 was faster at all but one
of the shapes training runs, and that one within the noise. The script keeps the measurement repeatable on other
machines and BLAS builds.
"""

import argparse
import statistics
import time

import llvmlite.binding as llvm
import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic, models, register_model

import fastmlp
from fastmlp._jit.blas import gemm
from fastmlp._jit.train import tile_rows

try:
    VECTOR_BYTES = 64 if "+avx512f" in llvm.get_host_cpu_features().flatten() else 32
except RuntimeError:  # LLVM cannot read this processor's features
    VECTOR_BYTES = 32
ROWS_PER_BLOCK = 256


class Vector(types.Type):
    """An LLVM vector of ``lanes`` values of ``dtype``: a register, never stored in an array."""

    def __init__(self, dtype, lanes):
        self.dtype = dtype
        self.lanes = lanes
        super().__init__(name=f"Vector({dtype} x {lanes})")


@register_model(Vector)
class _VectorModel(models.PrimitiveModel):
    def __init__(self, dmm, fe_type):
        element = dmm.lookup(fe_type.dtype).get_value_type()
        super().__init__(dmm, fe_type, ir.VectorType(element, fe_type.lanes))


def _splat(builder, value, vector_type):
    """``value`` in every lane of an LLVM vector of ``vector_type``."""
    undefined = ir.Constant(vector_type, None)
    first = builder.insert_element(undefined, value, ir.Constant(ir.IntType(32), 0))
    zeros = ir.Constant(ir.VectorType(ir.IntType(32), vector_type.count), [0] * vector_type.count)
    return builder.shuffle_vector(first, undefined, zeros)


def _element_pointer(context, builder, array_type, array, index, index_type, vector_type):
    """``&array.flat[index]`` (``array`` C-contiguous) as a pointer to ``vector_type``."""
    data = cgutils.create_struct_proxy(array_type)(context, builder, value=array).data
    offset = context.cast(builder, index, index_type, types.intp)
    return builder.bitcast(builder.gep(data, [offset]), vector_type.as_pointer())


@intrinsic
def zeros_like_register(typingctx, array, width_bytes):
    """A vector of zeros of ``array``'s dtype, ``width_bytes`` (a literal) wide: 1 lane at least."""
    if not (isinstance(array, types.Array) and isinstance(width_bytes, types.IntegerLiteral)):
        return None
    vector = Vector(array.dtype, max(1, width_bytes.literal_value * 8 // array.dtype.bitwidth))

    def codegen(context, builder, sig, args):
        return ir.Constant(context.get_value_type(vector), None)

    return vector(array, width_bytes), codegen


@intrinsic
def lanes(typingctx, like):
    """The number of lanes of the vector ``like``, a compile-time constant."""
    if not isinstance(like, Vector):
        return None

    def codegen(context, builder, sig, args):
        return context.get_constant(types.intp, sig.args[0].lanes)

    return types.intp(like), codegen


@intrinsic
def load(typingctx, array, index, like):
    """The vector of ``like``'s type at ``array.flat[index:]`` (C-contiguous ``array``; no alignment assumed)."""
    if not (isinstance(array, types.Array) and array.layout == "C" and isinstance(like, Vector)):
        return None
    if array.dtype != like.dtype:
        return None

    def codegen(context, builder, sig, args):
        vector_type = context.get_value_type(sig.args[2])
        pointer = _element_pointer(context, builder, sig.args[0], args[0], args[1], sig.args[1], vector_type)
        return builder.load(pointer, align=context.get_abi_sizeof(vector_type.element))

    return like(array, index, like), codegen


@intrinsic
def store(typingctx, array, index, value):
    """Write the vector ``value`` to ``array.flat[index:]`` (C-contiguous ``array``)."""
    if not (isinstance(array, types.Array) and array.layout == "C" and isinstance(value, Vector)):
        return None
    if array.dtype != value.dtype:
        return None

    def codegen(context, builder, sig, args):
        vector_type = context.get_value_type(sig.args[2])
        pointer = _element_pointer(context, builder, sig.args[0], args[0], args[1], sig.args[1], vector_type)
        builder.store(args[2], pointer, align=context.get_abi_sizeof(vector_type.element))
        return context.get_dummy_value()

    return types.none(array, index, value), codegen


@intrinsic
def broadcast_element(typingctx, array, index, like):
    """``array.flat[index]`` in every lane of a vector of ``like``'s type; an index is never wrapped around.

    Indexing ``array[index]`` in Numba adds the array's length to a negative index, an extra compare and add per
    load that took a register per accumulator row here.
    """
    if not (isinstance(array, types.Array) and array.layout == "C" and isinstance(like, Vector)):
        return None
    if array.dtype != like.dtype:
        return None

    def codegen(context, builder, sig, args):
        element_type = context.get_value_type(sig.args[0].dtype)
        data = cgutils.create_struct_proxy(sig.args[0])(context, builder, value=args[0]).data
        pointer = builder.gep(data, [context.cast(builder, args[1], sig.args[1], types.intp)])
        value = builder.load(builder.bitcast(pointer, element_type.as_pointer()))
        return _splat(builder, value, context.get_value_type(sig.args[2]))

    return like(array, index, like), codegen


@intrinsic
def broadcast(typingctx, value, like):
    """A vector of ``like``'s type with ``value`` (converted to its dtype) in every lane."""
    if not (isinstance(like, Vector) and isinstance(value, (types.Float, types.Integer))):
        return None

    def codegen(context, builder, sig, args):
        scalar = context.cast(builder, args[0], sig.args[0], sig.args[1].dtype)
        return _splat(builder, scalar, context.get_value_type(sig.args[1]))

    return like(value, like), codegen


@intrinsic
def fma(typingctx, a, b, c):
    """``a * b + c`` lane by lane, rounded once (``llvm.fma``)."""
    if not (isinstance(a, Vector) and a == b == c):
        return None

    def codegen(context, builder, sig, args):
        vector_type = context.get_value_type(sig.args[0])
        bits = 32 if vector_type.element == ir.FloatType() else 64
        function_type = ir.FunctionType(vector_type, [vector_type] * 3)
        name = f"llvm.fma.v{vector_type.count}f{bits}"
        return builder.call(cgutils.get_or_insert_function(builder.module, function_type, name), list(args))

    return a(a, b, c), codegen


@intrinsic
def scale_add(typingctx, alpha, x, beta, y):
    """``alpha * x + beta * y`` lane by lane, for scalars ``alpha`` and ``beta``; ``y`` is ignored if ``beta`` is 0.

    With ``beta = 0`` the result is ``alpha * x`` whatever ``y`` holds (NaN included), as BLAS specifies for C.
    """
    if not (isinstance(x, Vector) and x == y):
        return None

    def codegen(context, builder, sig, args):
        vector = sig.args[1]
        vector_type = context.get_value_type(vector)
        alpha_ = _splat(builder, context.cast(builder, args[0], sig.args[0], vector.dtype), vector_type)
        beta_value = context.cast(builder, args[2], sig.args[2], vector.dtype)
        scaled = builder.fmul(alpha_, args[1])
        with_y = builder.fadd(scaled, builder.fmul(_splat(builder, beta_value, vector_type), args[3]))
        beta_is_zero = builder.fcmp_ordered("==", beta_value, ir.Constant(beta_value.type, 0.0))
        return builder.select(beta_is_zero, scaled, with_y)

    return x(alpha, x, beta, y), codegen


@njit
def _put(c, at, alpha, beta, x):
    """``C[at:at + lanes] <- alpha * x + beta * C[at:at + lanes]``, without reading C when ``beta`` is 0."""
    if beta == 0.0:
        store(c, at, scale_add(alpha, x, beta, x))
    else:
        store(c, at, scale_add(alpha, x, beta, load(c, at, x)))


@njit
def _store_rows(c, at, ldc, rows, alpha, beta, x0, x1, x2, x3, x4, x5, x6, x7):
    """Write ``alpha * x_r + beta * C`` to the first ``rows`` of eight rows of ``C`` starting at ``c[at]``."""
    _put(c, at, alpha, beta, x0)
    if rows > 1:
        _put(c, at + ldc, alpha, beta, x1)
    if rows > 2:
        _put(c, at + 2 * ldc, alpha, beta, x2)
    if rows > 3:
        _put(c, at + 3 * ldc, alpha, beta, x3)
    if rows > 4:
        _put(c, at + 4 * ldc, alpha, beta, x4)
    if rows > 5:
        _put(c, at + 5 * ldc, alpha, beta, x5)
    if rows > 6:
        _put(c, at + 6 * ldc, alpha, beta, x6)
    if rows > 7:
        _put(c, at + 7 * ldc, alpha, beta, x7)


@njit(inline="always")
def _one_vector_block(a, a_at, row_step, inner_step, rows, b, b_at, ldb, count, c, c_at, ldc, alpha, beta, zero):
    """One vector of columns of the first ``rows`` (<= 8) of eight rows of ``C`` from ``c[c_at]`` on.

    ``C[r] <- alpha * sum_p a[a_at + r * row_step + p * inner_step] * b[b_at + p * ldb:][:lanes] + beta * C[r]``
    over ``count`` terms ``p``. Rows past ``rows`` read the last valid row of A (no read out of bounds) and are not
    written.
    """
    r1 = a_at + min(1, rows - 1) * row_step
    r2 = a_at + min(2, rows - 1) * row_step
    r3 = a_at + min(3, rows - 1) * row_step
    r4 = a_at + min(4, rows - 1) * row_step
    r5 = a_at + min(5, rows - 1) * row_step
    r6 = a_at + min(6, rows - 1) * row_step
    r7 = a_at + min(7, rows - 1) * row_step
    x0 = x1 = x2 = x3 = x4 = x5 = x6 = x7 = zero
    for p in range(count):
        bv = load(b, b_at + p * ldb, zero)
        o = p * inner_step
        x0 = fma(broadcast_element(a, a_at + o, zero), bv, x0)
        x1 = fma(broadcast_element(a, r1 + o, zero), bv, x1)
        x2 = fma(broadcast_element(a, r2 + o, zero), bv, x2)
        x3 = fma(broadcast_element(a, r3 + o, zero), bv, x3)
        x4 = fma(broadcast_element(a, r4 + o, zero), bv, x4)
        x5 = fma(broadcast_element(a, r5 + o, zero), bv, x5)
        x6 = fma(broadcast_element(a, r6 + o, zero), bv, x6)
        x7 = fma(broadcast_element(a, r7 + o, zero), bv, x7)
    _store_rows(c, c_at, ldc, rows, alpha, beta, x0, x1, x2, x3, x4, x5, x6, x7)


@njit(inline="always")
def _two_vector_block(a, a_at, row_step, inner_step, rows, b, b_at, ldb, count, c, c_at, ldc, alpha, beta, zero):
    """:func:`_one_vector_block` for two vectors of columns and at most 4 rows: 8 accumulators again."""
    width = lanes(zero)
    r1 = a_at + min(1, rows - 1) * row_step
    r2 = a_at + min(2, rows - 1) * row_step
    r3 = a_at + min(3, rows - 1) * row_step
    x0 = x1 = x2 = x3 = y0 = y1 = y2 = y3 = zero
    for p in range(count):
        bx = load(b, b_at + p * ldb, zero)
        by = load(b, b_at + p * ldb + width, zero)
        o = p * inner_step
        s = broadcast_element(a, a_at + o, zero)
        x0 = fma(s, bx, x0)
        y0 = fma(s, by, y0)
        s = broadcast_element(a, r1 + o, zero)
        x1 = fma(s, bx, x1)
        y1 = fma(s, by, y1)
        s = broadcast_element(a, r2 + o, zero)
        x2 = fma(s, bx, x2)
        y2 = fma(s, by, y2)
        s = broadcast_element(a, r3 + o, zero)
        x3 = fma(s, bx, x3)
        y3 = fma(s, by, y3)
    rows_ = min(rows, 4)
    _store_rows(c, c_at, ldc, rows_, alpha, beta, x0, x1, x2, x3, x0, x0, x0, x0)
    _store_rows(c, c_at + width, ldc, rows_, alpha, beta, y0, y1, y2, y3, y0, y0, y0, y0)


# Each of these compiles once per vector type (Numba inlining them at every call site took 90 s to compile) and
# loops over all the rows of C itself, so that one call covers a whole strip of columns.
@njit
def _one_vector(a, a_at, row_step, inner_step, rows, b, b_at, ldb, count, c, c_at, ldc, alpha, beta, zero):
    """:func:`_one_vector_block` for all ``rows`` rows of C, eight at a time."""
    for r in range(0, rows, 8):
        _one_vector_block(a, a_at + r * row_step, row_step, inner_step, min(8, rows - r), b, b_at, ldb, count, c,
                          c_at + r * ldc, ldc, alpha, beta, zero)  # fmt: skip


@njit
def _two_vectors(a, a_at, row_step, inner_step, rows, b, b_at, ldb, count, c, c_at, ldc, alpha, beta, zero):
    """:func:`_two_vector_block` for all ``rows`` rows of C, four at a time."""
    for r in range(0, rows, 4):
        _two_vector_block(a, a_at + r * row_step, row_step, inner_step, min(4, rows - r), b, b_at, ldb, count, c,
                          c_at + r * ldc, ldc, alpha, beta, zero)  # fmt: skip


@njit
def _strips(a, a_at, row_step, inner_step, rows, b, b_at, ldb, count, c, c_at, ldc, n, alpha, beta):
    """All ``n`` columns of ``rows`` rows of ``C``: strips two vectors wide, then one, then narrower ones."""
    full = zeros_like_register(a, VECTOR_BYTES)
    quarter = zeros_like_register(a, 16)
    single = zeros_like_register(a, 1)
    width = lanes(full)
    j = 0
    while j + 2 * width <= n:
        _two_vectors(a, a_at, row_step, inner_step, rows, b, b_at + j, ldb, count, c, c_at + j, ldc, alpha, beta, full)
        j += 2 * width
    if j + width <= n:
        _one_vector(a, a_at, row_step, inner_step, rows, b, b_at + j, ldb, count, c, c_at + j, ldc, alpha, beta, full)
        j += width
    step = lanes(quarter)
    while j + step <= n:
        _one_vector(a, a_at, row_step, inner_step, rows, b, b_at + j, ldb, count, c, c_at + j, ldc, alpha, beta,
                    quarter)  # fmt: skip
        j += step
    while j < n:
        _one_vector(a, a_at, row_step, inner_step, rows, b, b_at + j, ldb, count, c, c_at + j, ldc, alpha, beta,
                    single)  # fmt: skip
        j += 1


@njit(cache=True, error_model="numpy")
def blocked_product(A, transpose_a, B, alpha, beta, C):
    """``C <- alpha * op(A) @ B + beta * C``; ``op(A)`` is ``A.T`` if ``transpose_a``. C-contiguous 2-D arrays.

    With ``beta = 0``, ``C``'s values are ignored (NaN included), as BLAS specifies. ``C`` must not overlap ``A`` or
    ``B``. Raises ValueError for arrays that are not C-contiguous or whose shapes do not match (the vector loads and
    stores are not bounds-checked, not even under ``NUMBA_BOUNDSCHECK``).
    """
    if not (A.flags.c_contiguous and B.flags.c_contiguous and C.flags.c_contiguous):
        raise ValueError("blocked_product: A, B and C must be C-contiguous")
    m, k = A.shape
    inner, rows = (m, k) if transpose_a else (k, m)
    n = B.shape[1]
    if B.shape[0] != inner or C.shape[0] != rows or C.shape[1] != n:
        raise ValueError("blocked_product: the shapes of op(A), B and C do not match")
    a, b, c = A.ravel(), B.ravel(), C.ravel()
    if inner == 0 or rows == 0 or n == 0:  # an empty sum: C <- beta * C
        for t in range(c.shape[0]):
            c[t] = 0.0 if beta == 0.0 else beta * c[t]
        return
    if not transpose_a:  # C (m, n) = A (m, k) @ B (k, n)
        _strips(a, 0, k, 1, m, b, 0, n, k, c, 0, n, n, alpha, beta)
        return
    # C (k, n) = A.T @ B (m, n), in blocks of rows of A and B
    for start in range(0, m, ROWS_PER_BLOCK):
        count = min(ROWS_PER_BLOCK, m - start)
        block_beta = beta if start == 0 else 1.0
        _strips(a, start * k, 1, k, k, b, start * n, n, count, c, 0, n, n, alpha, block_beta)


@njit(cache=True)
def _blas_loop(A, transpose_a, B, C, reps):
    for _ in range(reps):
        gemm(A, transpose_a, B, False, 1.0, 0.0, C)


@njit(cache=True)
def _blocked_loop(A, transpose_a, B, C, reps):
    for _ in range(reps):
        blocked_product(A, transpose_a, B, 1.0, 0.0, C)


BLOCK = "block"


def block_rows(dtype):
    """The rows per block that training takes W4's 4-32-16-4 net in (1,680 in float32, 840 in float64)."""
    sizes = np.array([4, 32, 16, 4], np.int64)
    return int(tile_rows(sizes, np.concatenate(([0], np.cumsum(sizes[1:]))), np.dtype(dtype).itemsize))


# (label, product, rows, k, n), where rows BLOCK is block_rows(dtype): the forward A @ W and the input delta D @ W.T
# (both "nn": fastmlp multiplies by a transposed copy of a small W) and the weight gradient A.T @ D ("tn").
SHAPES = [
    ("W1", "nn", 32, 16, 32), ("W1", "nn", 32, 32, 32), ("W1", "nn", 32, 32, 1), ("W1", "nn", 32, 1, 32),
    ("W1", "tn", 32, 16, 32), ("W1", "tn", 32, 32, 32), ("W1", "tn", 32, 32, 1),
    ("W4 block", "nn", BLOCK, 4, 32), ("W4 block", "nn", BLOCK, 32, 16), ("W4 block", "nn", BLOCK, 16, 4),
    ("W4 block", "nn", BLOCK, 4, 16), ("W4 block", "nn", BLOCK, 16, 32),
    ("W4 block", "tn", BLOCK, 4, 32), ("W4 block", "tn", BLOCK, 32, 16), ("W4 block", "tn", BLOCK, 16, 4),
    ("all rows", "nn", 10000, 4, 32), ("all rows", "nn", 10000, 32, 16), ("all rows", "tn", 10000, 4, 32),
    ("all rows", "tn", 10000, 32, 16),
]  # fmt: skip


def measure(shapes=SHAPES, dtypes=("float32", "float64"), rounds=7, seconds=0.02):
    """``{(dtype, label, product, rows, k, n): (BLAS seconds, blocked seconds, relative error)}``, medians.

    The two take turns within each round, so that a change in the machine's load touches both alike. The error is
    the blocked kernel's largest difference from a float64 NumPy product, relative to that product's largest value.
    """
    rng = np.random.default_rng(0)
    out = {}
    for dtype in dtypes:
        for label, product, m, k, n in shapes:
            m = block_rows(dtype) if m == BLOCK else m
            transpose = product == "tn"
            A = rng.standard_normal((m, k)).astype(dtype)
            B = rng.standard_normal((m, n) if transpose else (k, n)).astype(dtype)
            C = np.full((k, n) if transpose else (m, n), np.nan, dtype)
            exact = (A.T if transpose else A).astype(np.float64) @ B.astype(np.float64)
            blocked_product(A, transpose, B, 1.0, 0.0, C)
            error = float(np.abs(C - exact).max() / np.abs(exact).max())
            _blas_loop(A, transpose, B, C, 1)
            start = time.perf_counter()
            _blas_loop(A, transpose, B, C, 10)
            reps = max(1, int(seconds / max((time.perf_counter() - start) / 10, 1e-8)))
            blas, blocked = [], []
            for _ in range(rounds):
                start = time.perf_counter()
                _blas_loop(A, transpose, B, C, reps)
                blas.append((time.perf_counter() - start) / reps)
                start = time.perf_counter()
                _blocked_loop(A, transpose, B, C, reps)
                blocked.append((time.perf_counter() - start) / reps)
            out[(dtype, label, product, m, k, n)] = (statistics.median(blas), statistics.median(blocked), error)
    return out


def main(argv=None):
    """Print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="three shapes, float32, few repeats (a smoke run)")
    args = parser.parse_args(argv)
    info = fastmlp.blas_info()
    print(f"BLAS: {info['library']} ({info['version']}); vectors of {VECTOR_BYTES} bytes; one thread")
    shapes, dtypes, rounds = (SHAPES[:1] + SHAPES[7:9], ("float32",), 3) if args.quick else (SHAPES, None, 7)
    results = measure(shapes, dtypes or ("float32", "float64"), rounds=rounds, seconds=0.002 if args.quick else 0.02)
    print("dtype    shape     product  rows x k x n     BLAS us  blocked us  blocked/BLAS  rel. error")
    for (dtype, label, product, m, k, n), (blas, blocked, error) in results.items():
        size = f"{m}x{k}x{n}"
        print(f"{dtype:8s} {label:9s} {product:8s} {size:14s} {blas * 1e6:9.2f} {blocked * 1e6:11.2f} "
              f"{blocked / blas:13.2f}  {error:.1e}")  # fmt: skip


if __name__ == "__main__":
    main()
