"""Numba kernels: the compiled hot paths of fastmlp. Private: they trust their inputs (see each Notes section)."""

_KERNEL_SALT = "82024a99e4e9ea805425d3b3be08a4829454903353d371f0e69cf038d584e58f"
