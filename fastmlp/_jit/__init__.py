"""Numba kernels: the compiled hot paths of fastmlp. Private: they trust their inputs (see each Notes section)."""

_KERNEL_SALT = "0ebcc55fd3564f419a588a17b5a65ae123e73631560ee45c69d378c793e3c693"
