import numpy as np
import pytest

import fastmlp as fm

from .reference import ref_one_hot

HIDDEN = ["identity", "sigmoid", "tanh", "relu", "leaky_relu"]
OUTPUTS = ["identity", "sigmoid", "softmax"]
TOL = {np.float64: dict(rtol=1e-10, atol=1e-12), np.float32: dict(rtol=2e-4, atol=2e-5)}


def make_problem(sizes, output, n_rows, rng):
    """Random inputs and targets that fit ``output``: (X, y as given to the model, Y as a dense float64 matrix)."""
    X = rng.normal(size=(n_rows, sizes[0]))
    n_out = sizes[-1]
    if output == "identity":
        y = rng.normal(size=(n_rows, n_out))
        return X, y, y
    if output == "sigmoid":
        y = (rng.random((n_rows, n_out)) < 0.5).astype(float)
        return X, y, y
    labels = rng.integers(0, n_out, size=n_rows)
    return X, labels, ref_one_hot(labels, n_out)


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


@pytest.fixture
def small_model():
    return fm.Model([3, 5, 2], hidden="tanh", output="softmax", seed=0)
