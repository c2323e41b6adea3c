"""Numba kernels: the compiled hot paths of fastmlp. Private: they trust their inputs (see each Notes section)."""

_KERNEL_SALT = "2411d9c25f5e97a5c9fbb969e3d6179cfa15ed627f9d4fa6115bdcd8615e29b5"
