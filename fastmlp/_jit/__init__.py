"""Numba kernels: the compiled hot paths of fastmlp. Private: they trust their inputs (see each Notes section)."""

_KERNEL_SALT = "298ddbd2347484563d34ea1e15fd2f6e3f5579774abc8e9a0d688b407dc5424b"
