"""Pseudo-label generators: DBSCAN parity with scikit-learn on the dense Jaccard matrix, the rho rule, registry."""

import numpy as np
import pytest
from sklearn.cluster import DBSCAN
from sklearn.metrics import adjusted_rand_score

from raereid.clustering import (
    LabelGenerator,
    adaptive_eps,
    available_label_generators,
    build_label_generator,
    jaccard_distance,
    pseudo_labels,
    register_label_generator,
)
from raereid.clustering import label_generators as registry_module
from raereid.errors import ConfigError


def clustered(n=240, dim=12, ids=15, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((ids, dim))
    x = centres[rng.integers(0, ids, n)] + 0.6 * rng.standard_normal((n, dim))
    return x.astype(np.float32)


def dense(dist):
    """The dense matrix the sparse one stands for: absent entries are 1.0."""
    out = np.ones(dist.shape, dtype=np.float64)
    coo = dist.tocoo()
    out[coo.row, coo.col] = coo.data
    return out


@pytest.mark.parametrize("eps", [0.3, 0.6, 0.75])
def test_dbscan_partition_equals_sklearn_on_the_dense_matrix(eps):
    x = clustered()
    labels = pseudo_labels(x, eps=eps)
    ref = DBSCAN(eps=eps, min_samples=4, metric="precomputed").fit_predict(dense(jaccard_distance(x)))
    assert labels.dtype == np.int64 and labels.shape == (240,)
    assert adjusted_rand_score(ref, labels) == 1.0
    np.testing.assert_array_equal(labels == -1, ref == -1)


def test_adaptive_eps_is_the_rho_rule_on_the_dense_matrix():
    x = clustered(seed=1)
    dist = jaccard_distance(x)
    d = dense(dist)
    for rho in (1.6e-3, 0.02, 0.6):
        tri = np.triu(d, 1)
        tri = np.sort(tri[np.nonzero(tri)])
        expected = tri[: int(np.round(rho * tri.size))].mean()
        assert adaptive_eps(dist, rho) == pytest.approx(expected, abs=1e-6)


def test_auto_eps_is_computed_once_and_kept():
    x = clustered(seed=2)
    gen = build_label_generator("dbscan", eps="auto", rho=0.01)
    first = gen(x)
    eps = gen.eps_
    assert 0 < eps < 1
    np.testing.assert_array_equal(first, pseudo_labels(x, eps=eps))
    gen(x[::-1].copy())
    assert gen.eps_ == eps


def test_kmeans_labels():
    x = clustered(seed=3)
    labels = pseudo_labels(x, method="kmeans", num_clusters=15)
    assert labels.dtype == np.int64 and labels.min() == 0 and labels.max() == 14
    np.testing.assert_array_equal(labels, pseudo_labels(x, method="kmeans", num_clusters=15))
    with pytest.raises(ConfigError, match="num_clusters=999 exceeds the 240 samples"):
        pseudo_labels(x, method="kmeans", num_clusters=999)


def test_registry_plugs_in_new_generators(monkeypatch):
    monkeypatch.setattr(registry_module.REGISTRY, "_items", dict(registry_module.REGISTRY._items))

    @register_label_generator("halves")
    class Halves:
        def __init__(self, eps: float = 0.5, offset: int = 0):
            self.offset = offset

        def __call__(self, features):
            return (np.arange(len(features)) * 2 // len(features) + self.offset).astype(np.int64)

    assert "halves" in available_label_generators()
    gen = build_label_generator("halves", offset=3)
    assert isinstance(gen, LabelGenerator)
    np.testing.assert_array_equal(gen(np.zeros((4, 2))), [3, 3, 4, 4])
    # the named dbscan arguments go only to generators that take them
    np.testing.assert_array_equal(pseudo_labels(np.zeros((4, 2)), method="halves", eps=0.1), [0, 0, 1, 1])
    with pytest.raises(ConfigError, match="already registered"):
        register_label_generator("halves")(lambda: None)


def test_configuration_errors():
    with pytest.raises(ConfigError, match="unknown pseudo-label method 'optics'"):
        build_label_generator("optics")
    with pytest.raises(ConfigError, match="bad parameters for label generator 'dbscan'"):
        build_label_generator("dbscan", epsilon=0.5)
    with pytest.raises(ConfigError, match=r"eps must lie in \(0.0, 1.0\)"):
        build_label_generator("dbscan", eps=1.0)
    with pytest.raises(ConfigError, match="min_samples must be an integer"):
        build_label_generator("dbscan", min_samples=2.5)
