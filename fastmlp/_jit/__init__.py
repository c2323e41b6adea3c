"""Numba kernels: the compiled hot paths of fastmlp. Private: they trust their inputs (see each Notes section)."""

_KERNEL_SALT = "8d804982965acd083e778a536f538657dc0fd470f3b5ad78b2cb1251df999f65"
