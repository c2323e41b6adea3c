"""Numba kernels: the compiled hot paths of fastmlp. Private: they trust their inputs (see each Notes section)."""

_KERNEL_SALT = "dff5a6797a903277720b303f61ca8eefe83e868470ecadaea77e2d1b615dfb3b"
