"""Numba kernels: the compiled hot paths of fastmlp. Private: they trust their inputs (see each Notes section)."""

_KERNEL_SALT = "ae17e0d8cd3651240c58c9dea2d33bb97aad13b7cbd44990e6f7bdd3c802d0dd"
