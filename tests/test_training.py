"""Training: optimizers against their formulas, schedules, validation, early stopping, weights, partial_fit."""

import io
import sys

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

import fastmlp as fm
from fastmlp.training import Progress


@pytest.fixture
def data(rng):
    X = rng.normal(size=(24, 3))
    y = np.sin(X[:, 0]) + X[:, 1] * X[:, 2]
    return X, y


def _model(dtype="float64", seed=0, sizes=(3, 5, 1), **kwargs):
    return fm.Model(list(sizes), hidden="tanh", dtype=dtype, seed=seed, **kwargs)


def _full_batch(model, X, y, optimizer, epochs, **kwargs):
    return model.fit(X, y, epochs=epochs, batch_size=len(X), optimizer=optimizer, shuffle=False, **kwargs)


# --- optimizers against their formulas ---------------------------------------------------------------------------
def test_sgd_momentum_and_nesterov_follow_their_formulas(data):
    X, y = data
    for nesterov in (False, True):
        model, probe = _model(), _model()
        _full_batch(model, X, y, fm.SGD(lr=0.05, momentum=0.9, nesterov=nesterov), epochs=4)
        p, v = probe.params.copy(), np.zeros(probe.n_params)
        for _ in range(4):
            probe.params = p
            g = probe.gradients(X, y).flat
            v = 0.9 * v - 0.05 * g
            p = p + (0.9 * v - 0.05 * g if nesterov else v)
        assert_allclose(model.params, p, rtol=1e-12, atol=1e-14)


def test_momentum_zero_is_plain_gradient_descent(data):
    X, y = data
    model, probe = _model(), _model()
    _full_batch(model, X, y, fm.SGD(lr=0.1, momentum=0.0), epochs=1)
    assert_array_equal(model.params, probe.params - 0.1 * probe.gradients(X, y).flat)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("weight_decay", [None, 0.3])
def test_adam_and_adamw_follow_their_formulas(data, weight_decay, dtype):
    # float32 steps run in float32 (as PyTorch's do), so they match the float64 formula to float32's rounding.
    X, y = data
    opt = fm.Adam(lr=0.01, beta1=0.8, beta2=0.99, eps=1e-7) if weight_decay is None else fm.AdamW(
        lr=0.01, beta1=0.8, beta2=0.99, eps=1e-7, weight_decay=weight_decay
    )
    model, probe = _model(dtype), _model(dtype)
    _full_batch(model, X, y, opt, epochs=3)
    is_weight = np.zeros(probe.n_params, dtype=bool)
    for W in probe._layout.weight_views(is_weight):
        W[...] = True
    p, m, v = probe.params.copy(), np.zeros(probe.n_params), np.zeros(probe.n_params)
    for t in range(1, 4):
        probe.params = p
        g = probe.gradients(X, y).flat
        if weight_decay:
            p = np.where(is_weight, p - 0.01 * weight_decay * p, p)  # decoupled: weights only, before the step
        m = 0.8 * m + 0.2 * g
        v = 0.99 * v + 0.01 * g**2
        m_hat, v_hat = m / (1 - 0.8**t), v / (1 - 0.99**t)  # bias correction
        p = p - 0.01 * m_hat / (np.sqrt(v_hat) + 1e-7)
    assert model.params.dtype == dtype
    tol = dict(rtol=1e-10, atol=1e-13) if dtype == "float64" else dict(rtol=1e-5, atol=1e-6)
    assert_allclose(model.params, p, **tol)


def test_l2_penalty_is_scikit_learns_and_spares_biases(data, rng):
    X, y = data
    model = _model()
    w = rng.uniform(0.5, 2, size=len(X))
    base = model.loss(X, y, sample_weight=w)
    penalised = model.loss(X, y, sample_weight=w, alpha=0.3)
    squares = sum(float(np.sum(W**2)) for W in model.weights)
    assert_allclose(penalised - base, 0.5 * 0.3 * squares / w.sum(), rtol=1e-12)
    check = fm.check_gradients(model, X, y, sample_weight=w, alpha=0.3)
    assert check.max_rel_error < 1e-7
    g0, g1 = model.gradients(X, y), model.gradients(X, y, alpha=0.3)
    for k in range(model.n_layers):
        assert_allclose(g1.dW[k] - g0.dW[k], 0.3 * model.weights[k] / len(X), rtol=1e-10, atol=1e-15)
        assert_array_equal(g1.db[k], g0.db[k])
    # In fit: one full-batch step uses the penalised gradient.
    stepped = model.copy()
    _full_batch(stepped, X, y, fm.SGD(lr=0.1), epochs=1, alpha=0.3)
    assert_allclose(stepped.params, model.params - 0.1 * g1.flat, rtol=1e-12, atol=1e-15)


# --- schedules ----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("schedule", "expected"),
    [
        ("constant", lambda e, t: 0.1),
        (fm.InverseScaling(power_t=0.5), lambda e, t: 0.1 / (t + 1) ** 0.5),
        (fm.StepDecay(step_size=2, gamma=0.5), lambda e, t: 0.1 * 0.5 ** (e // 2)),
        (fm.Cosine(), lambda e, t: 0.05 * (1 + np.cos(np.pi * e / 5))),
        (fm.Cosine(epochs=3, min_lr=0.01), lambda e, t: 0.01 + 0.045 * (1 + np.cos(np.pi * e / 3)) if e < 3 else 0.01),
    ],
)
def test_schedules_set_each_epochs_learning_rate(data, schedule, expected):
    X, y = data
    history = _model().fit(X, y, epochs=5, batch_size=8, optimizer=fm.SGD(lr=0.1, schedule=schedule))
    assert_allclose(history.lr, [expected(e, e * len(X)) for e in range(5)], rtol=1e-12)


def test_adaptive_divides_by_five_after_patience_and_then_stops():
    schedule = fm.Adaptive(factor=5, patience=2, tol=0.01, min_lr=0.01)
    state = schedule.start(0.1, epochs=100)
    rates, stopped = [], False
    for loss in [1.0, 0.9, 0.9, 0.9, 0.9, 0.95, 0.9, 0.9, 0.9, 0.9, 0.9]:
        rates.append(schedule.rate(state, len(rates), 0))
        if schedule.observe(state, loss):
            stopped = True
            break
    # Three epochs without improvement (more than patience=2) divide the rate: after epoch 5 and again after 8; at
    # 0.004 <= min_lr the next trigger stops.
    assert_allclose(rates[:9], [0.1] * 5 + [0.02] * 3 + [0.004])
    assert stopped and len(rates) == 11


def test_adaptive_schedule_stops_a_fit(data):
    X, y = data
    history = _model().fit(
        X, y, epochs=1000, batch_size=24, optimizer=fm.SGD(lr=1e-9, schedule=fm.Adaptive(patience=1, min_lr=1e-8))
    )
    assert history.stop_reason == "schedule" and len(history) < 10


# --- stopping ---------------------------------------------------------------------------------------------------
def test_early_stopping_restores_the_best_weights(rng):
    X = rng.normal(size=(60, 3))
    y = X[:, 0] + 0.5 * rng.normal(size=60)
    X_val = rng.normal(size=(20, 3))
    y_val = -X_val[:, 0]  # the opposite relation: validation loss rises as training improves
    model = fm.Model([3, 8, 1], dtype="float64", seed=0)
    snapshots = {}

    def keep(epoch, logs):
        snapshots[epoch] = (model.params.copy(), logs["val_loss"])

    history = model.fit(
        X, y, epochs=200, batch_size=10, optimizer=fm.SGD(lr=0.05), validation=(X_val, y_val), callbacks=keep,
        early_stopping=fm.EarlyStopping(patience=3),
    )
    assert history.stop_reason == "early_stopping"
    best = int(np.argmin(history.val_loss)) + 1
    assert history.best_epoch == best and len(history) == best + 3
    assert_array_equal(model.params, snapshots[best][0])
    assert_allclose(model.loss(X_val, y_val), min(history.val_loss), rtol=1e-12)


def test_early_stopping_without_restoring_keeps_the_last_weights(data):
    X, y = data
    model = _model()
    last = {}
    history = model.fit(
        X, y, epochs=300, optimizer=fm.SGD(lr=1e-9), callbacks=lambda e, logs: last.update(p=model.params.copy()),
        early_stopping=fm.EarlyStopping(monitor="loss", patience=2, min_delta=1.0, restore_best_weights=False),
    )
    assert history.stop_reason == "early_stopping" and len(history) == 3 and history.best_epoch is None
    assert_array_equal(model.params, last["p"])


def test_tol_stops_like_scikit_learn(data):
    X, y = data
    history = _model().fit(X, y, epochs=500, batch_size=24, optimizer=fm.SGD(lr=1e-9), tol=1e-4, n_iter_no_change=4)
    # The loss barely moves: epoch 1 sets the best, then more than 4 epochs without a 1e-4 gain.
    assert history.stop_reason == "tol" and len(history) == 6


def test_a_callback_can_stop_training(data):
    X, y = data
    seen = []
    history = _model().fit(X, y, epochs=50, callbacks=[lambda e, logs: seen.append(sorted(logs)) or e == 4])
    assert len(history) == 4 and history.stop_reason == "callback"
    assert seen[0] == ["loss", "lr", "r2"]


# --- validation data and metrics ----------------------------------------------------------------------------------
def test_validation_figures_match_the_model_after_each_epoch(rng):
    X = rng.normal(size=(80, 4))
    y = (X[:, 0] > 0).astype(int) + (X[:, 1] > 0)
    X_val, y_val = X[:20] + 0.1, y[:20]
    model = fm.Model([4, 16, 3], output="softmax", seed=0, dtype="float64")
    history = model.fit(X, y, epochs=5, batch_size=16, optimizer="adam", validation=(X_val, y_val))
    assert history.metric_name == "accuracy" and len(history.val_loss) == 5
    assert_allclose(history.val_loss[-1], model.loss(X_val, y_val), rtol=1e-12)
    assert history.val_metric[-1] == np.mean(model.predict(X_val).argmax(1) == y_val)


def test_training_metric_is_measured_on_the_batches(rng):
    X = rng.normal(size=(50, 3))
    Y = np.column_stack([X[:, 0], X[:, 1] - X[:, 2]])
    model = fm.Model([3, 6, 2], seed=0, dtype="float64")
    before = model.predict(X)
    history = model.fit(X, Y, epochs=1, batch_size=7, optimizer=fm.SGD(lr=1e-12))  # weights barely move
    r2 = np.mean([1 - np.sum((Y[:, j] - before[:, j]) ** 2) / np.sum((Y[:, j] - Y[:, j].mean()) ** 2) for j in (0, 1)])
    assert history.metric_name == "r2"
    assert_allclose(history.metric[0], r2, rtol=1e-8)


def test_validation_fraction_holds_out_rows(rng):
    X = rng.normal(size=(100, 3))
    y = X.sum(axis=1)
    history = fm.Model([3, 4, 1], seed=0).fit(X, y, epochs=2, validation_fraction=0.25, seed=1)
    assert len(history.val_loss) == 2 and np.isfinite(history.val_metric).all()
    again = fm.Model([3, 4, 1], seed=0).fit(X, y, epochs=2, validation_fraction=0.25, seed=1)
    assert history.val_loss == again.val_loss


def test_separable_classes_reach_full_accuracy(rng):
    X = np.vstack([rng.normal(-2, 0.5, size=(50, 2)), rng.normal(2, 0.5, size=(50, 2))])
    y = np.repeat([0, 1], 50)
    for output, sizes in (("softmax", [2, 8, 2]), ("sigmoid", [2, 8, 1])):
        model = fm.Model(sizes, output=output, seed=0)
        history = model.fit(X, y, epochs=20, batch_size=10, optimizer=fm.Adam(lr=0.01))
        predicted = model.predict(X).argmax(1) if output == "softmax" else (model.predict(X)[:, 0] >= 0.5)
        assert np.mean(predicted == y) == 1.0 and history.metric[-1] == 1.0


# --- sample and class weights -------------------------------------------------------------------------------------
def test_weight_two_equals_duplicating_rows(data, rng):
    X, y = data
    w = np.ones(len(X))
    w[[1, 5, 9]] = 2
    duplicated = np.r_[np.arange(len(X)), [1, 5, 9]]
    model = _model()
    assert_allclose(
        model.gradients(X, y, sample_weight=w, alpha=0.2).flat,
        model.gradients(X[duplicated], y[duplicated], alpha=0.2).flat,
        rtol=1e-12,
        atol=1e-15,
    )
    a, b = _model(), _model()
    a.fit(X, y, epochs=3, batch_size=100, optimizer="adam", sample_weight=w, shuffle=False)
    b.fit(X[duplicated], y[duplicated], epochs=3, batch_size=100, optimizer="adam", shuffle=False)
    assert_allclose(a.params, b.params, rtol=1e-10, atol=1e-13)


def test_zero_weights_remove_rows(data):
    X, y = data
    w = np.r_[np.ones(12), np.zeros(12)]
    assert_allclose(_model().gradients(X, y, sample_weight=w).flat, _model().gradients(X[:12], y[:12]).flat, rtol=1e-12)
    model = _model()
    history = model.fit(X, y, epochs=1, batch_size=12, sample_weight=w, shuffle=False, optimizer=fm.SGD(lr=0.1))
    reference = _model()
    reference.fit(X[:12], y[:12], epochs=1, batch_size=12, shuffle=False, optimizer=fm.SGD(lr=0.1))
    assert_allclose(model.params, reference.params, rtol=1e-12)  # the all-zero batch makes no step
    assert_allclose(history.loss[0], _model().loss(X[:12], y[:12]), rtol=1e-12)


@pytest.mark.filterwarnings("error")
def test_huge_float32_weights_scale_out(rng):
    # Weights whose total passes float32's range: only their ratios matter, and no NumPy warning leaks out.
    X = rng.normal(size=(60, 3)).astype(np.float32)
    y = np.arange(60) % 3
    huge = np.full(60, 1e38, dtype=np.float32)
    model = fm.Model([3, 4, 3], output="softmax", seed=0)
    reference = fm.Model([3, 4, 3], output="softmax", seed=0)
    assert_allclose(model.loss(X, y, sample_weight=huge), reference.loss(X, y), rtol=1e-5)
    model.fit(X, y, epochs=2, sample_weight=huge, shuffle=False)
    reference.fit(X, y, epochs=2, shuffle=False)
    assert_allclose(model.params, reference.params, rtol=1e-4, atol=1e-6)


def test_balanced_class_weight(rng):
    X = rng.normal(size=(40, 2))
    y = np.r_[np.zeros(30, dtype=int), np.ones(10, dtype=int)]
    a = fm.Model([2, 4, 2], output="softmax", seed=0, dtype="float64")
    b = a.copy()
    a.fit(X, y, epochs=2, batch_size=40, class_weight="balanced", shuffle=False)
    b.fit(X, y, epochs=2, batch_size=40, sample_weight=np.where(y == 0, 40 / 60, 40 / 20), shuffle=False)
    assert_allclose(a.params, b.params, rtol=1e-12)
    c, d = a.copy(), a.copy()
    c.fit(X, y, epochs=1, batch_size=40, class_weight={1: 3.0}, shuffle=False)
    d.fit(X, y, epochs=1, batch_size=40, sample_weight=np.where(y == 1, 3.0, 1.0), shuffle=False)
    assert_allclose(c.params, d.params, rtol=1e-12)


# --- partial_fit, determinism, divergence -----------------------------------------------------------------------
@pytest.mark.parametrize("optimizer", [fm.SGD(lr=0.05, momentum=0.9), fm.Adam(lr=0.01)])
def test_partial_fit_over_halves_equals_one_epoch(data, optimizer):
    X, y = data
    whole, pieces = _model(), _model()
    whole.fit(X, y, epochs=1, batch_size=4, optimizer=optimizer, shuffle=False)
    pieces.partial_fit(X[:12], y[:12], batch_size=4, optimizer=optimizer, shuffle=False)
    pieces.partial_fit(X[12:], y[12:], batch_size=4, shuffle=False)
    assert_array_equal(pieces.params, whole.params)


def test_fit_with_all_options_is_deterministic(rng):
    X = rng.normal(size=(64, 4))
    y = rng.integers(0, 3, size=64)

    def run(seed):
        model = fm.Model([4, 8, 3], output="softmax", seed=seed)
        history = model.fit(
            X, y, epochs=4, batch_size=8, optimizer=fm.AdamW(schedule="cosine"), validation_fraction=0.2,
            early_stopping=True, class_weight="balanced", alpha=1e-3,
        )
        return model.params.copy(), history.loss

    assert_array_equal(run(0)[0], run(0)[0])
    assert run(0)[1] == run(0)[1]
    assert not np.array_equal(run(0)[0], run(1)[0])


def test_divergence_restores_weights_and_optimizer_state(data):
    X, y = data
    model = _model(dtype="float32")
    model.partial_fit(X, y, optimizer=fm.SGD(lr=0.5, momentum=0.5), batch_size=8, shuffle=False)
    params, velocity = model.params.copy(), model._train_state.state1.copy()
    assert velocity.any()
    with pytest.raises(fm.TrainingDivergedError, match="epoch 2"):
        model.partial_fit(X, y * 1e37, batch_size=8, shuffle=False)  # same optimizer; float32 overflows
    assert_array_equal(model.params, params)
    assert_array_equal(model._train_state.state1, velocity)


def test_gradient_norms_show_the_vanishing_gradient(rng):
    X = rng.normal(size=(64, 8))
    y = rng.integers(0, 2, size=64)
    model = fm.Model([8] + [16] * 6 + [2], hidden="sigmoid", output="softmax", seed=0)
    history = model.fit(X, y, epochs=2, batch_size=16, record_gradient_norms=True)
    norms = history.grad_norms[-1]
    assert norms.shape == (7,) and np.all(norms > 0)
    # g'(z) <= 1/4 per sigmoid layer: the first layer's gradient is far smaller than the last hidden layer's.
    assert norms[0] < 0.05 * norms[-2]
    assert fm.Model([8, 2], output="softmax").fit(X, y, epochs=1).grad_norms == []


# --- progress, plotting, bad hyperparameters ----------------------------------------------------------------------
def test_verbose_prints_a_line_per_epoch_off_a_terminal(data, capsys):
    X, y = data
    _model().fit(X, y, epochs=3, verbose=True)
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 3 and lines[2].startswith("epoch 3/3  loss ")
    _model().fit(X, y, epochs=3)
    assert capsys.readouterr().out == ""


def test_progress_falls_back_to_lines_on_a_terminal_without_tqdm(monkeypatch):
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    monkeypatch.setitem(sys.modules, "tqdm.auto", None)  # not installed: plain lines
    progress = Progress(True, 2, stream=Terminal())
    progress.update(1, {"loss": 0.5})
    assert progress.bar is None and "epoch 1/2  loss 0.5" in progress.stream.getvalue()


def test_history_plot_needs_matplotlib(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ImportError, match=r"pip install 'fastmlp\[plot\]'"):
        fm.History(loss=[1.0]).plot()


def test_history_plot_draws_the_curves():
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    ax = fm.History(loss=[1.0, 0.5], val_loss=[1.2, 0.8], best_epoch=2).plot()
    assert len(ax.lines) == 3


X4 = np.ones((6, 3))
Y4 = np.arange(6.0)


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: fm.SGD(lr=0), ValueError, "lr must be a finite number > 0"),
        (lambda: fm.SGD(lr=-1), ValueError, "lr must be a finite number > 0"),
        (lambda: fm.Adam(lr=float("inf")), ValueError, "lr must be a finite number > 0"),
        (lambda: fm.SGD(momentum=1.0), ValueError, r"momentum must lie in \[0, 1\)"),
        (lambda: fm.SGD(momentum=-0.1), ValueError, r"momentum must lie in \[0, 1\)"),
        (lambda: fm.SGD(nesterov="yes"), TypeError, "nesterov must be True or False"),
        (lambda: fm.Adam(beta1=1.0), ValueError, r"beta1 must lie in \[0, 1\)"),
        (lambda: fm.Adam(beta2=-0.5), ValueError, r"beta2 must lie in \[0, 1\)"),
        (lambda: fm.Adam(eps=0), ValueError, "eps must be a finite number > 0"),
        (lambda: fm.AdamW(weight_decay=-1), ValueError, "weight_decay must be a number >= 0"),
        (lambda: fm.SGD(schedule="exponential"), ValueError, "schedule must be one of"),
        (lambda: fm.StepDecay(step_size=0), ValueError, "step_size must be an integer >= 1"),
        (lambda: fm.StepDecay(gamma=1.5), ValueError, r"gamma must lie in \(0, 1\)"),
        (lambda: fm.InverseScaling(power_t=-1), ValueError, "power_t must be a number >= 0"),
        (lambda: fm.Adaptive(factor=1), ValueError, "factor must be a number > 1"),
        (lambda: fm.EarlyStopping(monitor="val_accuracy"), ValueError, "monitor must be 'val_loss' or 'loss'"),
        (lambda: fm.EarlyStopping(patience=0), ValueError, "patience must be an integer >= 1"),
        (lambda: _model().fit(X4, Y4, optimizer="rmsprop"), ValueError, "optimizer must be one of"),
        (lambda: _model().fit(X4, Y4, optimizer=0.1), ValueError, "optimizer must be one of"),
        (lambda: _model().fit(X4, Y4, epochs=-1), ValueError, "epochs must be an integer >= 0"),
        (lambda: _model().fit(X4, Y4, batch_size=0), ValueError, "batch_size must be an integer >= 1"),
        (lambda: _model().fit(X4, Y4, alpha=-1), ValueError, "alpha must be a finite number >= 0"),
        (lambda: _model().fit(X4, Y4, tol=-1), ValueError, "tol must be None or a number >= 0"),
        (lambda: _model().fit(X4, Y4, validation=(np.ones((3, 4)), Y4[:3])), ValueError, "validation X has 4 features"),
        (lambda: _model().fit(X4, Y4, validation=(X4[:3], Y4[:2])), ValueError, r"validation y must have one row"),
        (lambda: _model().fit(X4, Y4, validation=X4), ValueError, r"validation must be a pair"),
        (lambda: _model().fit(X4, Y4, validation_fraction=0), ValueError, r"validation_fraction must lie in \(0, 1\)"),
        (lambda: _model().fit(X4, Y4, validation_fraction=1.0), ValueError, r"validation_fraction must lie in"),
        (lambda: _model().fit(X4, Y4, validation_fraction=0.99), ValueError, "leaves no validation or no training"),
        (lambda: _model().fit(X4, Y4, validation=(X4, Y4), validation_fraction=0.5), ValueError, "not both"),
        (lambda: _model().fit(X4, Y4, early_stopping=fm.EarlyStopping()), ValueError, "needs validation"),
        (lambda: _model().fit(X4, Y4, early_stopping="yes"), TypeError, "early_stopping must be True, False"),
        (lambda: _model().fit(X4, Y4, sample_weight=np.ones(5)), ValueError, r"sample_weight must have shape \(6,\)"),
        (lambda: _model().fit(X4, Y4, sample_weight=-np.ones(6)), ValueError, "sample_weight must be >= 0"),
        (
            lambda: _model().fit(X4, Y4, sample_weight=np.zeros(6)),
            ValueError,
            "at least one positive weight; all weights are zero",
        ),
        (lambda: _model().fit(X4, Y4, sample_weight=np.full(6, np.nan)), ValueError, "sample_weight contains NaN"),
        (lambda: _model().fit(X4, Y4, class_weight="balanced"), ValueError, "class_weight needs a classifier"),
        (lambda: _model().fit(X4, Y4, callbacks=[3]), TypeError, "callbacks must be callables"),
        (lambda: _model().fit(X4, Y4, n_iter_no_change=0), ValueError, "n_iter_no_change must be an integer >= 1"),
        (lambda: _model().partial_fit(X4, Y4, batch_size=0), ValueError, "batch_size must be an integer >= 1"),
    ],
)
def test_bad_training_arguments(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_early_stopping_true_monitors_what_there_is(data):
    X, y = data
    assert _model().fit(X, y, epochs=2, early_stopping=True).best_epoch is not None  # the training loss
    history = _model().fit(X, y, epochs=2, early_stopping=True, validation_fraction=0.25)
    assert len(history.val_loss) == 2


def test_bad_class_weight(rng):
    model = fm.Model([3, 3], output="softmax", seed=0)
    X, y = rng.normal(size=(6, 3)), np.array([0, 1, 2, 0, 1, 2])
    with pytest.raises(ValueError, match=r"class_weight keys must be class labels in \[0, 2\]"):
        model.fit(X, y, class_weight={3: 1.0})
    with pytest.raises(ValueError, match="class_weight values must be finite numbers >= 0"):
        model.fit(X, y, class_weight={0: -1.0})
    with pytest.raises(ValueError, match="class_weight must be 'balanced'"):
        model.fit(X, y, class_weight="auto")
    with pytest.raises(ValueError, match="leave every row with weight 0"):
        model.fit(X, y, class_weight={0: 0, 1: 0, 2: 0})


def test_progress_bar_on_a_terminal_with_tqdm():
    pytest.importorskip("tqdm")

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    progress = Progress(True, 3, stream=Terminal())
    progress.update(1, {"loss": 0.25})
    progress.close()
    assert progress.bar is not None and "1/3" in progress.stream.getvalue()


def test_partial_fit_refuses_all_zero_class_weights(rng):
    model = fm.Model([2, 3], output="softmax", seed=0)
    with pytest.raises(ValueError, match="leave every row with weight 0"):
        model.partial_fit(rng.normal(size=(6, 2)), [0, 1, 2, 0, 1, 2], class_weight={0: 0, 1: 0, 2: 0})


def test_validation_split_with_weights_on_one_side_only_is_refused(rng):
    X = rng.normal(size=(40, 2))
    w = np.zeros(40)
    w[0] = 1
    model = fm.Model([2, 3], output="softmax", seed=0)
    for seed in range(6):
        with pytest.raises(ValueError, match="zero total sample_weight"):
            model.fit(X, np.arange(40) % 3, validation_fraction=0.5, sample_weight=w, seed=seed)


def test_bad_validation_data_is_refused_before_training(data):
    X, y = data
    model = _model()
    before = model.params.copy()
    X_val = X[:5].copy()
    X_val[2, 1] = np.nan
    with pytest.raises(ValueError, match="validation X contains NaN"):
        model.fit(X, y, validation=(X_val, y[:5]))
    assert_array_equal(model.params, before)


def test_partial_fit_with_schedules(data):
    X, y = data
    model = _model()
    with pytest.raises(ValueError, match="Cosine schedule in partial_fit needs its length"):
        model.partial_fit(X, y, optimizer=fm.SGD(lr=0.1, schedule="cosine"))
    before = model.params.copy()
    for fit in (model.fit, model.partial_fit):  # annealing upwards is refused before anything is trained
        with pytest.raises(ValueError, match=r"Cosine's min_lr \(1\) must be at most the optimizer's lr \(0.1\)"):
            fit(X, y, optimizer=fm.SGD(lr=0.1, schedule=fm.Cosine(epochs=4, min_lr=1.0)))
    assert_array_equal(model.params, before)
    assert model.training_summary is None
    rates = [model.partial_fit(X, y, optimizer=fm.SGD(lr=0.1, schedule=fm.Cosine(epochs=4))).lr[0]]
    rates += [model.partial_fit(X, y).lr[0] for _ in range(4)]
    assert_allclose(rates, [0.05 * (1 + np.cos(np.pi * e / 4)) for e in range(4)] + [0.0], atol=1e-15)
    adaptive = _model()
    adaptive.partial_fit(X, y, optimizer=fm.SGD(lr=1e-3, schedule=fm.Adaptive(patience=1, tol=1.0)))
    rates = [adaptive.partial_fit(X, y).lr[0] for _ in range(3)]
    # No pass improves by tol=1: after pass 3 the count (2) exceeds patience (1) and the rate is divided by 5.
    assert_allclose(rates, [1e-3, 1e-3, 2e-4])


@pytest.mark.parametrize("shuffle", [False, True])
def test_fit_leaves_the_callers_arrays_untouched(rng, shuffle):
    # Unshuffled epochs read their batches straight from the caller's arrays (already float32 and C-contiguous here,
    # so not copied): nothing may write to them.
    X = rng.normal(size=(70, 4)).astype(np.float32)
    y = rng.normal(size=(70, 2)).astype(np.float32)
    w = rng.random(70).astype(np.float32)
    before = (X.copy(), y.copy(), w.copy())
    model = fm.Model([4, 9, 2], dtype="float32", seed=0)
    model.fit(X, y, sample_weight=w, epochs=3, batch_size=16, shuffle=shuffle, optimizer=fm.SGD(lr=0.01, momentum=0.9))
    for after, original in zip((X, y, w), before, strict=True):
        np.testing.assert_array_equal(after, original)
    assert not np.array_equal(model.params, fm.Model([4, 9, 2], dtype="float32", seed=0).params)


@pytest.mark.parametrize("batch_size", [70, 500])
def test_a_full_batch_is_one_step_whatever_the_order(rng, batch_size):
    # Every row in one batch: shuffle=True fits as shuffle=False does, bit for bit (no permutation is drawn or
    # gathered), for every seed; smaller batches still take a new order each epoch.
    X = rng.normal(size=(70, 4))
    y = rng.normal(size=70)
    fits = []
    for shuffle, seed in ((False, 0), (True, 0), (True, 1)):
        model = _model(sizes=(4, 6, 1))
        model.fit(X, y, epochs=3, batch_size=batch_size, shuffle=shuffle, seed=seed, optimizer=fm.Adam(lr=0.01))
        fits.append(model.params)
    assert_array_equal(fits[1], fits[0])
    assert_array_equal(fits[2], fits[0])
    shuffled, ordered = _model(sizes=(4, 6, 1)), _model(sizes=(4, 6, 1))
    shuffled.fit(X, y, epochs=3, batch_size=35, shuffle=True, seed=0, optimizer=fm.Adam(lr=0.01))
    ordered.fit(X, y, epochs=3, batch_size=35, shuffle=False, optimizer=fm.Adam(lr=0.01))
    assert not np.array_equal(shuffled.params, ordered.params)


def test_float32_momentum_just_below_one_still_decays():
    # 0.99999999 is a valid momentum but rounds to 1.0 in float32; the update then uses the float32 just below 1.
    from fastmlp._jit import optimizers as kernel

    hyper = np.zeros(kernel.N_HYPER)
    hyper[kernel.HYPER_LR], hyper[kernel.HYPER_MOMENTUM] = 0.1, 0.99999999
    params, grads = np.zeros(3, np.float32), np.zeros(3, np.float32)
    velocity = np.ones(3, np.float32)
    layout = np.array([1, 3], dtype=np.int64), np.array([0], dtype=np.int64)
    kernel.optimizer_step(kernel.OPT_SGD, hyper, *layout, grads, params, velocity, velocity, np.zeros(1, np.int64), 0.0)
    assert np.all(velocity == np.nextafter(np.float32(1), np.float32(0)))
    assert np.all(params == velocity)


# --- the plateau rule shared by tol, EarlyStopping, Adaptive and the estimators ----------------------------------
def test_plateau_follows_scikit_learn_and_keras():
    from fastmlp._plateau import Plateau

    # scikit-learn: an epoch at best - tol counts as an improvement, and best is the lowest value seen.
    sk = Plateau(patience=2, tol=0.5)
    assert sk.update(1.0) and sk.count == 0
    assert sk.update(0.5) and sk.count == 0 and sk.best == 0.5  # exactly best - tol: improves
    assert sk.update(0.25) and sk.count == 1 and sk.best == 0.25  # a new best that is not an improvement
    assert not sk.exhausted
    assert not sk.update(0.3) and sk.count == 2 and sk.exhausted
    # Keras: only a decrease of more than tol improves, and best moves only then.
    keras = Plateau(patience=2, tol=0.5, rule="keras")
    assert keras.update(1.0)
    assert not keras.update(0.5) and keras.count == 1 and keras.best == 1.0
    assert keras.update(0.4) and keras.count == 0 and keras.best == 0.4
    assert not keras.update(float("nan")) and not keras.update(0.0) and keras.exhausted
    with pytest.raises(ValueError, match="rule must be"):
        Plateau(1, rule="pytorch")


def test_a_diverging_fit_keeps_its_own_optimizer_state(data):
    # Fit with Adam, then a fit with SGD + momentum that diverges in epoch 2: the model keeps SGD's state from
    # before the failing epoch (what partial_fit continues), not the earlier Adam state.
    X, y = data
    model = _model(dtype="float32")
    model.fit(X, y, epochs=2, optimizer=fm.Adam(), batch_size=8)
    sgd = fm.SGD(lr=0.01, momentum=0.5)

    def blow_up(epoch, logs):
        model.params *= 1e30  # finite in float32, but the next forward pass overflows

    with pytest.raises(fm.TrainingDivergedError, match="epoch 2"):
        model.fit(X, y, epochs=3, optimizer=sgd, batch_size=8, shuffle=False, callbacks=blow_up)
    assert model.training_summary.optimizer == repr(sgd) and model.training_summary.epochs == 1
    assert model._train_state.optimizer == sgd and model._train_state.state1.any()  # the velocity of epoch 1


@pytest.mark.parametrize(
    "call, error",
    [
        (lambda: _model().fit(np.ones((4, 3)), np.ones(4), alpha="0.1"), TypeError),
        (lambda: _model().fit(np.ones((4, 3)), np.ones(4), tol="1e-4"), TypeError),
        (lambda: fm.EarlyStopping(min_delta="0"), TypeError),
        (lambda: fm.EarlyStopping(monitor=3), TypeError),
        (lambda: fm.EarlyStopping(restore_best_weights="no"), TypeError),
        (lambda: fm.AdamW(weight_decay=None), TypeError),
        (lambda: fm.Cosine(min_lr=[0]), TypeError),
        (lambda: fm.InverseScaling(power_t="half"), TypeError),
    ],
)
def test_a_wrong_type_is_a_type_error(call, error):
    with pytest.raises(error):
        call()
