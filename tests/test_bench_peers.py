"""Every peer of bench/compare.py trains and predicts the same network as fastmlp, for every activation.

Each implementation that imports here trains a few steps (SGD for W1 and W2, Adam on the full batch for W4) from
the shared initial weights; its weights must then equal fastmlp's to float32 rounding. A peer that is not installed
is skipped, so the ones that are (NumPy and scikit-learn at least) are still checked.
"""

import importlib.util

import numpy as np
import pytest

from bench import peers
from bench.workloads import make_data

pytestmark = pytest.mark.benchmark

# rows: W1 three batches of 32, W2 one batch of 128 and a partial one, W4 a full batch of all its rows
CASES = [("W1", 96, 1), ("W2", 160, 1), ("W4", 300, 3)]
ACTIVATIONS = ["relu", "tanh", "sigmoid"]


def _importable(impl):
    module = peers.IMPLEMENTATIONS[impl][1]
    if importlib.util.find_spec(module) is None:
        pytest.skip(f"{module} is not installed")


def _train(impl, spec, X, y, epochs):
    run = peers.TRAINERS[impl](spec, X, y, peers.initial_params(spec), epochs)
    run()
    run()  # a second call: Adam starts afresh in each, as each Model.fit does
    return run.params()


@pytest.mark.parametrize("hidden", ACTIVATIONS)
@pytest.mark.parametrize(("workload", "n_rows", "epochs"), CASES)
@pytest.mark.parametrize("impl", [impl for impl in peers.TRAINERS if impl != "fastmlp"])
def test_peer_trains_the_same_network(impl, workload, n_rows, epochs, hidden):
    _importable(impl)
    spec = peers.spec_for(workload, hidden)
    if peers.unsupported(impl, spec):
        pytest.skip(peers.unsupported(impl, spec))
    X, y = make_data(workload, n_rows)
    expected = _train("fastmlp", spec, X, y, epochs)
    got = _train(impl, spec, X, y, epochs)
    start = peers.initial_params(spec)
    moved = max(np.abs(W - W0).max() for (W, _), (W0, _) in zip(expected, start, strict=True))
    assert moved > 1e-4  # training changed the weights, by far more than the tolerance below
    for (W, b), (W_ref, b_ref) in zip(got, expected, strict=True):
        assert W.dtype == np.float32 and W.shape == W_ref.shape
        np.testing.assert_allclose(W, W_ref, rtol=0, atol=2e-6)
        np.testing.assert_allclose(b, b_ref, rtol=0, atol=2e-6)


@pytest.mark.parametrize("hidden", ACTIVATIONS)
@pytest.mark.parametrize("impl", [impl for impl in peers.PREDICTORS if impl != "fastmlp"])
def test_peer_predicts_the_same_outputs(impl, hidden):
    _importable(impl)
    spec = peers.spec_for("P1", hidden)
    X, _ = make_data("W2", 5)
    params = peers.initial_params(spec)
    expected = np.asarray(peers.fastmlp_predictor(spec, params, X)())
    got = np.asarray(peers.PREDICTORS[impl](spec, params, X)())
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-6)


def test_initialisation_follows_fastmlp_defaults():
    import fastmlp as fm

    for hidden, rule in (("relu", "he"), ("tanh", "glorot"), ("sigmoid", "glorot")):
        model = fm.Model([16, 32, 32, 1], hidden=hidden, output="identity", seed=0)
        assert model.init == (rule, rule, "glorot")
        params = peers.initial_params(peers.spec_for("W1", hidden))
        limit = np.sqrt(6 / (32 + 32))
        assert (np.abs(params[1][0]).max() <= limit) == (rule == "glorot")
