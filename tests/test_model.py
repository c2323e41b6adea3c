"""The Model object: parameter layout and views, initialisation, determinism, training, divergence, pickling."""

import pickle
import re

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

import fastmlp as fm


def test_flat_params_layout_and_views():
    model = fm.Model([3, 4, 2], seed=0)
    assert model.n_params == 3 * 4 + 4 + 4 * 2 + 2 == model.params.size
    W0, W1 = model.weights
    b0, b1 = model.biases
    assert W0.shape == (3, 4) and W1.shape == (4, 2) and b0.shape == (4,) and b1.shape == (2,)
    for view in (W0, W1, b0, b1):
        assert np.shares_memory(view, model.params)
    # Each layer's W then b, in order, covering params exactly once.
    assert_array_equal(model.params, np.concatenate([W0.ravel(), b0, W1.ravel(), b1]))

    W1[2, 1] = 42.0
    assert model.params[3 * 4 + 4 + 2 * 2 + 1] == 42.0
    assert model.predict(np.zeros((1, 3)))[0, 0] == model.biases[1][0]  # relu(0 + b0 = 0) = 0, so output is b1

    model.params = np.arange(model.n_params)
    assert model.weights[0][0, 1] == 1.0 and np.shares_memory(model.weights[0], model.params)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_dtype_is_kept_end_to_end(dtype, rng):
    model = fm.Model([4, 5, 3], output="softmax", dtype=dtype, seed=0)
    X = rng.normal(size=(20, 4))  # float64 input
    y = rng.integers(0, 3, size=20)
    model.fit(X, y, epochs=2, batch_size=8)
    assert model.params.dtype == dtype
    assert model.predict(X).dtype == dtype
    assert model.gradients(X, y).flat.dtype == dtype
    assert all(a.dtype == dtype for a in model.forward(X).A)


def test_default_initialisation_per_activation():
    model = fm.Model([200, 300, 300, 1], hidden=["relu", "tanh"], output="identity", seed=0, dtype="float64")
    assert model.init == ("he", "glorot", "glorot")
    W0, W1, W2 = model.weights
    assert_allclose(W0.std(), np.sqrt(2 / 200), rtol=0.02)  # he: N(0, 2 / n_in)
    limit = np.sqrt(6 / 600)
    assert np.abs(W1).max() <= limit and np.abs(W1).max() > 0.99 * limit  # glorot: U(-limit, limit)
    assert_allclose(W1.std(), limit / np.sqrt(3), rtol=0.02)
    assert np.all(model.biases[0] == 0)
    normal = fm.Model([200, 300, 1], init="normal", seed=0)
    assert_allclose(normal.weights[0].std(), 0.05, rtol=0.02)


def test_same_seed_same_bits_different_seed_different_bits(rng):
    X = rng.normal(size=(64, 4))
    y = rng.integers(0, 3, size=64)

    def trained(model_seed, fit_seed=None):
        model = fm.Model([4, 8, 3], output="softmax", seed=model_seed)
        model.fit(X, y, epochs=3, batch_size=8, seed=fit_seed)
        return model.params.copy()

    assert_array_equal(trained(0), trained(0))
    assert_array_equal(trained(0, fit_seed=5), trained(0, fit_seed=5))
    assert not np.array_equal(trained(0), trained(1))
    assert not np.array_equal(trained(0, fit_seed=5), trained(0, fit_seed=6))
    same_start = [fm.Model([4, 8, 3], seed=7, dtype=d).params for d in ("float32", "float64")]
    assert_array_equal(same_start[0], same_start[1].astype(np.float32))  # one seed, one starting point


def test_fit_lowers_the_loss_on_a_separable_set():
    X, y = fm.make_spirals(400, seed=0)
    X = (X - X.mean(0)) / X.std(0)
    model = fm.Model([2, 32, 32, 2], output="softmax", seed=0)
    before = model.loss(X, y)
    history = model.fit(X, y, epochs=60, batch_size=8, optimizer=fm.SGD(lr=0.1))
    assert len(history) == 60 and len(history.seconds) == 60
    assert history.loss[-1] < 0.3 * history.loss[0]
    assert model.loss(X, y) < 0.3 * before
    assert np.mean(model.predict(X).argmax(1) == y) > 0.95


def test_epochs_zero_changes_nothing(small_model):
    before = small_model.params.copy()
    history = small_model.fit(np.ones((4, 3)), [0, 1, 0, 1], epochs=0)
    assert len(history) == 0
    assert_array_equal(small_model.params, before)


def test_epoch_loss_is_the_mean_of_batch_losses_before_each_update(rng):
    X = rng.normal(size=(10, 3))
    y = rng.normal(size=10)
    model = fm.Model([3, 4, 1], dtype="float64", seed=0)
    probe = model.copy()
    expected = []
    for start in range(0, 10, 4):  # batches of 4, 4, 2 in order
        g = probe.gradients(X[start : start + 4], y[start : start + 4])
        expected.append(g.loss * len(X[start : start + 4]))
        probe.params -= 0.05 * g.flat
    history = model.fit(X, y, epochs=1, batch_size=4, optimizer=fm.SGD(lr=0.05), shuffle=False)
    assert_allclose(history.loss[0], sum(expected) / 10, rtol=1e-12)
    assert_allclose(model.params, probe.params, rtol=1e-12)


def test_divergence_stops_and_keeps_the_last_finite_weights(rng):
    X = rng.normal(size=(50, 3))
    y = X @ np.array([1.0, -2.0, 0.5])
    # Full-batch gradient descent with lr above 2 / (largest curvature) grows the error geometrically each epoch,
    # until float32 overflows several epochs in.
    model = fm.Model([3, 1], dtype="float32", seed=0)
    with pytest.raises(fm.TrainingDivergedError, match=r"fit diverged in epoch (\d+)") as info:
        model.fit(X, y, epochs=10_000, batch_size=50, optimizer=fm.SGD(lr=5.0), shuffle=False)
    epoch = int(re.search(r"epoch (\d+)", str(info.value)).group(1))
    assert epoch > 5
    assert np.isfinite(model.params).all()
    replay = fm.Model([3, 1], dtype="float32", seed=0)
    replay.fit(X, y, epochs=epoch - 1, batch_size=50, optimizer=fm.SGD(lr=5.0), shuffle=False)
    assert_array_equal(model.params, replay.params)  # bit-equal to the state before the diverging epoch
    assert isinstance(info.value, ValueError)


def test_fit_refuses_non_finite_parameters(small_model):
    small_model.weights[0][0, 0] = np.nan
    with pytest.raises(ValueError, match="the model's params contains NaN"):
        small_model.fit(np.ones((4, 3)), [0, 1, 0, 1])


@pytest.mark.parametrize("hidden", ["relu", "leaky_relu", "tanh", "sigmoid", "identity"])
@pytest.mark.parametrize("layer", [0, 1, 2])
def test_nan_weight_reaches_the_output(hidden, layer):
    # Some ReLU spellings turn NaN into 0 and would hide a broken model; every layer's NaN must show.
    model = fm.Model([3, 4, 4, 2], hidden=hidden, output="softmax", seed=0)
    model.weights[layer][...] = np.nan
    X = np.ones((2, 3))
    assert np.isnan(model.forward(X).A[-1]).all()
    for call in (lambda: model.predict(X), lambda: model.loss(X, [0, 1]), lambda: model.gradients(X, [0, 1])):
        with pytest.raises(ValueError, match="the model's params contain NaN or infinity"):
            call()


def test_overflowing_inputs_raise_instead_of_returning_nan():
    model = fm.Model([3, 4, 2], output="softmax", seed=0)
    X = np.full((1, 3), 3e38)  # finite in float32, but the forward pass overflows
    for call in (lambda: model.predict(X), lambda: model.loss(X, [0]), lambda: model.gradients(X, [0])):
        with pytest.raises(ValueError, match="the forward pass of X overflowed float32"):
            call()
    assert np.isfinite(model.astype("float64").predict(X)).all()


def test_weights_cannot_be_rebound_by_mistake(small_model):
    with pytest.raises(TypeError):
        small_model.weights[0] = np.zeros((3, 5))  # a tuple: use weights[0][...] = values
    small_model.weights[0][...] = 0
    assert not small_model.params[:15].any()


def test_params_too_large_for_the_dtype_leave_the_model_unchanged(small_model):
    before = small_model.params.copy()
    with pytest.raises(ValueError, match="too large for float32; the model is unchanged"):
        small_model.params = np.full(small_model.n_params, 1e300)
    assert_array_equal(small_model.params, before)


def test_forward_trace_does_not_alias_the_input():
    model = fm.Model([2, 3, 1], seed=0)
    X = np.ones((4, 2), dtype=np.float32)
    trace = model.forward(X)
    trace.A[0][...] = 5
    assert np.all(X == 1)


def test_copy_with_any_bit_generator():
    model = fm.Model([3, 1], seed=np.random.Generator(np.random.MT19937(0)))
    twin = model.copy()
    assert_array_equal(twin.params, model.params)
    assert twin._rng.random() == model._rng.random()


def test_pickle_of_another_format_is_refused(small_model):
    state = small_model.__getstate__()
    state["pickle_format"] = 99
    with pytest.raises(ValueError, match="format 99"):
        fm.Model.__new__(fm.Model).__setstate__(state)


def test_batch_larger_than_the_data_is_full_batch(rng):
    X = rng.normal(size=(12, 3))
    y = rng.normal(size=12)
    a = fm.Model([3, 2, 1], dtype="float64", seed=0)
    b = a.copy()
    a.fit(X, y, epochs=3, batch_size=12, optimizer=fm.SGD(lr=0.1), shuffle=False)
    b.fit(X, y, epochs=3, batch_size=1000, optimizer=fm.SGD(lr=0.1), shuffle=False)
    assert_array_equal(a.params, b.params)


def test_pickle_round_trip_keeps_views(small_model, rng):
    X = rng.normal(size=(5, 3))
    restored = pickle.loads(pickle.dumps(small_model))
    assert_array_equal(restored.params, small_model.params)
    assert_array_equal(restored.predict(X), small_model.predict(X))
    assert np.shares_memory(restored.weights[1], restored.params)
    restored.weights[0][...] = 0
    assert np.all(restored.params[: 3 * 5] == 0)


def test_astype_and_copy_are_independent(small_model):
    clone = small_model.astype("float64")
    assert clone.dtype == np.float64 and small_model.dtype == np.float32
    assert_array_equal(clone.params.astype(np.float32), small_model.params)
    clone.params[...] = 0
    assert small_model.params.any()
    twin = small_model.copy()
    assert twin.dtype == small_model.dtype and not np.shares_memory(twin.params, small_model.params)


def test_repr_and_description(small_model):
    assert repr(small_model) == "Model(sizes=[3, 5, 2], hidden='tanh', output='softmax', dtype='float32', bias=True)"
    assert small_model.sizes == (3, 5, 2) and small_model.n_layers == 2
    assert small_model.activations == ("tanh", "softmax") and small_model.loss_name == "crossentropy"


# --- configuration round trip and training summary ---------------------------------------------------------------
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_config_round_trip_rebuilds_the_same_model(dtype, rng):
    model = fm.Model([3, 6, 5, 2], hidden=["tanh", "leaky_relu"], output="sigmoid", dtype=dtype, seed=0, init="normal")
    config = model.config()
    assert config == {
        "sizes": [3, 6, 5, 2], "hidden": ["tanh", "leaky_relu"], "output": "sigmoid", "dtype": dtype, "bias": True,
        "init": ["normal", "normal", "normal"],
    }  # fmt: skip
    twin = fm.Model.from_config(config, params=model.params)
    X = rng.normal(size=(7, 3))
    assert twin.config() == config and twin.dtype == dtype
    assert_array_equal(twin.params, model.params)
    assert not np.shares_memory(twin.params, model.params)
    assert_array_equal(twin.predict(X), model.predict(X))
    fresh = fm.Model.from_config({**config, "bias": False}, seed=0)
    assert fresh.biases is None and fresh.init == ("normal",) * 3


def test_from_config_refuses_what_config_never_returns():
    config = fm.Model([2, 3, 1], seed=0).config()
    with pytest.raises(TypeError, match="config must be a dict"):
        fm.Model.from_config([("sizes", [2, 1])])
    with pytest.raises(ValueError, match=r"unknown keys \['depth'\]"):
        fm.Model.from_config({**config, "depth": 3})
    with pytest.raises(ValueError, match=r"lacks the keys \['output'\]"):
        fm.Model.from_config({k: v for k, v in config.items() if k != "output"})
    with pytest.raises(ValueError, match="one initialisation per layer"):
        fm.Model.from_config({**config, "init": ["he"]})
    with pytest.raises(ValueError, match="params must have shape"):
        fm.Model.from_config(config, params=np.zeros(3))


def test_training_summary_counts_the_last_fit_and_the_passes_after_it(rng):
    X, y = rng.normal(size=(30, 2)), rng.normal(size=30)
    model = fm.Model([2, 4, 1], seed=0)
    assert model.training_summary is None
    model.fit(X, y, epochs=3, batch_size=10, optimizer=fm.Adam())
    assert model.training_summary == fm.TrainingSummary(epochs=3, samples_seen=90, optimizer=repr(fm.Adam()))
    model.partial_fit(X[:10], y[:10])
    assert model.training_summary.epochs == 4 and model.training_summary.samples_seen == 100
    model.fit(X, y, epochs=1, optimizer=fm.SGD(lr=0.01))  # a new fit starts a new count
    assert model.training_summary == fm.TrainingSummary(epochs=1, samples_seen=30, optimizer=repr(fm.SGD(lr=0.01)))


# --- input scaling -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_input_scaling_is_applied_by_every_computation(dtype, rng):
    X = rng.normal(3.0, 50.0, size=(40, 3))
    y = rng.integers(0, 2, size=40)
    mean, scale = X.mean(axis=0), X.std(axis=0)
    scaled = fm.Model([3, 5, 2], output="softmax", dtype=dtype, seed=0)
    scaled.set_input_scaling(mean, scale)
    plain = fm.Model([3, 5, 2], output="softmax", dtype=dtype, seed=0)
    Xs = (X - mean) / scale
    assert_array_equal(scaled.predict(X), plain.predict(Xs))
    assert_array_equal(scaled.predict(X[:2]), plain.predict(Xs[:2]))  # the few-rows path too
    assert_array_equal(scaled.forward(X).A[-1], plain.forward(Xs).A[-1])
    assert scaled.loss(X, y) == plain.loss(Xs, y)
    assert_array_equal(scaled.gradients(X, y).flat, plain.gradients(Xs, y).flat)
    assert scaled.predict(X, chunk_size=7).tobytes() == plain.predict(Xs, chunk_size=7).tobytes()
    history = scaled.fit(X, y, epochs=2, batch_size=8, validation=(X[:9], y[:9]))
    reference = plain.fit(Xs, y, epochs=2, batch_size=8, validation=(Xs[:9], y[:9]))
    assert history.loss == reference.loss and history.val_loss == reference.val_loss
    assert_array_equal(scaled.params, plain.params)
    for twin in (scaled.copy(), pickle.loads(pickle.dumps(scaled)), scaled.astype("float64")):
        assert_allclose(twin.predict(X), scaled.predict(X), rtol=1e-6)
        assert_array_equal(twin.input_scaling[0], mean)
    assert fm.Model.from_config(scaled.config(), params=scaled.params, input_scaling=(mean, scale)).predict(
        X
    ).tobytes() == scaled.predict(X).tobytes()
    scaled.set_input_scaling(None, None)
    assert scaled.input_scaling is None


def test_input_scaling_is_checked(rng):
    model = fm.Model([3, 1], seed=0)
    with pytest.raises(ValueError, match=r"mean must have shape \(3,\)"):
        model.set_input_scaling(np.zeros(2), np.ones(3))
    with pytest.raises(ValueError, match="scale must be > 0"):
        model.set_input_scaling(np.zeros(3), np.array([1.0, 0.0, 1.0]))
    with pytest.raises(ValueError, match="scale contains NaN"):
        model.set_input_scaling(np.zeros(3), np.array([1.0, np.nan, 1.0]))
    with pytest.raises(ValueError, match="give both mean and scale"):
        model.set_input_scaling(np.zeros(3), None)
    with pytest.raises(TypeError, match="mean must hold numbers"):
        model.set_input_scaling(["a", "b", "c"], np.ones(3))
    model.set_input_scaling(np.zeros(3), np.full(3, 1e-300))
    # Finite inputs scaled into infinity: the error says the scaling made them so.
    scaled_into_inf = r"X after the model's input scaling \(X - mean\) / scale contains infinity"
    for call in (model.predict, model.forward, lambda X: model.predict(X, chunk_size=1)):
        with pytest.raises(ValueError, match=scaled_into_inf):
            call(np.ones((2, 3)))
    with pytest.raises(ValueError, match="X contains infinity"):  # an infinite input is named as the input
        model.predict(np.array([[np.inf, 1.0, 1.0]]))
    assert model.input_scaling is not None
