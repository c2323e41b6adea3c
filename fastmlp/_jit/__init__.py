"""Numba kernels: the compiled hot paths of fastmlp. Private: they trust their inputs (see each Notes section)."""

_KERNEL_SALT = "96cd478f14aedd867b6052707dfa0e65a954da4d64ce70bcb1fddf06c228b1a2"
