"""Numba kernels: the compiled hot paths of fastmlp. Private: they trust their inputs (see each Notes section)."""

_KERNEL_SALT = "bcf9b5144c2fd147fa88405ce69d77f025fdcec439998a7939c470a3f676363f"
