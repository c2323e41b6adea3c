"""Numba kernels: the compiled hot paths of fastmlp. Private: they trust their inputs (see each Notes section)."""

_KERNEL_SALT = "815ea2d308fb72ecf7227cfb219f86bd993c7ec3b6be8d771d8c5f6b986f82fd"
