"""Numba kernels: the compiled hot paths of fastmlp. Private: they trust their inputs (see each Notes section)."""

_KERNEL_SALT = "cb28de319317192ba569a4d8106f0ca5d2b0255f500da81b875c8be6cb803622"
