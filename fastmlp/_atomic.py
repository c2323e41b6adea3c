"""Atomic file writing: a file appears at its path complete, or not at all.

Used by model files (:meth:`fastmlp.Model.save`) and by the command line's prediction outputs.
"""

import contextlib
import errno
import os
import signal
import stat
import tempfile
import threading

from ._validation import check_path

__all__ = ["atomic_path", "refuse_special_file"]

# Signals whose default action ends the process without running Python code, so a temporary file would stay
# behind; SIGINT already raises KeyboardInterrupt, SIGKILL cannot be caught.
_TERMINATING_SIGNALS = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name))


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temporary path next to ``path``; on success rename it over ``path``, on any failure remove it.

    The caller writes the complete file to the yielded path (and may ``fsync`` it). When the ``with`` block ends
    without an exception the file is given the usual permissions (``0o666`` less the umask), flushed to disk and
    moved to ``path`` with :func:`os.replace` (atomic on POSIX and Windows); when the block raises anything, even
    ``KeyboardInterrupt`` or ``SystemExit``, the temporary file is deleted and ``path`` is left as it was.

    An existing ``path`` must be a regular file (or a symbolic link to one, which is replaced by the new file):
    a directory, a named pipe, a device or a socket is refused before anything is created. While the block runs in
    the main thread, SIGTERM and SIGHUP, if their handlers are the default ones, remove the temporary file first
    and then end the process as they would have (handlers set by the program, or ignored signals, are left alone).
    A ``SIGKILL`` or a power cut can still leave a ``.<name>.<random>.tmp`` file behind, never a partial ``path``.

    Parameters
    ----------
    path : str or os.PathLike
        The final file path.

    Yields
    ------
    str
        The temporary file's path, in the same directory, named ``.<name>.<random>.tmp``.

    Raises
    ------
    IsADirectoryError
        If ``path`` is a directory.
    FileNotFoundError
        If the directory ``path`` would be in does not exist.
    OSError
        If ``path`` exists and is not a regular file (``errno.EINVAL``), or cannot be written.
    """
    path = check_path(path)
    refuse_special_file(path)
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):  # else mkstemp's error would name the temporary file, not the one asked for
        name = os.path.basename(path)
        raise FileNotFoundError(errno.ENOENT, f"no directory {directory!r} to write {name!r} in", path)
    with _signals_unwind():
        tmp = None
        try:
            fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=directory)
            os.close(fd)
            yield tmp
            with open(tmp, "rb+") as f:
                os.fsync(f.fileno())
            os.chmod(tmp, 0o666 & ~_umask())
            refuse_special_file(path)  # again: something else may have appeared there while the file was written
            os.replace(tmp, path)
        except BaseException:
            if tmp is not None:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
            raise
    _fsync_directory(directory)


def refuse_special_file(path):
    """Raise ``OSError`` if ``path`` exists and is not a regular file (after following symbolic links).

    Replacing a named pipe, a device or a socket with a regular file breaks whatever relies on it (as root, saving
    to ``/dev/null`` would), and a directory cannot be replaced by a file. Nothing is opened: the check is
    :func:`os.stat` alone. A path that does not exist, or cannot be examined, passes: the write reports it.

    Parameters
    ----------
    path : str
        The target path.

    Raises
    ------
    IsADirectoryError
        If ``path`` is a directory.
    OSError
        With ``errno.EINVAL``, if ``path`` is anything else than a regular file or a directory.
    """
    try:
        mode = os.stat(path).st_mode
    except (OSError, ValueError):
        return
    if stat.S_ISREG(mode):
        return
    if stat.S_ISDIR(mode):
        raise IsADirectoryError(errno.EISDIR, "is a directory; refusing to replace it with a file", path)
    raise OSError(errno.EINVAL, f"not a regular file: {file_kind(mode)}; refusing to replace it", path)


def file_kind(mode):
    """Describe a non-regular file type from ``st_mode``, for messages."""
    for test, kind in (
        (stat.S_ISFIFO, "a named pipe (FIFO)"), (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"), (stat.S_ISDIR, "a directory"),
    ):  # fmt: skip
        if test(mode):
            return kind
    return "an unknown kind of file"


class _Terminated(BaseException):
    """A terminating signal arrived while a temporary file existed; raised so the cleanup above runs."""

    def __init__(self, signum):
        super().__init__(signum)
        self.signum = signum


@contextlib.contextmanager
def _signals_unwind():
    """Turn SIGTERM and SIGHUP into an exception while the block runs, then end the process with the signal.

    Only signals whose handler is the default one are changed: the program's own handlers already run Python code
    (and decide what the signal means), ignored signals stay ignored. Signal handlers can only be set in the main
    thread; elsewhere nothing changes.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    arrived = []

    def handler(signum, frame):
        arrived.append(signum)
        if len(arrived) == 1:  # a second signal during the cleanup must not interrupt it; the first one ends it
            raise _Terminated(signum)

    previous = {}
    try:
        for signum in _TERMINATING_SIGNALS:
            if signal.getsignal(signum) == signal.SIG_DFL:
                previous[signum] = signal.signal(signum, handler)
        yield
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)
        if arrived:
            # The default action, now restored: the process ends as the signal meant, with its exit status.
            signal.raise_signal(arrived[0])


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
