"""Numba kernels: the compiled hot paths of fastmlp. Private: they trust their inputs (see each Notes section)."""

_KERNEL_SALT = "d6c576e991cd694cba405e8862e9b7540529f757bbb4864c59aa9297472c91c2"
