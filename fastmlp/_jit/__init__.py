"""Numba kernels: the compiled hot paths of fastmlp. Private: they trust their inputs (see each Notes section)."""

_KERNEL_SALT = "7ee1a5e07e578d753281caa329a3c9f95ec4a1a5c74ea7e63c378949f0e58744"
