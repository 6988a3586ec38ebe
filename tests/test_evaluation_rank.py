"""evaluate_rank / evaluate_features against a slow re-statement of the Market-1501 protocol."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from raereid.errors import ConfigError, InputError
from raereid.evaluation import evaluate_features, evaluate_rank
from raereid.evaluation import rank as rank_module
from raereid.evaluation.distances import DistanceBlocks


def rank_metrics(distmat, q_pids, g_pids, q_camids, g_camids, max_rank):
    """Market-1501 protocol, one query at a time: stable sort, drop same pid+camera and pid -1."""
    max_rank = min(max_rank, distmat.shape[1])
    cmcs, aps, inps, skipped = [], [], [], []
    for i in range(distmat.shape[0]):
        order = np.argsort(distmat[i], kind="stable")
        keep = [j for j in order if g_pids[j] != -1 and not (g_pids[j] == q_pids[i] and g_camids[j] == q_camids[i])]
        hits = [1 if g_pids[j] == q_pids[i] else 0 for j in keep]
        if q_pids[i] == -1 or sum(hits) == 0:
            skipped.append(i)
            continue
        found, precisions, last = 0, [], 0
        cmc = []
        for r, h in enumerate(hits):
            if h:
                found += 1
                precisions.append(found / (r + 1))
                last = r
            if r < max_rank:
                cmc.append(1.0 if found else 0.0)
        cmc += [cmc[-1]] * (max_rank - len(cmc))
        cmcs.append(cmc)
        aps.append(sum(precisions) / found)
        inps.append(found / (last + 1))
    return np.mean(cmcs, axis=0), float(np.mean(aps)), float(np.mean(inps)), skipped


def _ids(rng, nq, ng, num_pids=6, num_cams=3, junk=True):
    low = -1 if junk else 0
    return (rng.integers(low, num_pids, nq), rng.integers(low, num_pids, ng),
            rng.integers(0, num_cams, nq), rng.integers(0, num_cams, ng))


def _check_against_reference(distmat, q_pids, g_pids, q_camids, g_camids, max_rank):
    ref_cmc, ref_map, ref_minp, ref_skipped = rank_metrics(distmat, q_pids, g_pids, q_camids, g_camids, max_rank)
    out = evaluate_rank(distmat, q_pids, g_pids, q_camids, g_camids, max_rank=max_rank)
    np.testing.assert_allclose(out["cmc"], ref_cmc, rtol=0, atol=1e-12)
    assert out["mAP"] == pytest.approx(ref_map, abs=1e-12)
    assert out["mINP"] == pytest.approx(ref_minp, abs=1e-12)
    assert out["skipped_queries"].tolist() == ref_skipped
    assert out["num_valid_queries"] + out["num_skipped_queries"] == distmat.shape[0]


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**31), nq=st.integers(1, 12), ng=st.integers(1, 40),
       levels=st.sampled_from([0, 2, 5]), max_rank=st.integers(1, 50))
def test_matches_reference_with_and_without_ties(seed, nq, ng, levels, max_rank):
    rng = np.random.default_rng(seed)
    # levels > 0: few distinct distances, so ties are everywhere and must go by gallery index.
    distmat = rng.integers(0, levels, (nq, ng)).astype(np.float32) if levels else rng.random((nq, ng))
    q_pids, g_pids, q_camids, g_camids = _ids(rng, nq, ng)
    q_pids[0] = g_pids[0] = 7  # at least one valid query
    q_camids[0], g_camids[0] = 0, 1
    _check_against_reference(distmat, q_pids, g_pids, q_camids, g_camids, max_rank)


def test_many_blocks_and_threads_give_the_same_result(monkeypatch):
    rng = np.random.default_rng(3)
    distmat = rng.random((257, 300)).astype(np.float32)
    distmat[:, ::7] = 0.5  # some exact ties
    ids = _ids(rng, 257, 300, num_pids=20)
    whole = evaluate_rank(distmat, *ids)
    monkeypatch.setattr(rank_module, "BLOCK_VALUES", 300 * 10)
    blocked = evaluate_rank(distmat, *ids)
    np.testing.assert_array_equal(whole["cmc"], blocked["cmc"])
    assert whole["mAP"] == blocked["mAP"] and whole["mINP"] == blocked["mINP"]
    _check_against_reference(distmat, *ids, max_rank=50)


def test_all_ties_rank_by_gallery_index():
    distmat = np.zeros((1, 5), dtype=np.float32)
    out = evaluate_rank(distmat, [1], [2, 1, 3, 1, 1], [0], [1, 1, 1, 1, 0], max_rank=5)
    # kept order 0..4 except index 4 (same pid and camera): hits at ranks 1 and 3
    np.testing.assert_allclose(out["cmc"], [0, 1, 1, 1, 1])
    assert out["mAP"] == pytest.approx((1 / 2 + 2 / 4) / 2)
    assert out["mINP"] == pytest.approx(2 / 4)


def test_query_without_valid_match_is_skipped_and_reported():
    distmat = np.array([[0.1, 0.2, 0.3], [0.3, 0.2, 0.1], [0.5, 0.5, 0.5]], dtype=np.float32)
    q_pids, g_pids = np.array([1, 2, -1]), np.array([1, 2, 2])
    q_camids, g_camids = np.array([0, 0, 0]), np.array([1, 0, 0])
    out = evaluate_rank(distmat, q_pids, g_pids, q_camids, g_camids, max_rank=3)
    # query 1: its only pid-2 items share its camera; query 2 has pid -1
    assert out["skipped_queries"].tolist() == [1, 2]
    assert out["num_valid_queries"] == 1 and out["mAP"] == 1.0
    np.testing.assert_allclose(out["cmc"], [1, 1, 1])


def test_one_camera_everywhere_has_no_valid_query():
    distmat = np.random.default_rng(0).random((3, 4))
    with pytest.raises(InputError, match="no query has a true match"):
        evaluate_rank(distmat, [1, 2, 3], [1, 2, 3, 4], [0, 0, 0], [0, 0, 0, 0])


def test_junk_gallery_items_are_ignored():
    distmat = np.array([[0.0, 0.1, 0.2]])
    out = evaluate_rank(distmat, [5], [-1, 9, 5], [0], [1, 1, 1], max_rank=3)
    np.testing.assert_allclose(out["cmc"], [0, 1, 1])
    assert out["mAP"] == pytest.approx(0.5)


def test_cmc_is_cut_to_the_gallery_size():
    out = evaluate_rank(np.array([[0.3, 0.1]]), [1], [1, 2], [0], [1, 1], max_rank=50)
    assert out["cmc"].shape == (2,)
    np.testing.assert_allclose(out["cmc"], [0, 1])


@pytest.mark.parametrize("metric", ["euclidean", "cosine"])
def test_features_equal_the_explicit_distance_matrix(metric, monkeypatch):
    rng = np.random.default_rng(5)
    qf, gf = rng.standard_normal((40, 16)).astype(np.float32), rng.standard_normal((90, 16)).astype(np.float32)
    ids = _ids(rng, 40, 90, num_pids=8)
    q64, g64 = qf.astype(np.float64), gf.astype(np.float64)
    if metric == "cosine":
        q64 /= np.linalg.norm(q64, axis=1, keepdims=True)
        g64 /= np.linalg.norm(g64, axis=1, keepdims=True)
        dist = 1 - q64 @ g64.T
    else:
        dist = ((q64[:, None, :] - g64[None, :, :]) ** 2).sum(-1)
    monkeypatch.setattr(rank_module, "BLOCK_VALUES", 90 * 7)
    out = evaluate_features(qf, gf, *ids, metric=metric, max_rank=20)
    ref_cmc, ref_map, ref_minp, _ = rank_metrics(dist, *ids, 20)
    np.testing.assert_allclose(out["cmc"], ref_cmc, atol=1e-12)
    assert out["mAP"] == pytest.approx(ref_map, abs=1e-12)
    assert out["mINP"] == pytest.approx(ref_minp, abs=1e-12)
    full = DistanceBlocks(qf, gf, metric).block(0, 40)
    assert evaluate_rank(full, *ids, max_rank=20)["mAP"] == out["mAP"]


def test_input_validation_messages():
    d = np.zeros((2, 3))
    ok = ([1, 2], [1, 2, 3], [0, 0], [1, 1, 1])
    with pytest.raises(InputError, match="2-D"):
        evaluate_rank(np.zeros(3), *ok)
    with pytest.raises(InputError, match=r"q_pids must be a 1-D array of length 2, got shape \(3,\)"):
        evaluate_rank(d, [1, 2, 3], *ok[1:])
    with pytest.raises(InputError, match="g_camids must hold integers"):
        evaluate_rank(d, *ok[:3], [1.0, 1.0, 1.0])
    bad = d.copy()
    bad[1, 2] = np.nan
    with pytest.raises(InputError, match="NaN distances in 1 row"):
        evaluate_rank(bad, *ok)
    with pytest.raises(ConfigError, match="max_rank"):
        evaluate_rank(d, *ok, max_rank=0)
    with pytest.raises(InputError, match="real numbers"):
        evaluate_rank(d.astype(complex), *ok)
    qf = np.ones((2, 4), dtype=np.float32)
    gf = np.ones((3, 4), dtype=np.float32)
    nan_q = qf.copy()
    nan_q[0, 1] = np.nan
    with pytest.raises(InputError, match="q_feats has NaN or infinite values"):
        evaluate_features(nan_q, gf, *ok)
    with pytest.raises(InputError, match="differ in dimension"):
        evaluate_features(qf, np.ones((3, 5), dtype=np.float32), *ok)
    with pytest.raises(ConfigError, match="unknown metric"):
        evaluate_features(qf, gf, *ok, metric="manhattan")
    assert isinstance(InputError("x"), ValueError)
