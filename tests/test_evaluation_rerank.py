"""rerank against a dense, slow re-statement of the original k-reciprocal re-ranking."""

import numpy as np
import pytest

from raereid import neighbors
from raereid.errors import ConfigError, InputError
from raereid.evaluation import rerank


def rerank_reference(q, g, k1, k2, lam):
    """The original algorithm on all N = query + gallery features, with stable (index) tie-breaking."""
    x = np.concatenate([q, g]).astype(np.float64)
    nq, n = len(q), len(q) + len(g)
    sq = ((x[:, None, :] - x[None, :, :]) ** 2).sum(-1)
    original = (sq / sq.max(axis=0)).T.astype(np.float32)  # column maximum, as the original code divides
    table = np.argsort(original, axis=1, kind="stable")

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
        w = np.exp(-original[i, e].astype(np.float64))
        v[i, e] = w / w.sum()
    if k2 != 1:
        v = np.stack([v[table[i, :k2]].mean(axis=0) for i in range(n)])
    s = np.minimum(v[:nq, None, :], v[None, :, :]).sum(-1)
    jaccard = 1 - s / (2 - s)
    return (jaccard * (1 - lam) + original[:nq] * lam)[:, nq:]


def identities(nq, ng, dim, ids, seed, spread=0.7):
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((ids, dim)) * 3
    x = (centres[rng.integers(0, ids, nq + ng)] + spread * rng.standard_normal((nq + ng, dim))).astype(np.float32)
    return x[:nq], x[nq:]


@pytest.mark.parametrize("nq,ng,k1,k2,lam", [(40, 200, 20, 6, 0.3), (25, 160, 6, 1, 0.5), (30, 150, 9, 3, 0.0)])
def test_matches_the_dense_definition(nq, ng, k1, k2, lam):
    q, g = identities(nq, ng, 12, 25, seed=k1)
    ours = rerank(q, g, k1=k1, k2=k2, lambda_value=lam)
    assert ours.dtype == np.float32 and ours.shape == (nq, ng)
    np.testing.assert_allclose(ours, rerank_reference(q, g, k1, k2, lam), rtol=0, atol=1e-5)


def test_small_blocks_and_fewer_images_than_k1(monkeypatch):
    q, g = identities(30, 170, 10, 20, seed=7)
    whole = rerank(q, g)
    monkeypatch.setattr(neighbors, "BLOCK", 48)
    np.testing.assert_allclose(rerank(q, g), whole, rtol=0, atol=1e-6)
    tiny_q, tiny_g = identities(4, 9, 6, 3, seed=8)
    np.testing.assert_allclose(rerank(tiny_q, tiny_g), rerank_reference(tiny_q, tiny_g, 20, 6, 0.3), atol=1e-5)


def test_exact_ties_are_broken_by_index():
    rng = np.random.default_rng(9)
    base = rng.integers(-2, 3, (60, 6)).astype(np.float32)  # integer features: exact distances, many ties
    q, g = base[:15], np.concatenate([base[15:], base[15:45]])
    np.testing.assert_allclose(rerank(q, g, k1=8, k2=3), rerank_reference(q, g, 8, 3, 0.3), atol=1e-5)


def test_input_validation():
    q, g = identities(3, 8, 4, 2, seed=0)
    with pytest.raises(InputError, match="differ in dimension"):
        rerank(q, g[:, :3])
    bad = g.copy()
    bad[1, 1] = np.inf
    with pytest.raises(InputError, match="g_feats has NaN or infinite values"):
        rerank(q, bad)
    with pytest.raises(ConfigError, match="lambda_value must lie in"):
        rerank(q, g, lambda_value=1.5)
    with pytest.raises(ConfigError, match="k2 must be an integer"):
        rerank(q, g, k2=0)
