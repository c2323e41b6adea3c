"""Sparse input (SciPy CSR and CSC, matrices and arrays): the same results as the dense matrix, never densified."""

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal

import fastmlp as fm

RNG = np.random.default_rng(0)
X_SPARSE = sp.random(120, 30, density=0.1, format="csr", random_state=1, dtype=np.float64)
X_DENSE = X_SPARSE.toarray()
LABELS = RNG.integers(0, 3, size=120)
FORMS = {
    "csr_matrix": sp.csr_matrix, "csc_matrix": sp.csc_matrix, "csr_array": sp.csr_array, "csc_array": sp.csc_array,
}  # fmt: skip


def _twins(sizes, hidden="tanh", output="softmax", dtype="float64", **kwargs):
    return tuple(fm.Model(sizes, hidden=hidden, output=output, dtype=dtype, seed=0, **kwargs) for _ in range(2))


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("sizes", [[30, 9, 5, 3], [30, 3]], ids=["hidden", "no-hidden"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_predict_loss_gradients_match_the_dense_matrix(form, sizes, dtype):
    sparse, dense = _twins(sizes, dtype=dtype)
    X = FORMS[form](X_SPARSE)
    rtol = 1e-5 if dtype == "float32" else 1e-12
    assert_allclose(sparse.predict(X), dense.predict(X_DENSE), rtol=rtol, atol=1e-7)
    assert_allclose(sparse.predict(X, chunk_size=7), dense.predict(X_DENSE), rtol=rtol, atol=1e-7)
    assert sparse.loss(X, LABELS) == pytest.approx(dense.loss(X_DENSE, LABELS), rel=rtol)
    assert_allclose(sparse.gradients(X, LABELS).flat, dense.gradients(X_DENSE, LABELS).flat, rtol=rtol, atol=1e-7)


@pytest.mark.parametrize("sizes", [[30, 9, 5, 3], [30, 3]], ids=["hidden", "no-hidden"])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("optimizer", ["adam", "adamw", fm.optimizers.SGD(momentum=0.9, nesterov=True)],
                         ids=["adam", "adamw", "nesterov"])  # fmt: skip
def test_fit_and_partial_fit_match_the_dense_matrix(sizes, bias, optimizer):
    """Many steps: the sparse epoch keeps its first-layer gradient zero between steps, row by touched row."""
    sparse, dense = _twins(sizes, bias=bias)
    options = {"epochs": 3, "batch_size": 16, "optimizer": optimizer, "alpha": 1e-3, "validation_fraction": 0.25,
               "seed": 2, "record_gradient_norms": True}  # fmt: skip
    h_sparse, h_dense = sparse.fit(X_SPARSE, LABELS, **options), dense.fit(X_DENSE, LABELS, **options)
    assert_allclose(sparse.params, dense.params, rtol=1e-12, atol=1e-14)
    assert_allclose(h_sparse.loss, h_dense.loss, rtol=1e-12)
    assert_allclose(h_sparse.val_loss, h_dense.val_loss, rtol=1e-12)
    assert h_sparse.metric == h_dense.metric
    assert_allclose(h_sparse.grad_norms, h_dense.grad_norms, rtol=1e-12)
    sparse.partial_fit(X_SPARSE.tocsc(), LABELS, sample_weight=np.arange(120.0), shuffle=False)
    dense.partial_fit(X_DENSE, LABELS, sample_weight=np.arange(120.0), shuffle=False)
    assert_allclose(sparse.params, dense.params, rtol=1e-12, atol=1e-14)


def test_sparse_validation_data(rng):
    sparse, dense = _twins([30, 6, 3])
    val = (X_SPARSE[:20], LABELS[:20])
    h = sparse.fit(X_SPARSE, LABELS, epochs=2, validation=val)
    assert_allclose(h.val_loss, dense.fit(X_DENSE, LABELS, epochs=2, validation=(X_DENSE[:20], LABELS[:20])).val_loss)


def test_a_large_sparse_matrix_is_never_made_dense():
    # 50,000 x 200,000 float64 would be 80 GB dense: only the stored entries are ever read.
    rng = np.random.default_rng(0)
    rows, cols = np.repeat(np.arange(50_000), 4), rng.integers(0, 200_000, size=200_000)
    X = sp.csr_matrix((rng.random(200_000), (rows, cols)), shape=(50_000, 200_000))
    model = fm.Model([200_000, 4, 1], dtype="float64", seed=0)
    y = np.asarray(X.sum(axis=1)).ravel()
    history = model.fit(X, y, epochs=1, batch_size=256)
    assert np.isfinite(history.loss[0]) and model.predict(X).shape == (50_000, 1)


def test_sparse_input_is_checked():
    model = fm.Model([30, 3], output="softmax", seed=0)
    bad = X_SPARSE.copy()
    bad.data[3] = np.nan
    with pytest.raises(ValueError, match="X contains NaN"):
        model.predict(bad)
    with pytest.raises(ValueError, match="X has 29 features"):
        model.predict(X_SPARSE[:, :29])
    with pytest.raises(TypeError, match="sparse COO matrix; give CSR or CSC"):
        model.predict(X_SPARSE.tocoo())
    with pytest.raises(ValueError, match="X is empty"):
        model.predict(X_SPARSE[:0])
    scaled = fm.Model([30, 3], output="softmax", seed=0)
    scaled.set_input_scaling(np.zeros(30), np.ones(30))
    with pytest.raises(ValueError, match="X is sparse, and this model's input scaling would make it dense"):
        scaled.predict(X_SPARSE)
    with pytest.raises(ValueError, match="validation X has 29 features"):
        model.fit(X_SPARSE, LABELS, validation=(X_SPARSE[:5, :29], LABELS[:5]))


def _malformed(form, flaw):
    """A 3 x 6 identity-like matrix whose index arrays SciPy has not checked, made wrong in one way."""
    S = FORMS[form](np.eye(3, 6))
    minor = S.shape[1] if form.startswith("csr") else S.shape[0]
    if flaw == "index far out":
        S.indices[1] = 10**8  # read far past the weights: a crash
    elif flaw == "index just past":
        S.indices[1] = minor  # read the next block of params as weights: a wrong answer
    elif flaw == "negative index":
        S.indices[1] = -1  # wrapped around to the last column: a wrong answer
    elif flaw == "indptr decreasing":
        S.indptr[1:3] = [3, 1]
    elif flaw == "indptr not from 0":
        S.indptr[0] = 1
    elif flaw == "indptr past the values":
        S.indptr[-1] = 99
    return S


FLAWS = ["index far out", "index just past", "negative index", "indptr decreasing", "indptr not from 0",
         "indptr past the values"]  # fmt: skip


@pytest.mark.filterwarnings("ignore:Stochastic Optimizer")  # max_iter=2 does not converge
@pytest.mark.parametrize("form", ["csr_matrix", "csc_matrix", "csr_array"])
@pytest.mark.parametrize("flaw", FLAWS)
def test_malformed_sparse_index_arrays_are_refused(form, flaw):
    S = _malformed(form, flaw)
    model = fm.Model([6, 5, 3], output="softmax", seed=0)
    before = model.params.copy()
    for call in (model.predict, model.forward, lambda X: model.fit(X, [0, 1, 2], epochs=1)):
        with pytest.raises(ValueError, match="X is a malformed sparse matrix"):
            call(S)
    assert_array_equal(model.params, before)
    pytest.importorskip("sklearn")
    fitted = fm.MLPClassifier((4,), max_iter=2).fit(np.eye(3, 6), [0, 1, 2])
    with pytest.raises(ValueError, match="X is a malformed sparse matrix"):
        fitted.predict(S)
    for solver in ("adam", "lbfgs"):
        with pytest.raises(ValueError, match="X is a malformed sparse matrix"):
            fm.MLPClassifier((4,), max_iter=2, solver=solver).fit(S, [0, 1, 2])


@pytest.mark.parametrize("solver", ["adam", "sgd", "lbfgs"])
def test_estimators_fit_sparse_as_dense(solver):
    pytest.importorskip("sklearn")
    params = {"hidden_layer_sizes": (8,), "solver": solver, "max_iter": 20, "random_state": 0}
    with pytest.warns(Warning):  # 20 epochs do not converge
        sparse = fm.MLPClassifier(**params).fit(X_SPARSE, LABELS)
    with pytest.warns(Warning):
        dense = fm.MLPClassifier(**params).fit(X_DENSE, LABELS)
    for a, b in zip(sparse.coefs_, dense.coefs_, strict=True):
        assert_allclose(a, b, rtol=1e-9, atol=1e-12)
    assert_array_equal(sparse.predict(X_SPARSE), dense.predict(X_DENSE))
    early = solver != "lbfgs"
    reg = fm.MLPRegressor(hidden_layer_sizes=(5,), solver=solver, max_iter=5, random_state=0, early_stopping=early)
    with pytest.warns(Warning):
        reg.fit(X_SPARSE.tocsc(), X_DENSE[:, 0] + 2 * X_DENSE[:, 1])
    assert reg.predict(X_SPARSE).shape == (120,)
