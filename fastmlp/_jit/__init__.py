"""Numba kernels: the compiled hot paths of fastmlp. Private: they trust their inputs (see each Notes section)."""

_KERNEL_SALT = "8bf8d9da952a547df875e874b50929b4db467ecf3bf3adb6dfb0d51d986cd6d0"
