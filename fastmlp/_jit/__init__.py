"""Numba kernels: the compiled hot paths of fastmlp. Private: they trust their inputs (see each Notes section)."""

_KERNEL_SALT = "72d2d6e60c4873df086837c849a2a8793a02e94331e9a04c701ccdac7a4fae4b"
