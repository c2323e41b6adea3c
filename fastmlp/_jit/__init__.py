"""Numba kernels: the compiled hot paths of fastmlp. Private: they trust their inputs (see each Notes section)."""

_KERNEL_SALT = "3dfd53131e9ba1d743ae6c1512485bdd1e2d8f24d976c9bb86f9bfb2ff42754e"
