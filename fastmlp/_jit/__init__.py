"""Numba kernels: the compiled hot paths of fastmlp. Private: they trust their inputs (see each Notes section)."""

_KERNEL_SALT = "6b30b671f994730eecb38b728755a9b347df57164ccfe969fb0890ae65567c97"
