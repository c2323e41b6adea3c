"""Atomic file writing: a file appears at its path complete, or not at all.

Used by model files (:meth:`fastmlp.Model.save`) and by the command line's prediction outputs.
"""

import contextlib
import os
import tempfile

from ._validation import check_path

__all__ = ["atomic_path"]


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temporary path next to ``path``; on success rename it over ``path``, on any failure remove it.

    The caller writes the complete file to the yielded path (and may ``fsync`` it). When the ``with`` block ends
    without an exception the file is given the usual permissions (``0o666`` less the umask), flushed to disk and
    moved to ``path`` with :func:`os.replace` (atomic on POSIX and Windows); when the block raises anything, even
    ``KeyboardInterrupt`` or ``SystemExit``, the temporary file is deleted and ``path`` is left as it was.

    Parameters
    ----------
    path : str or os.PathLike
        The final file path.

    Yields
    ------
    str
        The temporary file's path, in the same directory, named ``.<name>.<random>.tmp``.
    """
    path = check_path(path)
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=directory)
    os.close(fd)
    try:
        yield tmp
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_directory(directory)


def _umask():
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _fsync_directory(directory):
    """Make the rename durable (POSIX); a no-op where directories cannot be opened."""
    if os.name != "posix":
        return
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
