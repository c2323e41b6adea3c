"""Numba kernels: the compiled hot paths of fastmlp. Private: they trust their inputs (see each Notes section)."""

_KERNEL_SALT = "cf71973f17223689e205cce35e1129f130a7f0e195424e418f8bfd0bf04dbaaf"
