"""Numba kernels: the compiled hot paths of fastmlp. Private: they trust their inputs (see each Notes section)."""

_KERNEL_SALT = "7a920054604ac74877124143c698dd7373403b1a48567d4c3dc51af10cdbfbc8"
