"""Who may use a model at once: any number of computations, or one training run, never both.

A fit changes the parameters batch by batch; a ``predict`` running beside it in another thread would read weights
half way through an update. :class:`UseGuard` refuses such a call at once with a ``RuntimeError`` instead of
returning a mixture. The thread that trains may still compute between its epochs (a callback that predicts), since
the parameters are consistent there.
"""

import functools
import threading

__all__ = ["UseGuard", "reads", "trains"]


class UseGuard:
    """Counts a model's running computations and its training run, and refuses the calls that would overlap.

    Reads (``predict``, ``forward``, ``loss``, ``gradients``, ``save``, copies) may run together in any number of
    threads. A training run (``fit``, ``partial_fit``, assigning ``params``) needs the model to itself.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._readers = 0
        self._trainer = None  # the ident of the thread that trains
        self._depth = 0  # its nested training calls (a callback that assigns params, say)

    def start_reading(self, what):
        """Register one computation called ``what``; raise RuntimeError while another thread trains the model."""
        with self._lock:
            if self._trainer is not None and self._trainer != threading.get_ident():
                raise RuntimeError(
                    f"{what} cannot run while another thread trains this model: its parameters change batch by "
                    "batch. Wait for the fit to end, or compute with a copy taken before it (model.copy())."
                )
            self._readers += 1

    def stop_reading(self):
        """Unregister a computation registered by :meth:`start_reading`."""
        with self._lock:
            self._readers -= 1

    def start_training(self, what):
        """Take the model for a training run called ``what``; raise RuntimeError if another thread uses it."""
        with self._lock:
            me = threading.get_ident()
            if self._trainer == me:  # the training thread itself, between its epochs
                self._depth += 1
                return
            if self._trainer is not None:
                raise RuntimeError(f"{what} cannot start: another thread is training this model.")
            if self._readers:
                raise RuntimeError(
                    f"{what} cannot start while other threads compute with this model ({self._readers} running); "
                    "train a copy (model.copy()) or wait for them."
                )
            self._trainer = me
            self._depth = 1

    def stop_training(self):
        """Release the model taken by :meth:`start_training`."""
        with self._lock:
            self._depth -= 1
            if self._depth == 0:
                self._trainer = None


def _guarded(start, stop, what):
    """A decorator that brackets each call of a method with ``self._guard.<start>(what)`` and ``<stop>()``."""

    def decorate(method):
        @functools.wraps(method)
        def guarded(self, *args, **kwargs):
            guard = self._guard
            getattr(guard, start)(what)
            try:
                return method(self, *args, **kwargs)
            finally:
                getattr(guard, stop)()

        return guarded

    return decorate


def reads(what):
    """Decorate a method of an object with a ``_guard`` so that each call registers as a computation ``what``."""
    return _guarded("start_reading", "stop_reading", what)


def trains(what):
    """Decorate a method of an object with a ``_guard`` so that each call takes the object for training ``what``."""
    return _guarded("start_training", "stop_training", what)
