"""Numba kernels: the compiled hot paths of fastmlp. Private: they trust their inputs (see each Notes section)."""

_KERNEL_SALT = "ee645bf9f5596288ebf59f11fff272622b36352cfb1361ea2960d785798868d2"
