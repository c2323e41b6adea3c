"""Numba kernels: the compiled hot paths of fastmlp. Private: they trust their inputs (see each Notes section)."""

_KERNEL_SALT = "c12df6dfc0d3157e6f6b0b9e485b3dff81346ba80722d09a6a3c4ad914b7c9b6"
