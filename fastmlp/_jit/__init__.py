"""Numba kernels: the compiled hot paths of fastmlp. Private: they trust their inputs (see each Notes section)."""

_KERNEL_SALT = "6248a9e7ac1b50341ae0b73a31c88c0bd1816337a6cebeee206f9a39ed119b57"
