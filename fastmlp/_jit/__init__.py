"""Numba kernels: the compiled hot paths of fastmlp. Private: they trust their inputs (see each Notes section)."""

_KERNEL_SALT = "cef772bc998a00c10456617df7c2e0beeccb2deb58cf0780ef3f70dbe36b45d4"
