"""Numba kernels: the compiled hot paths of fastmlp. Private: they trust their inputs (see each Notes section)."""

_KERNEL_SALT = "393765ad6673f5d74700498252b6c65cb57cbb858dbe5f9d68b39349319d44de"
