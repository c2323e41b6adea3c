"""One rule for "no improvement for n epochs", shared by every stop and decay that needs it.

``Model.fit``'s ``tol`` stop, :class:`~fastmlp.EarlyStopping`, the :class:`~fastmlp.Adaptive` schedule and the
scikit-learn estimators' stopping rule all count epochs without improvement with a :class:`Plateau`.
"""

import math

__all__ = ["Plateau"]


class Plateau:
    """Count the epochs in a row whose value (lower is better) did not improve on the best so far by ``tol``.

    Two conventions exist, and both are kept because users compare against them:

    - ``rule="scikit-learn"`` (scikit-learn's ``tol``/``n_iter_no_change``): an epoch improves when its value is
      at most ``best - tol``; ``best`` is the lowest value seen, improving or not.
    - ``rule="keras"`` (Keras's ``EarlyStopping``): an epoch improves when its value is below ``best - tol``;
      ``best`` is the value of the last improving epoch.

    An improving epoch sets the count to 0, any other adds 1.

    Parameters
    ----------
    patience : int or float
        :attr:`exhausted` becomes true once this many epochs in a row did not improve (``math.inf``: never).
    tol : float, default=0.0
        The smallest decrease that counts as an improvement, >= 0.
    rule : {"scikit-learn", "keras"}, default="scikit-learn"
        Which convention (above).
    best : float, default=math.inf
        The best value so far, for a count that continues an earlier one.

    Attributes
    ----------
    best : float
        The best value so far.
    count : int
        Epochs in a row without improvement.
    """

    def __init__(self, patience, tol=0.0, *, rule="scikit-learn", best=math.inf):
        if rule not in ("scikit-learn", "keras"):
            raise ValueError(f"rule must be 'scikit-learn' or 'keras'; got {rule!r}.")
        self.patience = patience
        self.tol = tol
        self.rule = rule
        self.best = best
        self.count = 0

    def update(self, value):
        """Record one epoch's ``value``; return True when it becomes the new :attr:`best`."""
        if self.rule == "keras":
            improved = value < self.best - self.tol
            new_best = improved
        else:
            improved = not value > self.best - self.tol
            new_best = value < self.best
        self.count = 0 if improved else self.count + 1
        if new_best:
            self.best = value
        return new_best

    @property
    def exhausted(self):
        """bool: whether ``patience`` epochs in a row have passed without improvement."""
        return self.count >= self.patience
