"""Numba kernels: the compiled hot paths of fastmlp. Private: they trust their inputs (see each Notes section)."""

_KERNEL_SALT = "ed82f4829638f3736c88ce5e146ad5fd7f339c5a2782a552c6f638b1e6285a0b"
