"""Numba kernels: the compiled hot paths of fastmlp. Private: they trust their inputs (see each Notes section)."""

_KERNEL_SALT = "fb8472523f77307456e097b689230a0571103df9e5cdc6e2e66f282c4633e46f"
