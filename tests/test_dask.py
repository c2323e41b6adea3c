"""Scale-out with Dask: a real two-process LocalCluster on loopback."""

import pickle

import numpy as np
import pytest
from numpy.testing import assert_array_equal

import fastmlp as fm

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")

from fastmlp.dask import predict  # noqa: E402

pytestmark = [
    pytest.mark.dask,
    pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::ResourceWarning", "ignore::UserWarning"),
]


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
    )
    with distributed.Client(cluster) as client:
        yield client
    cluster.close()


def test_models_pickle_small():
    model = fm.Model([784, 256, 128, 10], output="softmax", seed=0)
    size = len(pickle.dumps(model))
    assert model.params.nbytes < size < model.params.nbytes + 4096  # the parameters and a little configuration


@pytest.mark.subprocess  # the cluster's two workers are processes
def test_predict_on_a_local_cluster_equals_local_predict(client):
    model = fm.Model([12, 32, 4], output="softmax", seed=0)
    X = np.random.default_rng(0).normal(size=(5000, 12)).astype(np.float32)
    lazy = predict(model, da.from_array(X, chunks=(700, 5)))  # 8 row blocks; feature chunks get joined
    assert lazy.dtype == np.float32 and lazy.shape == (5000, 4)
    assert lazy.chunks[0] == da.from_array(X, chunks=700).chunks[0]
    result = client.compute(lazy).result()
    assert_array_equal(result, model.predict(X))
    workers = client.run(lambda: __import__("os").getpid())
    assert len(set(workers.values())) == 2


def test_the_graph_keeps_the_weights_it_was_made_with():
    # Training the model between predict() and compute() must not change what the graph computes.
    X, y = fm.make_spirals(200, seed=0)
    model = fm.Model([2, 16, 2], output="softmax", seed=0)
    lazy, eager = [], []
    for _ in range(3):
        lazy.append(predict(model, da.from_array(X, chunks=50)))
        eager.append(model.predict(X))
        model.fit(X, y, epochs=5)
    for graph, expected in zip(lazy, eager, strict=True):
        assert_array_equal(graph.compute(scheduler="synchronous"), expected)


def test_bad_arguments():
    model = fm.Model([3, 1])
    with pytest.raises(ValueError, match="X has 4 features, but the model expects 3"):
        predict(model, da.zeros((10, 4)))
    with pytest.raises(ValueError, match="X must be 2-D"):
        predict(model, da.zeros(10))
    with pytest.raises(TypeError, match="model must be a fastmlp.Model"):
        predict("model", da.zeros((10, 3)))


@pytest.mark.subprocess
def test_grid_search_with_the_dask_joblib_backend(client):
    pytest.importorskip("sklearn")
    import joblib
    from sklearn.datasets import load_iris
    from sklearn.model_selection import GridSearchCV

    X, y = load_iris(return_X_y=True)
    search = GridSearchCV(
        fm.MLPClassifier(max_iter=50, learning_rate_init=0.05, random_state=0),
        {"hidden_layer_sizes": [(4,), (16,)]},
        cv=3,
        n_jobs=-1,
    )
    with joblib.parallel_backend("dask"):
        search.fit(X, y)
    local = GridSearchCV(search.estimator, search.param_grid, cv=3).fit(X, y)
    assert search.best_params_ == local.best_params_
    assert np.allclose(search.cv_results_["mean_test_score"], local.cv_results_["mean_test_score"])
