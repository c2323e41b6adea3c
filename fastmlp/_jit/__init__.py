"""Numba kernels: the compiled hot paths of fastmlp. Private: they trust their inputs (see each Notes section)."""

_KERNEL_SALT = "fb44eee68afd8cac16dce2113a4366b7b5ea2bf5b1fe78a402f795c1875b0758"
