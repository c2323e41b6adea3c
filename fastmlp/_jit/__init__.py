"""Numba kernels: the compiled hot paths of fastmlp. Private: they trust their inputs (see each Notes section)."""

_KERNEL_SALT = "33efa987560da07019e2ede8fa7c1155e95fe87cf771a1766e3eaf056ab85f46"
