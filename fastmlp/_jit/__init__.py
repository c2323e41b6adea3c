"""Numba kernels: the compiled hot paths of fastmlp. Private: they trust their inputs (see each Notes section)."""

_KERNEL_SALT = "2a721ff2215af80f2a34fd4fa1500dfbaf77d92faf39dab9acf760d0f5d5b466"
