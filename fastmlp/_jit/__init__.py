"""Numba kernels: the compiled hot paths of fastmlp. Private: they trust their inputs (see each Notes section)."""

_KERNEL_SALT = "22abe3fe6038afba90ec3933d1e60281359a4af8aac0c9a0176e3e36d7690ea2"
