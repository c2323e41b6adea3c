"""Views of one layer inside the flat parameter vector and the flat workspace buffers.

Layer ``k`` (0-based) maps ``A_k`` of width ``sizes[k]`` to ``A_{k+1}`` of width ``sizes[k + 1]``. Its weights
``W_k`` of shape ``(sizes[k], sizes[k + 1])`` start at ``woff[k]`` in ``params`` (row-major) and its bias of length
``sizes[k + 1]`` at ``boff[k]``. For a batch of ``m`` rows, the layer's outputs occupy
``buf[m * aoff[k] : m * aoff[k + 1]]`` of a workspace buffer (Z, A or delta), row-major with shape
``(m, sizes[k + 1])``; ``aoff`` is the cumulative sum of the layer widths, starting at 0.

Every view is a C-contiguous 2-D array of the buffer's dtype, so the BLAS (:mod:`.blas`) can write into it
directly and every view has the same Numba type as an input batch. The views are built by :func:`matrix_view`,
which only fills in an array header: ``buf[a:b].reshape(...)`` costs about 27 ns in Numba (a call into its reshape
helper), and a training step of a small network takes some 30 views, a tenth of its time.
"""

from numba import types
from numba.core import cgutils
from numba.core.imputils import impl_ret_borrowed
from numba.extending import intrinsic
from numba.np.arrayobj import make_array, populate_array

from ._config import jit

_KERNEL_SALT = "95ae8010b7a9040c03630019dcd43a65fed4875d399efbbec15dc88c3c7e3004"


def _view_codegen(context, builder, source_type, source_value, view_type, start, shape):
    """Build a C-contiguous ``view_type`` header over ``source_value``'s memory from element ``start`` on."""
    source = make_array(source_type)(context, builder, source_value)
    view = make_array(view_type)(context, builder)
    itemsize = context.get_constant(types.intp, context.get_abi_sizeof(context.get_data_type(source_type.dtype)))
    strides = [itemsize]
    for extent in reversed(shape[1:]):
        strides.insert(0, builder.mul(extent, strides[0]))
    populate_array(
        view,
        data=builder.gep(source.data, [start]),
        shape=cgutils.pack_array(builder, shape),
        strides=cgutils.pack_array(builder, strides),
        itemsize=itemsize,
        meminfo=source.meminfo,
    )
    return impl_ret_borrowed(context, builder, view_type, view._getvalue())


@intrinsic
def _matrix_header(typingctx, buf, start, rows, cols):
    """The ``(rows, cols)`` C-contiguous array whose data start at ``buf[start]``, sharing ``buf``'s memory."""
    if not (isinstance(buf, types.Array) and buf.ndim == 1 and buf.layout == "C"):
        return None
    view_type = types.Array(buf.dtype, 2, "C", readonly=not buf.mutable, aligned=buf.aligned)

    def codegen(context, builder, sig, args):
        start_, rows_, cols_ = (
            context.cast(builder, value, typ, types.intp) for value, typ in zip(args[1:], sig.args[1:], strict=True)
        )
        return _view_codegen(context, builder, sig.args[0], args[0], view_type, start_, [rows_, cols_])

    return view_type(buf, start, rows, cols), codegen


@intrinsic
def _flat_header(typingctx, matrix):
    """The 1-D array of every element of the C-contiguous 2-D ``matrix``, sharing its memory."""
    if not (isinstance(matrix, types.Array) and matrix.ndim == 2 and matrix.layout == "C"):
        return None
    view_type = types.Array(matrix.dtype, 1, "C", readonly=not matrix.mutable, aligned=matrix.aligned)

    def codegen(context, builder, sig, args):
        shape = cgutils.unpack_tuple(builder, make_array(sig.args[0])(context, builder, args[0]).shape)
        size = builder.mul(shape[0], shape[1])
        zero = context.get_constant(types.intp, 0)
        return _view_codegen(context, builder, sig.args[0], args[0], view_type, zero, [size])

    return view_type(matrix), codegen


def _unowned_codegen(context, builder, array_type, value):
    # No impl_ret_*: with a NULL owner, Numba's reference counting of the alias does nothing.
    source = make_array(array_type)(context, builder, value)
    alias = make_array(array_type)(context, builder)
    populate_array(
        alias, data=source.data, shape=source.shape, strides=source.strides, itemsize=source.itemsize, meminfo=None
    )
    return alias._getvalue()


@intrinsic
def unowned(typingctx, arrays):
    """The same array (or tuple of arrays) without its owner: it, and every view of it, takes no references.

    Numba counts references on every view and slice of an array it got from Python, with an atomic add and an
    atomic subtract on the array's owner each time: in a training step of W1's network, some 180 of them took a
    quarter of the step. A kernel's arguments stay alive for the whole call (their Python caller holds them), so a
    kernel may work on such aliases instead, provided that none of them, nor any view of them, leaves the call:
    an array returned to Python without its owner would not keep its memory alive. Only kernels called from Python
    (or as compiled functions of their own) take aliases: in a function that Numba inlines, the caller's last
    reference to an array it made could be dropped right after the alias is taken.
    """
    if isinstance(arrays, types.Array):

        def codegen(context, builder, sig, args):
            return _unowned_codegen(context, builder, sig.args[0], args[0])

        return arrays(arrays), codegen
    if isinstance(arrays, types.BaseTuple) and all(isinstance(t, types.Array) for t in arrays.types):

        def codegen(context, builder, sig, args):
            items = cgutils.unpack_tuple(builder, args[0])
            aliases = [_unowned_codegen(context, builder, t, v) for t, v in zip(sig.args[0].types, items, strict=True)]
            return context.make_tuple(builder, sig.return_type, aliases)

        return arrays(arrays), codegen
    return None


@jit(inline=True)
def matrix_view(buf, start, rows, cols):
    """Return ``buf[start : start + rows * cols].reshape((rows, cols))`` as a view, without Numba's reshape call.

    The view is read-only when ``buf`` is. Raises IndexError when the block does not lie inside ``buf`` (the header
    alone would not check it).
    """
    size = buf.shape[0]
    # rows, cols <= size keeps rows * cols from overflowing for any buffer of under 3e9 items; a division or a
    # float64 product instead made a W1 training step 2-3% slower (python -m bench.profile_step).
    if start < 0 or rows < 0 or cols < 0 or rows > size or cols > size or start + rows * cols > size:
        raise IndexError("matrix_view: the block lies outside the buffer")
    return _matrix_header(buf, start, rows, cols)


@jit(inline=True)
def flat_view(matrix):
    """Return every element of the C-contiguous 2-D ``matrix`` as a 1-D view (``matrix.ravel()`` without a call).

    The view is read-only when ``matrix`` is.
    """
    return _flat_header(matrix)


@jit(inline=True)
def weight_view(params, sizes, woff, k):
    """Return ``W_k`` as an ``(sizes[k], sizes[k + 1])`` view into ``params``."""
    return matrix_view(params, woff[k], sizes[k], sizes[k + 1])


@jit(inline=True)
def bias_view(params, sizes, boff, k):
    """Return ``b_k`` as a view into ``params``."""
    return params[boff[k] : boff[k] + sizes[k + 1]]


@jit(inline=True)
def layer_view(buf, sizes, aoff, m, k):
    """Return layer ``k``'s ``(m, sizes[k + 1])`` block of the workspace buffer ``buf``."""
    return matrix_view(buf, m * aoff[k], m, sizes[k + 1])
