"""Numba kernels: the compiled hot paths of fastmlp. Private: they trust their inputs (see each Notes section)."""

_KERNEL_SALT = "f0750f945a80cd2125de23801709279db510f9d11dfecba7e129a0537a479e5b"
