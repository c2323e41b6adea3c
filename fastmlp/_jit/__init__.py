"""Numba kernels: the compiled hot paths of fastmlp. Private: they trust their inputs (see each Notes section)."""

_KERNEL_SALT = "b890246e0a2d7d1db2fd9ba676ec4f1a943c1111644d3b87327d6e960fe169b3"
