"""The promises a hostile user or an unlucky batch job tests: overlap, memory, overflow and concurrent use."""

import threading

import numpy as np
import pytest

import fastmlp as fm


# --- outputs that overlap the inputs ---------------------------------------------------------------------------
def test_predict_refuses_an_out_that_overlaps_x():
    model = fm.Model([3, 3], seed=0)  # no hidden layer: the output could be written over the input
    X = np.random.default_rng(0).normal(size=(5, 3)).astype(np.float32)
    expected = model.predict(X)
    with pytest.raises(ValueError, match="out must not share memory with X"):
        model.predict(X, out=X)
    buffer = np.zeros((6, 3), np.float32)
    buffer[:5] = X
    with pytest.raises(ValueError, match="out must not share memory with X"):
        model.predict(buffer[:5], out=buffer[1:])
    out = np.empty_like(X)
    assert model.predict(X, out=out) is out
    np.testing.assert_array_equal(out, expected)


# --- sizes the machine cannot hold -----------------------------------------------------------------------------
@pytest.mark.parametrize("sizes", [[2**40, 2**40], [10, 10**12, 1], [2**62, 2**62, 1]])
def test_a_model_too_large_for_memory_is_refused_naming_sizes(sizes):
    with pytest.raises(ValueError, match="more than this machine's .* GiB of memory; reduce sizes"):
        fm.Model(sizes)


def test_a_training_workspace_too_large_for_memory_is_refused_naming_batch_size():
    model = fm.Model([1, 4_000_000, 1], seed=0)  # 12M parameters: fine; a batch of 300k rows: 3.6e12 values
    X = np.zeros((300_000, 1), np.float32)
    with pytest.raises(ValueError, match="reduce batch_size"):
        model.fit(X, np.zeros(300_000), batch_size=300_000, epochs=1)
    with pytest.raises(ValueError, match="reduce the rows of X"):
        model.forward(X)


# --- hyperparameters at their limits --------------------------------------------------------------------------
def test_a_huge_inverse_scaling_power_goes_to_zero_instead_of_overflowing(rng):
    X, y = rng.normal(size=(40, 3)), rng.normal(size=40)
    history = fm.Model([3, 4, 1], seed=0).fit(X, y, epochs=3, optimizer=fm.SGD(schedule=fm.InverseScaling(200)))
    assert history.lr == [0.01, 0.0, 0.0]
    sklearn = pytest.importorskip("sklearn")
    assert sklearn
    reg = fm.MLPRegressor(
        hidden_layer_sizes=(4,), solver="sgd", learning_rate="invscaling", power_t=200, max_iter=3, random_state=0
    )
    with pytest.warns(Warning):  # it does not converge in 3 epochs
        reg.fit(X, y)
    assert np.isfinite(reg.loss_)


@pytest.mark.parametrize(
    "make, name",
    [
        (lambda: fm.Cosine(min_lr=np.inf), "min_lr"),
        (lambda: fm.AdamW(weight_decay=np.inf), "weight_decay"),
        (lambda: fm.InverseScaling(power_t=np.inf), "power_t"),
        (lambda: fm.Adaptive(factor=np.inf), "factor"),
        (lambda: fm.Adaptive(tol=np.inf), "tol"),
        (lambda: fm.EarlyStopping(min_delta=np.inf), "min_delta"),
    ],
)
def test_infinite_hyperparameters_are_refused_when_made(make, name):
    with pytest.raises(ValueError, match=f"{name} must be"):
        make()


def test_class_weights_too_large_for_float32_name_class_weight(rng):
    model = fm.Model([3, 2], output="softmax", seed=0)
    before = model.params.copy()
    X, y = rng.normal(size=(8, 3)), np.arange(8) % 2
    with pytest.raises(ValueError, match="class_weight times sample_weight gives weights too large for float32"):
        model.fit(X, y, class_weight={0: 1e300})
    np.testing.assert_array_equal(model.params, before)


# --- one rule for non-finite results ---------------------------------------------------------------------------
def test_an_overflowing_loss_raises_in_float64_too(rng):
    model = fm.Model([3, 1], dtype="float64", seed=0)
    X, y = rng.normal(size=(6, 3)), rng.normal(size=6) * 1e200
    for call in (lambda: model.loss(X, y), lambda: model.gradients(X, y), lambda: fm.check_gradients(model, X, y)):
        with pytest.raises(ValueError, match="overflowed float64") as info:
            call()
        assert "use dtype='float64'" not in str(info.value)  # it is float64 already


def test_an_overflowing_penalty_names_alpha(rng):
    model = fm.Model([3, 1], dtype="float64", seed=0)
    model.params = np.full(model.n_params, 1e200)
    with pytest.raises(ValueError, match="alpha=0.1 is too large"):
        model.loss(rng.normal(size=(2, 3)) * 0, np.zeros(2), alpha=0.1)


def test_weights_too_small_to_divide_by_name_sample_weight(rng):
    model = fm.Model([3, 1], dtype="float64", seed=0)
    X, y = rng.normal(size=(1, 3)), rng.normal(size=1)
    for call in (
        lambda: model.gradients(X, y, sample_weight=[1e-310]),
        lambda: model.loss(X, y, sample_weight=[1e-310]),
        lambda: model.fit(X, y, sample_weight=[1e-310], epochs=1),
    ):
        with pytest.raises(ValueError, match="sample_weight sums to 1e-310, too small"):
            call()
    assert np.isfinite(model.gradients(X, y, sample_weight=[1e-300]).loss)


def test_overflowing_float32_gradients_advise_float64():
    model = fm.Model([1, 1], output="identity", seed=0)
    model.params = np.array([1, 0], np.float32)
    # The output 3e19 and the loss are finite; dJ/dW = x * (a - y) = 9e38 is not, in float32.
    with pytest.raises(ValueError, match="gradients overflowed float32.*or use dtype='float64'"):
        model.gradients(np.full((1, 1), 3e19), np.zeros(1))


# --- concurrent use --------------------------------------------------------------------------------------------
def _in_another_thread(call):
    """Run ``call`` in a new thread, wait for it, and return the exception it raised (or None)."""
    caught = []

    def run():
        try:
            call()
        except Exception as exc:  # noqa: BLE001 (the test inspects it)
            caught.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=60)
    assert not thread.is_alive()
    return caught[0] if caught else None


def test_predict_in_another_thread_during_fit_is_refused_but_the_training_thread_may_predict(rng):
    X, y = rng.normal(size=(32, 3)), rng.normal(size=32)
    model = fm.Model([3, 8, 1], seed=0)
    seen = {}

    def callback(epoch, logs):
        seen["other"] = _in_another_thread(lambda: model.predict(X))
        seen["own"] = model.predict(X[:2])  # the training thread itself, between epochs: consistent weights

    model.fit(X, y, epochs=1, callbacks=callback)
    assert isinstance(seen["other"], RuntimeError) and "another thread trains this model" in str(seen["other"])
    assert seen["own"].shape == (2, 1)
    assert model.predict(X).shape == (32, 1)  # after the fit, predicting works again


def test_fit_in_another_thread_during_predict_is_refused(rng):
    X, y = rng.normal(size=(16, 3)), rng.normal(size=16)
    model = fm.Model([3, 8, 1], seed=0)
    seen = {}

    class SlowInput:
        # Read by predict while it holds the model: a fit started from here overlaps that predict.
        def __array__(self, dtype=None, copy=None):
            seen["fit"] = _in_another_thread(lambda: model.fit(X, y, epochs=1))
            return X

    before = model.params.copy()
    assert model.predict(SlowInput()).shape == (16, 1)
    assert isinstance(seen["fit"], RuntimeError) and "other threads compute with this model" in str(seen["fit"])
    np.testing.assert_array_equal(model.params, before)


def test_concurrent_predicts_are_allowed(rng):
    X = rng.normal(size=(8, 3))
    model = fm.Model([3, 8, 1], seed=0)
    expected = model.predict(X)
    results = []

    class NestedInput:
        def __array__(self, dtype=None, copy=None):
            results.append(_in_another_thread(lambda: results.append(model.predict(X))))
            return X

    np.testing.assert_array_equal(model.predict(NestedInput()), expected)
    np.testing.assert_array_equal(results[0], expected)
    assert results[1] is None
