"""The kernels' array views (fastmlp._jit.layout) alias their buffer and refuse blocks outside it."""

import gc

import numba
import numpy as np
import pytest
from numba import njit
from numpy.testing import assert_array_equal

from fastmlp._jit.layout import _flat_header, _matrix_header, flat_view, matrix_view, unowned


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_views_share_the_buffer(dtype):
    buf = np.arange(20, dtype=dtype)
    block = matrix_view(buf, 2, 3, 4)
    assert block.shape == (3, 4) and block.dtype == dtype and block.flags.c_contiguous
    assert_array_equal(block, buf[2:14].reshape(3, 4))
    block[1, 0] = -1.0
    assert buf[6] == -1.0
    flat = flat_view(block)
    assert_array_equal(flat, buf[2:14])
    flat[0] = -2.0
    assert buf[2] == -2.0
    assert_array_equal(matrix_view(buf, 0, 2, 5), buf[:10].reshape(2, 5))
    assert matrix_view(buf, 20, 0, 3).shape == (0, 3) and matrix_view(buf, 0, 5, 0).shape == (5, 0)


@pytest.mark.parametrize(
    "call",
    [
        lambda buf: matrix_view(buf, 9, 3, 4),
        lambda buf: matrix_view(buf, -1, 1, 1),
        lambda buf: matrix_view(buf, 0, -1, 4),
        lambda buf: matrix_view(buf, 0, 5, 5),
        lambda buf: matrix_view(buf, 21, 0, 1),
        lambda buf: matrix_view(buf, 0, 2**32, 2**32),  # rows * cols overflows int64: still refused
    ],
)
def test_a_block_outside_the_buffer_raises(call):
    with pytest.raises(IndexError, match="outside the buffer"):
        call(np.zeros(20))


def test_a_view_keeps_its_buffer_alive():
    block = matrix_view(np.arange(12.0), 0, 3, 4)  # nothing else refers to the buffer
    gc.collect()
    assert_array_equal(block, np.arange(12.0).reshape(3, 4))


# Read-only buffers are tested through the intrinsics in test-local kernels: calling the library's kernels on them
# from here would compile versions that the library never uses (and that the signature budget counts).
@njit
def _read_only_views(buf, matrix):
    return _matrix_header(buf, 0, 3, 4), _flat_header(matrix)


@njit
def _write_first(matrix):
    _flat_header(matrix)[0] = 1.0


def test_views_of_a_read_only_buffer_are_read_only():
    buf = np.arange(12.0)
    matrix = np.zeros((2, 3))
    block, flat = _read_only_views(buf, matrix)
    assert block.flags.writeable and flat.flags.writeable
    buf.flags.writeable = False
    matrix.flags.writeable = False
    block, flat = _read_only_views(buf, matrix)
    assert not block.flags.writeable and not flat.flags.writeable


def test_kernels_cannot_write_through_a_view_of_a_read_only_buffer():
    matrix = np.zeros((2, 3))
    matrix.flags.writeable = False
    with pytest.raises(numba.core.errors.TypingError, match="read-only|readonly|Cannot modify"):
        _write_first(matrix)
    assert matrix[0, 0] == 0.0


@njit
def _through_unowned(buf, pair):
    # The aliases, and views of them, write to the arguments' memory; nothing of them leaves the call.
    alias = unowned(buf)
    first, second = unowned(pair)
    matrix_view(alias, 2, 2, 3)[1, 0] = 7.0
    flat_view(first)[3] = 8.0
    second[0] = 9
    return alias.shape[0] + first.shape[0] * 10 + second.shape[0] * 100


def test_unowned_aliases_write_to_their_arguments():
    buf = np.zeros(10)
    first, second = np.zeros((2, 2)), np.zeros(3, np.int64)
    assert _through_unowned(buf, (first, second)) == 10 + 20 + 300
    assert buf[5] == 7.0 and first[1, 1] == 8.0 and second[0] == 9
    assert buf.sum() == 7.0 and first.sum() == 8.0 and second.sum() == 9


def test_kernels_leave_their_arguments_references_and_the_runtime_balanced(rng):
    # The kernels work on aliases without owners: a fit and a prediction must neither take nor drop a reference
    # to the arrays they get, and every runtime allocation is freed.
    import sys

    from numba.core.runtime import rtsys

    import fastmlp as fm

    model = fm.Model([5, 8, 3], hidden="tanh", output="softmax", dtype="float64", seed=0)
    X = rng.normal(size=(40, 5))
    y = rng.integers(0, 3, 40)
    model.fit(X, y, epochs=1, batch_size=8)  # compile first
    params = model.params
    before = (sys.getrefcount(params), sys.getrefcount(X))
    memsys = pytest.importorskip("numba.core.runtime._nrt_python")
    was_enabled = memsys.memsys_stats_enabled()
    memsys.memsys_enable_stats()
    try:
        stats = rtsys.get_allocation_stats()
        model.fit(X, y, epochs=3, batch_size=8, optimizer=fm.Adam(lr=0.01))
        model.predict(X[:1])
        model.predict(X)
        model.gradients(X, y)
        after = rtsys.get_allocation_stats()
    finally:
        if not was_enabled:
            memsys.memsys_disable_stats()
    assert (sys.getrefcount(params), sys.getrefcount(X)) == before
    assert after.alloc - stats.alloc == after.free - stats.free
    assert after.mi_alloc - stats.mi_alloc == after.mi_free - stats.mi_free
