"""Numba kernels: the compiled hot paths of fastmlp. Private: they trust their inputs (see each Notes section)."""

_KERNEL_SALT = "64653ac8f171031548c343439b9c654d7671dc00f9b81eacb0f937a4d2e80bc8"
