"""Numba kernels: the compiled hot paths of fastmlp. Private: they trust their inputs (see each Notes section)."""

_KERNEL_SALT = "fb0e2eb890197ee99282d7015f09e6a3e67eb4270f562568016fc4aabcfc5074"
