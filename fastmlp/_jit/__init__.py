"""Numba kernels: the compiled hot paths of fastmlp. Private: they trust their inputs (see each Notes section)."""

_KERNEL_SALT = "27d864bbbb6285d22787aff1ec2a3bca39be437e0248e87dbc8adbaea2f9794c"
