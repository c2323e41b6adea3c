"""Numba kernels: the compiled hot paths of fastmlp. Private: they trust their inputs (see each Notes section)."""

_KERNEL_SALT = "c524bf3f0a2c560b8dbdfeca7c359953f4837b77ebbcadea98f035fb63290016"
