"""Numba kernels: the compiled hot paths of fastmlp. Private: they trust their inputs (see each Notes section)."""

_KERNEL_SALT = "827ffbea6ede9861c2875659817aa1e15f56e9e12dddfa03363ae41e725d41c4"
