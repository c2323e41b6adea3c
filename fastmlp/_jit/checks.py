"""Input checks that run at the Python boundary but are worth compiling: one pass, no temporaries."""

from ._config import jit

_KERNEL_SALT = "2067a8a957d1b0c780965fdfec0ca4d151e9a81ef215cbd439c936fc95f2c552"


@jit
def all_finite(a):
    """Return True when no value of the 1-D array ``a`` is NaN or +-inf.

    ``v - v`` is 0 for every finite v and NaN for NaN and +-inf. The bitwise ``&=`` reduction vectorises without
    reordering any floating-point sum, and, unlike a sum of the values, it cannot overflow. It relies on NaN
    semantics, so it must never be compiled with the ``nnan``/``ninf`` fastmath flags (the policy in ``_config``
    never sets them).
    """
    ok = True
    for i in range(a.size):
        v = a[i]
        ok &= (v - v) == 0
    return ok
