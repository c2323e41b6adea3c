"""Numba kernels: the compiled hot paths of fastmlp. Private: they trust their inputs (see each Notes section)."""

_KERNEL_SALT = "2067a8a957d1b0c780965fdfec0ca4d151e9a81ef215cbd439c936fc95f2c552"
