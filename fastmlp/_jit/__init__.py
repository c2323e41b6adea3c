"""Numba kernels: the compiled hot paths of fastmlp. Private: they trust their inputs (see each Notes section)."""

_KERNEL_SALT = "2e0c0a3b9e4c6a2edfb81f04f7587821adfdf140a58141806bb887f16816f01f"
