"""Numba kernels: the compiled hot paths of fastmlp. Private: they trust their inputs (see each Notes section)."""

_KERNEL_SALT = "af27553cddaa886d6a8792616876716d972cbb548d8f2465bac8932247c8dc8f"
