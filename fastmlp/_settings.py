"""The base of fastmlp's small configuration objects: optimizers and learning-rate schedules."""

__all__ = ["Settings"]


class Settings:
    """An object defined by its attributes: its ``repr`` lists them, and equal attributes make equal objects.

    A fit compares the optimizer it is given with the one it continues (``partial_fit``) by equality, so two
    ``SGD(lr=0.1)`` objects count as the same optimizer.
    """

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({args})"

    def __eq__(self, other):
        return type(self) is type(other) and vars(self) == vars(other)

    __hash__ = None  # mutable and compared by value
