"""Numba kernels: the compiled hot paths of fastmlp. Private: they trust their inputs (see each Notes section)."""

_KERNEL_SALT = "cab563ee5ffb3b8e80bb1a25559c07b60bd2931562fe836b5f3c54012170546e"
