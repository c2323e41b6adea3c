"""Rewrite the ``_KERNEL_SALT`` line of every ``fastmlp/_jit/*.py`` after editing any kernel.

Numba's on-disk cache notices edits to a kernel's own file but not to a jitted function it calls from another file
(numba documents this; ``../shared/RELIABILITY.md`` finding 2 measured a stale result). Every kernel file carries
the same salt, a hash of all kernel sources, so any kernel edit changes every kernel file and invalidates every
cache entry. ``tests/test_cache.py`` fails until this script has been run.

Usage: ``python tools/update_kernel_salt.py``
"""

import importlib.util
from pathlib import Path

# Loaded by path, not imported through the package: this must work while a kernel edit leaves fastmlp unimportable.
_spec = importlib.util.spec_from_file_location(
    "_kernel_salt", Path(__file__).resolve().parents[1] / "fastmlp" / "_kernel_salt.py"
)
_kernel_salt = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_kernel_salt)

if __name__ == "__main__":
    changed = _kernel_salt.write_kernel_salt()
    print(f"kernel salt updated in {len(changed)} file(s)" if changed else "kernel salt already current")
