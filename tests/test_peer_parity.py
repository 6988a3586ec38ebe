"""Parity with the peers' own code, when torchreid / fastreid are installed (benchmarks/setup_peers.sh).

Their package `__init__` files import training code we do not need, so single module files are loaded
by path; without the packages every test here is skipped.
"""

import importlib
import importlib.util
import sys
import types
from pathlib import Path

import numpy as np
import pytest

from raereid.clustering import jaccard_distance
from raereid.evaluation import evaluate_rank, rerank


def package_dir(name):
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        pytest.skip(f"{name} is not installed")
    return Path(list(spec.submodule_search_locations)[0])


def load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def ids_and_distances(seed=0, nq=60, ng=400):
    rng = np.random.default_rng(seed)
    q_pids, g_pids = rng.integers(0, 30, nq), rng.integers(0, 30, ng)
    q_camids, g_camids = rng.integers(0, 4, nq), rng.integers(0, 4, ng)
    distmat = rng.random((nq, ng)).astype(np.float32)  # continuous: no ties
    distmat -= 0.3 * (q_pids[:, None] == g_pids[None, :])  # true matches tend to come first
    return distmat, q_pids, g_pids, q_camids, g_camids


def test_evaluation_equals_fastreid_and_torchreid_python_evaluators(monkeypatch):
    fr = load("peer_fastreid_rank", package_dir("fastreid") / "evaluation" / "rank.py")
    args = ids_and_distances()
    ours = evaluate_rank(*args, max_rank=50)
    cmc, all_ap, all_inp = fr.eval_market1501(*args, 50)
    np.testing.assert_allclose(ours["cmc"], cmc, atol=1e-6)
    assert ours["mAP"] == pytest.approx(np.mean(all_ap), abs=1e-6)
    assert ours["mINP"] == pytest.approx(np.mean(all_inp), abs=1e-6)
    tr_dir = package_dir("torchreid")
    monkeypatch.setitem(sys.modules, "torchreid", None)  # its optional Cython probe then fails fast
    tr = load("peer_torchreid_rank", tr_dir / "reid" / "metrics" / "rank.py")
    cmc, m_ap = tr.eval_market1501(*args, 50)
    np.testing.assert_allclose(ours["cmc"], cmc, atol=1e-6)
    assert ours["mAP"] == pytest.approx(m_ap, abs=1e-6)


def test_rerank_equals_torchreid():
    tr = load("peer_torchreid_rerank", package_dir("torchreid") / "reid" / "utils" / "rerank.py")
    rng = np.random.default_rng(1)
    centres = rng.standard_normal((30, 32)) * 2
    x = (centres[rng.integers(0, 30, 400)] + rng.standard_normal((400, 32))).astype(np.float32)
    q, g = x[:60], x[60:]

    def euclidean(a, b):
        a, b = a.astype(np.float64), b.astype(np.float64)
        return np.sqrt(np.maximum((a * a).sum(1)[:, None] + (b * b).sum(1)[None] - 2 * a @ b.T, 0))

    ref = tr.re_ranking(euclidean(q, g), euclidean(q, q), euclidean(g, g), k1=20, k2=6, lambda_value=0.3)
    np.testing.assert_allclose(rerank(q, g), ref, rtol=0, atol=1e-5)


def test_jaccard_equals_spcl_compute_jaccard_distance():
    torch = pytest.importorskip("torch")
    utils = package_dir("fastreid") / "utils"
    pkg = types.ModuleType("peer_fastreid_utils")
    pkg.__path__ = [str(utils)]
    sys.modules["peer_fastreid_utils"] = pkg
    spcl = importlib.import_module("peer_fastreid_utils.compute_dist").compute_jaccard_distance
    rng = np.random.default_rng(2)
    centres = rng.standard_normal((25, 24))
    x = (centres[rng.integers(0, 25, 500)] + 0.8 * rng.standard_normal((500, 24))).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    ref = spcl(torch.from_numpy(x), k1=30, k2=6, search_option=3)
    ours = jaccard_distance(x, k1=30, k2=6).tocoo()
    np.testing.assert_allclose(ours.data, ref[ours.row, ours.col], atol=1e-5)
    stored = np.zeros(ref.shape, dtype=bool)
    stored[ours.row, ours.col] = True
    assert (ref[~stored] >= 1 - 1e-6).all()
