"""Numba kernels: the compiled hot paths of fastmlp. Private: they trust their inputs (see each Notes section)."""

_KERNEL_SALT = "55966e2bc53e9dcc38ba171f4bfffe39e5e1428812bc1581b0ea440571dc680a"
