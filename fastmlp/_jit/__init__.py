"""Numba kernels: the compiled hot paths of fastmlp. Private: they trust their inputs (see each Notes section)."""

_KERNEL_SALT = "ca2296b5db2ca52d94128d2b2b0c1487c9e0c66802d26b807479671ebbb0c81c"
