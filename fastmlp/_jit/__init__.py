"""Numba kernels: the compiled hot paths of fastmlp. Private: they trust their inputs (see each Notes section)."""

_KERNEL_SALT = "c118e55e0e04e50eff3ce3a724a8799759af351ae2c62589d11ef7ec6206db96"
