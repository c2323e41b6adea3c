"""Numba kernels: the compiled hot paths of fastmlp. Private: they trust their inputs (see each Notes section)."""

_KERNEL_SALT = "ffc9945938bcca9940e729bb838f258d026ce9babb32314afb6c21cef9b7b38f"
