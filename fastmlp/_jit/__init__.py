"""Numba kernels: the compiled hot paths of fastmlp. Private: they trust their inputs (see each Notes section)."""

_KERNEL_SALT = "02b4aed8c66bf1e1d5b5048480c1a5866120f5b59d6b9903bcd61dafdba864f6"
