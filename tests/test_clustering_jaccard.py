"""jaccard_distance against a dense, slow re-statement of SpCL's k-reciprocal Jaccard distance."""

import numpy as np
import pytest
import scipy.sparse as sp

from raereid.clustering import jaccard_distance
from raereid.clustering import knn as knn_module
from raereid.errors import ConfigError, InputError
from raereid.neighbors import knn_all


def jaccard_reference(feats, k1, k2):
    """Dense definition: k1-NN table (self included), k1-reciprocal sets, expansion by round(k1/2)-reciprocal
    sets overlapping > 2/3, softmax(-(2 - 2 x.y)) weights, mean over the k2 nearest, 1 - s / (2 - s)."""
    x = feats.astype(np.float64)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    n = len(x)
    sq = ((x[:, None, :] - x[None, :, :]) ** 2).sum(-1)
    table = np.argsort(sq, axis=1, kind="stable")[:, : min(k1, n)]  # SpCL's faiss table has k1 columns

    def reciprocal(i, k):
        return [j for j in table[i, : k + 1] if i in table[j, : k + 1]]

    half = int(np.around(k1 / 2))
    v = np.zeros((n, n))
    for i in range(n):
        members = reciprocal(i, k1)
        expanded = set(members)
        for c in members:
            theirs = reciprocal(c, half)
            if len(set(theirs) & set(members)) > 2 / 3 * len(theirs):
                expanded |= set(theirs)
        e = sorted(expanded)
        w = np.exp(-(2 - 2 * x[e] @ x[i]))
        v[i, e] = w / w.sum()
    if k2 != 1:
        v = np.stack([v[table[i, :k2]].mean(axis=0) for i in range(n)])
    s = np.minimum(v[:, None, :], v[None, :, :]).sum(-1)
    return np.maximum(1 - s / (2 - s), 0)


def clustered(n, dim, ids, seed, spread=0.8):
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((ids, dim))
    x = centres[rng.integers(0, ids, n)] + spread * rng.standard_normal((n, dim))
    return x.astype(np.float32)


def check_against(ours, ref):
    n = ref.shape[0]
    assert isinstance(ours, sp.csr_matrix) and ours.shape == (n, n) and ours.dtype == np.float32
    coo = ours.tocoo()
    np.testing.assert_allclose(coo.data, ref[coo.row, coo.col], rtol=0, atol=1e-5)
    stored = np.zeros((n, n), dtype=bool)
    stored[coo.row, coo.col] = True
    assert (ref[~stored] >= 1 - 1e-6).all()
    assert stored[np.arange(n), np.arange(n)].all() and (ours.diagonal() == 0).all()
    assert (coo.data >= 0).all()


def assert_same(a, b):
    """Same stored entries, values equal up to float32 rounding of the distances they came from."""
    np.testing.assert_array_equal(a.indptr, b.indptr)
    np.testing.assert_array_equal(a.indices, b.indices)
    np.testing.assert_allclose(a.data, b.data, rtol=0, atol=2e-6)


@pytest.mark.parametrize("k1,k2", [(30, 6), (20, 1), (7, 3), (4, 6)])
def test_matches_the_dense_definition(k1, k2):
    x = clustered(160, 12, 9, seed=k1)
    check_against(jaccard_distance(x, k1=k1, k2=k2), jaccard_reference(x, k1, k2))


def test_fewer_samples_than_k1():
    x = clustered(9, 5, 2, seed=1)
    ours = jaccard_distance(x, k1=30, k2=6)
    check_against(ours, jaccard_reference(x, 30, 6))


def test_unnormalised_and_normalised_features_agree():
    x = clustered(120, 10, 6, seed=2)
    unit = x / np.linalg.norm(x, axis=1, keepdims=True)
    a, b = jaccard_distance(x * 7.5), jaccard_distance(unit)
    assert_same(a, b)


def test_symmetric_pass_with_faiss_on_close_cuts_equals_plain_faiss(monkeypatch):
    x = clustered(400, 16, 20, seed=3)
    x[200:260] = x[140:200]  # exact duplicates: tied distances at the cuts
    plain = jaccard_distance(x, k1=12, k2=4)
    monkeypatch.setattr(knn_module, "SYMMETRIC_MIN_ROWS", 10)
    monkeypatch.setattr(knn_module, "FAISS_MIN_BATCH_VALUES", 16 * 70)
    blocked = jaccard_distance(x, k1=12, k2=4)
    assert_same(plain, blocked)


def test_knn_all_equals_brute_force_with_ties_by_index():
    rng = np.random.default_rng(4)
    # small integers: every distance is exact in float32, so ties are exact and must go by index
    x = rng.integers(-3, 4, (300, 8)).astype(np.float32)
    x[150:] = x[:150]  # every row has an exact twin
    nb = knn_all(x, 7, row_max=True, block=64)
    d = ((x[:, None, :].astype(np.float64) - x[None, :, :]) ** 2).sum(-1)
    order = np.lexsort((np.broadcast_to(np.arange(300), d.shape), d), axis=1)[:, :7]
    np.testing.assert_array_equal(nb.index, order)
    np.testing.assert_array_equal(nb.dist, np.take_along_axis(d, order, axis=1))
    np.testing.assert_array_equal(nb.row_max, d.max(axis=1))


def test_input_validation():
    with pytest.raises(InputError, match="2-D"):
        jaccard_distance(np.ones(5, dtype=np.float32))
    bad = np.ones((4, 3), dtype=np.float32)
    bad[2, 0] = np.nan
    with pytest.raises(InputError, match=r"NaN or infinite values in 1 row\(s\) \(first: row 2\)"):
        jaccard_distance(bad)
    with pytest.raises(ConfigError, match="k1 must be an integer >= 1"):
        jaccard_distance(np.ones((4, 3), dtype=np.float32), k1=0)
    with pytest.raises(InputError, match="real numbers"):
        jaccard_distance(np.array([["a", "b"]]))
