"""The kernel salt: one hash of all kernel sources, written into every file of ``fastmlp/_jit``.

See ``tools/update_kernel_salt.py`` for why it exists.
"""

import hashlib
import re
from pathlib import Path

JIT_DIR = Path(__file__).resolve().parent / "_jit"
SALT_LINE = re.compile(r'^_KERNEL_SALT = "([0-9a-f]*)"$', re.MULTILINE)


def kernel_files(jit_dir=JIT_DIR):
    """Return the kernel source files, in a stable order."""
    return sorted(Path(jit_dir).glob("*.py"))


def compute_kernel_salt(jit_dir=JIT_DIR):
    """Hash every kernel file's source with its salt line blanked out."""
    digest = hashlib.sha256()
    for path in kernel_files(jit_dir):
        digest.update(path.name.encode())
        digest.update(SALT_LINE.sub('_KERNEL_SALT = ""', path.read_text(encoding="utf-8")).encode())
    return digest.hexdigest()


def stale_kernel_files(jit_dir=JIT_DIR):
    """Return the kernel files whose salt line is missing or differs from :func:`compute_kernel_salt`."""
    salt = compute_kernel_salt(jit_dir)
    stale = []
    for path in kernel_files(jit_dir):
        found = SALT_LINE.findall(path.read_text(encoding="utf-8"))
        if found != [salt]:
            stale.append(path)
    return stale


def write_kernel_salt(jit_dir=JIT_DIR):
    """Rewrite the salt line of every stale kernel file; return the files changed."""
    salt = compute_kernel_salt(jit_dir)
    changed = stale_kernel_files(jit_dir)
    for path in changed:
        text = path.read_text(encoding="utf-8")
        if not SALT_LINE.search(text):
            raise ValueError(f"{path} has no _KERNEL_SALT line to update; add one after the imports.")
        path.write_text(SALT_LINE.sub(f'_KERNEL_SALT = "{salt}"', text), encoding="utf-8")
    return changed
