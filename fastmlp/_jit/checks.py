"""Input checks that run at the Python boundary but are worth compiling: one pass, no temporaries."""

import numpy as np

from ._config import jit

_KERNEL_SALT = "95ae8010b7a9040c03630019dcd43a65fed4875d399efbbec15dc88c3c7e3004"


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


@jit
def is_permutation(order, n):
    """Return True when the 1-D integer array ``order`` holds every integer of ``range(n)`` exactly once.

    Compiled because a ``shuffle`` callable's order is checked every epoch, and on a small data set the NumPy
    version of this check (a bincount and three reductions) cost about 9 us, a tenth of an epoch.
    """
    if order.shape[0] != n:
        return False
    seen = np.zeros(n, dtype=np.bool_)
    for i in range(n):
        r = order[i]
        if r < 0 or r >= n or seen[r]:
            return False
        seen[r] = True
    return True
