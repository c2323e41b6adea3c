"""The kernels' array views (fastmlp._jit.layout) alias their buffer and refuse blocks outside it."""

import gc

import numba
import numpy as np
import pytest
from numba import njit
from numpy.testing import assert_array_equal

from fastmlp._jit.layout import _flat_header, _matrix_header, flat_view, matrix_view


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
