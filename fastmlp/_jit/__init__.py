"""Numba kernels: the compiled hot paths of fastmlp. Private: they trust their inputs (see each Notes section)."""

_KERNEL_SALT = "76da7f372f8b7c47d060105ca0b6e86e02ee75a5bf7b7508749a2d2b29bd780b"
