"""The kernels' array views (fastmlp._jit.layout) alias their buffer and refuse blocks outside it."""

import gc

import numpy as np
import pytest
from numpy.testing import assert_array_equal

from fastmlp._jit.layout import flat_view, leading_view, matrix_view


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
    assert_array_equal(leading_view(buf, 2, 5), buf[:10].reshape(2, 5))


@pytest.mark.parametrize(
    "call",
    [
        lambda buf: matrix_view(buf, 9, 3, 4),
        lambda buf: matrix_view(buf, -1, 1, 1),
        lambda buf: matrix_view(buf, 0, -1, 4),
        lambda buf: leading_view(buf, 5, 5),
    ],
)
def test_a_block_outside_the_buffer_raises(call):
    with pytest.raises(IndexError, match="outside the buffer"):
        call(np.zeros(20))


def test_a_view_keeps_its_buffer_alive():
    block = matrix_view(np.arange(12.0), 0, 3, 4)  # nothing else refers to the buffer
    gc.collect()
    assert_array_equal(block, np.arange(12.0).reshape(3, 4))
