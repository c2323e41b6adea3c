"""Numba kernels: the compiled hot paths of fastmlp. Private: they trust their inputs (see each Notes section)."""

_KERNEL_SALT = "6da4fd0f6e7d8fcf5bb2d36e8394c3e3c20f3456ccf829d9d51314c36510d190"
