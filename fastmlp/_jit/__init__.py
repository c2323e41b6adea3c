"""Numba kernels: the compiled hot paths of fastmlp. Private: they trust their inputs (see each Notes section)."""

_KERNEL_SALT = "84551153235af69cd542246fb56a055d61faf0737c4f08d64149db6706d2f476"
