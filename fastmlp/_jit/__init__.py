"""Numba kernels: the compiled hot paths of fastmlp. Private: they trust their inputs (see each Notes section)."""

_KERNEL_SALT = "442176faf6d98228f72d82f843c0c7c77fb45c5fb2be2234b805727913cb8015"
