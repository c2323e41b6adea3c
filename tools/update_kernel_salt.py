"""Rewrite the ``_KERNEL_SALT`` line of every ``fastmlp/_jit/*.py`` after editing any kernel.

Numba's on-disk cache notices edits to a kernel's own file but not to a jitted function it calls from another file
(numba documents this; ``../shared/RELIABILITY.md`` finding 2 measured a stale result). Every kernel file carries
the same salt, a hash of all kernel sources, so any kernel edit changes every kernel file and invalidates every
cache entry. ``tests/test_cache.py`` fails until this script has been run.

Usage: ``python tools/update_kernel_salt.py``
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fastmlp._kernel_salt import write_kernel_salt  # noqa: E402

if __name__ == "__main__":
    changed = write_kernel_salt()
    print(f"kernel salt updated in {len(changed)} file(s)" if changed else "kernel salt already current")
