"""Numba kernels: the compiled hot paths of fastmlp. Private: they trust their inputs (see each Notes section)."""

_KERNEL_SALT = "ae7e6801045e2f5ec1cc4054bbb3e1e56f188a79f02afd6f0cd6270aa596cc19"
