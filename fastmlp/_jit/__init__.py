"""Numba kernels: the compiled hot paths of fastmlp. Private: they trust their inputs (see each Notes section)."""

_KERNEL_SALT = "9dda4e419090dbc5e9714213b62f2f29533c28c12af4c553d7494a8886eca1c3"
