"""What every ``fastmlp`` command shares: the exit statuses, the usage error and the ways of reporting.

Notes
-----
Messages and progress go through the :mod:`logging` logger ``"fastmlp"`` (to stderr, set up by
:func:`fastmlp.cli.main`); only a command's result line goes to stdout, through :func:`say`. This module imports
nothing else of :mod:`fastmlp.cli`, so that every other module of the package can import it.
"""

import logging

__all__ = ["EXIT_ERROR", "EXIT_OK", "EXIT_USAGE", "UsageError", "log", "say", "show_progress"]

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
