"""Numba kernels: the compiled hot paths of fastmlp. Private: they trust their inputs (see each Notes section)."""

_KERNEL_SALT = "193fdd62c04b93ca1f81e58b8fb744e3c6a6b3d8cb70f3cdabffa817bb5f5114"
