"""Numba kernels: the compiled hot paths of fastmlp. Private: they trust their inputs (see each Notes section)."""

_KERNEL_SALT = "a1e07ad3604103003278c15b1a935e9e1f4f3e9951a13ed8a6a988368ec68de1"
