"""What every ``fastmlp`` command shares: the exit statuses, the usage error, the ways of reporting, file checks.

Notes
-----
Messages go through the :mod:`logging` logger ``"fastmlp"`` (to stderr, set up by :func:`fastmlp.cli.main`); only
a command's result line goes to stdout, through :func:`say`. Training progress (:class:`EpochProgress`) is one
redrawn line on a terminal and a few logged lines elsewhere; :func:`compile_notice` says when kernels are compiled
rather than loaded from Numba's cache. This module imports nothing else of
:mod:`fastmlp.cli`, so that every other module of the package can import it.
"""

import contextlib
import logging
import os
import stat
import sys
import threading
import time

from numba.core import caching as numba_caching
from numba.core import event as numba_event

__all__ = [
    "EXIT_ERROR",
    "EXIT_OK",
    "EXIT_USAGE",
    "EpochProgress",
    "UsageError",
    "check_input_file",
    "compile_notice",
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


def _duration(seconds):
    """``"4.2 s"``, ``"3:07"`` (minutes), ``"1:02:03"`` (hours)."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _columns(stream):
    try:
        columns = os.get_terminal_size(stream.fileno()).columns
    except (AttributeError, OSError, ValueError):  # not a real terminal (a test's stand-in), or closed
        return 80
    return columns or 80  # a pseudo-terminal whose size was never set reports 0 columns


class EpochProgress:
    """A :meth:`fastmlp.Model.fit` callback that reports training progress without flooding the output.

    On a terminal it redraws one line in place (a carriage return, then the line), at most every ``interval``
    seconds, and ends it with a newline on :meth:`close`. Elsewhere (a log file, a pipe) it logs
    ``epoch E/N  loss ...`` lines through the ``"fastmlp"`` logger: the first epoch, each tenth of the run
    (``lines``), and the last epoch run, so any number of epochs gives at most ``lines + 2`` lines.

    Parameters
    ----------
    epochs : int
        The epochs the fit was asked for.
    stream : file object, optional
        Where the terminal line goes (default: ``sys.stderr`` when the object is made); whether it is a terminal
        decides between the two ways of reporting.
    lines : int, default 10
        Off a terminal, log every ``epochs / lines`` epochs.
    interval : float, default 0.1
        On a terminal, the fewest seconds between two redraws.
    clock : callable, default time.monotonic
        Seconds, for the elapsed and remaining times.

    Notes
    -----
    Use it as a context manager around the fit, so that the line is finished (or the last epoch logged) also
    when the fit stops early or raises::

        with EpochProgress(epochs) as progress:
            model.fit(X, y, epochs=epochs, callbacks=[progress])

    The bar is this module's own rather than tqdm's: the command line then behaves the same whether or not the
    optional tqdm is installed, and needs no dependency for one line of text.
    """

    BAR_WIDTH = 20

    def __init__(self, epochs, stream=None, *, lines=10, interval=0.1, clock=time.monotonic):
        self.epochs = epochs
        self.stream = sys.stderr if stream is None else stream
        isatty = getattr(self.stream, "isatty", None)
        self.terminal = bool(isatty is not None and isatty())
        self.lines = lines
        self.interval = interval
        self.clock = clock
        self.started = clock()
        self._first_epoch_done = None  # when epoch 1 ended: the rate excludes the first epoch's compile time
        self._last = None  # (epoch, logs, time) of the latest epoch
        self._shown = 0  # the latest epoch drawn or logged
        self._drawn_at = None
        self._drawn_width = 0
        self._closed = False

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def __call__(self, epoch, logs):
        """Note that ``epoch`` (counting from 1) ended with the figures ``logs``; report it if it is due."""
        now = self.clock()
        if self._first_epoch_done is None:
            self._first_epoch_done = now
        self._last = (epoch, logs, now)
        if self.terminal:
            if self._drawn_at is None or now - self._drawn_at >= self.interval or epoch >= self.epochs:
                self._draw()
        elif self._due(epoch):
            self._log()
        return None  # a true value would stop the fit

    def close(self):
        """Show the latest epoch if it has not been, and end the terminal line; once, however often called."""
        if self._closed or self._last is None:
            self._closed = True
            return
        self._closed = True
        if self.terminal:
            if self._shown != self._last[0]:
                self._draw()
            self.stream.write("\n")
            self.stream.flush()
        elif self._shown != self._last[0]:
            self._log()

    def _due(self, epoch):
        """Off a terminal: the first epoch, the last, and each one that crosses a ``1 / lines`` of the run."""
        if epoch == 1 or epoch >= self.epochs:
            return True
        return epoch * self.lines // self.epochs > (epoch - 1) * self.lines // self.epochs

    def _figures(self, logs):
        return "  ".join(f"{name} {value:.4g}" for name, value in logs.items() if value is not None)

    def _draw(self):
        epoch, logs, now = self._last
        done = min(epoch / self.epochs, 1.0) if self.epochs else 1.0
        filled = int(done * self.BAR_WIDTH)
        timing = _duration(now - self.started)
        if epoch > 1 and epoch < self.epochs:
            per_epoch = (now - self._first_epoch_done) / (epoch - 1)
            timing += f", {_duration(per_epoch * (self.epochs - epoch))} left"
        text = (
            f"fastmlp: [{'#' * filled}{'-' * (self.BAR_WIDTH - filled)}] epoch {epoch}/{self.epochs}  {timing}  "
            f"{self._figures(logs)}"
        )
        # Wider than the terminal, the line would wrap and \r would redraw only its last row.
        width = max(_columns(self.stream) - 1, 1)
        text = text[:width]
        self.stream.write("\r" + text.ljust(min(self._drawn_width, width)))
        self.stream.flush()
        self._drawn_width = len(text)
        self._drawn_at = now
        self._shown = epoch

    def _log(self):
        epoch, logs, now = self._last
        log.info("epoch %d/%d  %s  (%s)", epoch, self.epochs, self._figures(logs), _duration(now - self.started))
        self._shown = epoch


COMPILING_CACHED = "compiling kernels (first run only: later runs load them from the on-disk cache)..."
COMPILING_UNCACHED = "compiling kernels (the on-disk cache is off or unavailable, so every run compiles them)..."


class _CompileListener(numba_event.Listener):
    """Logs one message at the first compilation of a fastmlp kernel; loads from the cache fire no event."""

    def __init__(self):
        self.shown = False
        self._lock = threading.Lock()

    def on_start(self, event):
        """Log the notice if this is the first fastmlp kernel to compile (Numba calls this before compiling)."""
        dispatcher = (event.data or {}).get("dispatcher")
        module = getattr(getattr(dispatcher, "py_func", None), "__module__", None) or ""
        if not module.startswith("fastmlp."):
            return
        with self._lock:
            if self.shown:
                return
            self.shown = True
        uncached = isinstance(getattr(dispatcher, "_cache", None), numba_caching.NullCache)
        log.info("%s", COMPILING_UNCACHED if uncached else COMPILING_CACHED)

    def on_end(self, event):
        """Nothing: the notice is given once, before the first compilation."""


@contextlib.contextmanager
def compile_notice():
    """Within the block, log once (at INFO, so ``--quiet`` hides it) that fastmlp's kernels are being compiled.

    Numba fires its ``"numba:compile"`` event only when a kernel is compiled, never when it is loaded from the
    on-disk cache, so the notice appears exactly when a run is about to spend seconds compiling (a first run, an
    emptied cache, a new dtype) and costs nothing otherwise: no file system probe, no timer thread.

    Yields
    ------
    object
        The listener; its ``shown`` attribute says whether the notice was given.
    """
    listener = _CompileListener()
    with numba_event.install_listener("numba:compile", listener):
        yield listener
