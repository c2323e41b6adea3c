"""Numba kernels: the compiled hot paths of fastmlp. Private: they trust their inputs (see each Notes section)."""

_KERNEL_SALT = "ac1f22553c26e4e06c797e0605d3167ac4fc13b24f7a7cc8ac240c97fa7e03ea"
