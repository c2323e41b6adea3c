"""Numba kernels: the compiled hot paths of fastmlp. Private: they trust their inputs (see each Notes section)."""

_KERNEL_SALT = "0968c99a7f37970ff54403f5dacdbcb38f2dbf41f2a956a7f859d7222d8f91e5"
