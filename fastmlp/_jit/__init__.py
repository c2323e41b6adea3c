"""Numba kernels: the compiled hot paths of fastmlp. Private: they trust their inputs (see each Notes section)."""

_KERNEL_SALT = "94469ad3774148d95992af0e3dbc2f397aeb690973f0faf244e6e8ce76961454"
