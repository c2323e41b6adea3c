"""Small generated datasets, made locally (no network) for the demo and the tests."""

import numpy as np

from ._validation import check_int, check_seed

__all__ = ["make_spirals"]


def make_spirals(n_samples=1000, *, noise=0.05, turns=1.5, seed=0):
    """Two interleaved spirals in the plane: a classic problem no linear model can solve.

    Parameters
    ----------
    n_samples : int, default=1000
        Total number of points, split evenly between the two classes (the first class gets the odd one).
    noise : float, default=0.05
        Standard deviation of the Gaussian noise added to each coordinate.
    turns : float, default=1.5
        How many times each spiral winds around the origin.
    seed : int, numpy.random.Generator or None, default=0
        Seed of the generator.

    Returns
    -------
    X : ndarray of shape (n_samples, 2), float64
        Points, roughly within [-1, 1]^2.
    y : ndarray of shape (n_samples,), int64
        Class labels 0 and 1.
    """
    n_samples = check_int(n_samples, "n_samples", 2)
    rng = check_seed(seed)
    n_first = (n_samples + 1) // 2
    labels = np.repeat(np.array([0, 1], dtype=np.int64), [n_first, n_samples - n_first])
    radius = np.concatenate([np.linspace(0.05, 1.0, n_first), np.linspace(0.05, 1.0, n_samples - n_first)])
    angle = 2 * np.pi * turns * radius + np.pi * labels
    X = np.column_stack([radius * np.cos(angle), radius * np.sin(angle)])
    X += rng.normal(0.0, noise, size=X.shape)
    order = rng.permutation(n_samples)
    return X[order], labels[order]
