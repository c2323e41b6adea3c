"""Numba kernels: the compiled hot paths of fastmlp. Private: they trust their inputs (see each Notes section)."""

_KERNEL_SALT = "2f951ca3c9fe26c66ae80b9e39c67f78cd3a4acaf0e55b26a2f9e5b80108a4e4"
