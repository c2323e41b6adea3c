"""What every ``fastmlp`` command shares: the exit statuses, the usage error, the ways of reporting, file checks.

Notes
-----
Messages and progress go through the :mod:`logging` logger ``"fastmlp"`` (to stderr, set up by
:func:`fastmlp.cli.main`); only a command's result line goes to stdout, through :func:`say`. This module imports
nothing else of :mod:`fastmlp.cli`, so that every other module of the package can import it.
"""

import logging
import os
import stat

__all__ = [
    "EXIT_ERROR",
    "EXIT_OK",
    "EXIT_USAGE",
    "UsageError",
    "check_input_file",
    "check_output_path",
    "log",
    "say",
    "show_progress",
]

log = logging.getLogger("fastmlp")

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2


class UsageError(Exception):
    """A command line that cannot work whatever the data holds (exit status 2)."""


def show_progress(args, stream):
    """Whether to report progress on ``stream``.

    Parameters
    ----------
    args : argparse.Namespace
        The parsed command line, with ``progress`` and ``quiet``.
    stream : file object
        Where progress would go.

    Returns
    -------
    bool
        True with ``--progress``, or by default when ``stream`` is a terminal; never with ``--quiet``.
    """
    isatty = getattr(stream, "isatty", None)
    return bool(args.progress or (not args.quiet and isatty is not None and isatty()))


def say(args, text):
    """Print a command's result line to stdout, unless ``args.quiet``."""
    if not args.quiet:
        print(text, flush=True)


def check_input_file(path):
    """Refuse an input ``path`` that exists but is neither a regular file nor a directory.

    Reading a FIFO nobody writes to would wait for ever, and the commands read some files more than once; missing
    files and directories are left to the reader, whose ``OSError`` names them.

    Raises
    ------
    ValueError
        For a FIFO, a socket or a device.
    """
    try:
        mode = os.stat(path).st_mode
    except (OSError, ValueError):  # missing, unreadable, or a name the OS refuses: the reader reports it
        return
    if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
        raise ValueError(f"{path!r} is not a regular file (a FIFO, socket or device)")


def check_output_path(path):
    """Refuse an ``--out`` path that could not take the output, before any work is done.

    Outputs are written to a temporary file in the same directory and renamed over ``path``: that would replace a
    FIFO or a device node with a regular file, and fail on a directory only once the work is done.

    Raises
    ------
    UsageError
        For an empty path.
    ValueError
        For a directory, an existing path that is not a regular file, or a directory that does not exist or
        cannot be written to.
    """
    if not path:
        raise UsageError("--out must name a file")
    if os.path.isdir(path):
        raise ValueError(f"--out {path!r} is a directory")
    try:
        mode = os.stat(path).st_mode
    except (OSError, ValueError):
        mode = None
    if mode is not None and not stat.S_ISREG(mode):
        raise ValueError(f"--out {path!r} exists and is not a regular file (a FIFO, socket or device)")
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise ValueError(f"--out: the directory {directory!r} does not exist")
    if not os.access(directory, os.W_OK | os.X_OK):
        raise ValueError(f"--out: cannot create files in the directory {directory!r}")
