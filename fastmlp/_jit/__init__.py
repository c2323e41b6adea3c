"""Numba kernels: the compiled hot paths of fastmlp. Private: they trust their inputs (see each Notes section)."""

_KERNEL_SALT = "fafa866e21008a4cddb7d23229aaa94171ca34430f7e381ab9b775870fec62de"
