"""Numba kernels: the compiled hot paths of fastmlp. Private: they trust their inputs (see each Notes section)."""

_KERNEL_SALT = "b54b39ae5de37a0f313105a46688a4f74c40b11a95e21f4af2b22b51ccbc09c7"
