"""Loads the peers' kernels from their installed PyPI packages, one module file at a time.

The packages' own `__init__` files pull in training code and pinned dependencies we do not need, so
each module is loaded by path (`importlib.util.spec_from_file_location`). Nothing here is peer code:
it only locates and imports the installed files. Run inside the peer venv (benchmarks/setup_peers.sh).
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import sysconfig
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

SITE = Path(sysconfig.get_paths()["purelib"])
CY_BUILD = Path(sys.prefix) / "peer_build" / "fastreid_rank_cy"


def _load(name: str, path: Path) -> types.ModuleType:
    if not path.is_file():
        raise ImportError(f"{path} not found: run benchmarks/setup_peers.sh and use that venv's python")
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def fastreid_eval_cython() -> Callable[..., Any]:
    """fast-reid's compiled `evaluate_cy`, returning (cmc, mAP, mINP) like fast-reid's ReidEvaluator."""
    sys.path.insert(0, str(CY_BUILD))
    try:
        rank_cy = importlib.import_module("rank_cy")
    finally:
        sys.path.pop(0)

    def evaluate(distmat, q_pids, g_pids, q_camids, g_camids, max_rank=50):
        import numpy as np

        cmc, all_ap, all_inp = rank_cy.evaluate_cy(distmat, q_pids, g_pids, q_camids, g_camids, max_rank, False)
        return np.asarray(cmc), float(np.mean(all_ap)), float(np.mean(all_inp))

    return evaluate


def fastreid_eval_python() -> Callable[..., Any]:
    """fast-reid's pure-Python `eval_market1501`, averaged as fast-reid's ReidEvaluator does: (cmc, mAP, mINP)."""
    module = _load("peer_fastreid_rank", SITE / "fastreid" / "evaluation" / "rank.py")

    def evaluate(distmat, q_pids, g_pids, q_camids, g_camids, max_rank=50):
        import numpy as np

        cmc, all_ap, all_inp = module.eval_market1501(distmat, q_pids, g_pids, q_camids, g_camids, max_rank)
        return np.asarray(cmc), float(np.mean(all_ap)), float(np.mean(all_inp))

    return evaluate


def torchreid_eval_python() -> Callable[..., Any]:
    """torchreid's pure-Python `eval_market1501` (cmc, mAP)."""
    sys.modules.setdefault("torchreid", None)  # its package __init__ needs torchvision: make the Cython probe fail fast
    module = _load("peer_torchreid_rank", SITE / "torchreid" / "reid" / "metrics" / "rank.py")
    return module.eval_market1501


def torchreid_rerank() -> Callable[..., Any]:
    """torchreid's `re_ranking(q_g_dist, q_q_dist, g_g_dist, k1, k2, lambda_value)`."""
    return _load("peer_torchreid_rerank", SITE / "torchreid" / "reid" / "utils" / "rerank.py").re_ranking


def spcl_jaccard() -> Callable[..., Any]:
    """SpCL's `compute_jaccard_distance` as OpenUnReID ported it into fastreid (fastreid.utils.compute_dist).

    Called with search_option=3: faiss IndexFlatL2 on CPU, as SpCL's CPU path.
    """
    pkg = types.ModuleType("peer_fastreid_utils")
    pkg.__path__ = [str(SITE / "fastreid" / "utils")]
    sys.modules["peer_fastreid_utils"] = pkg
    module = importlib.import_module("peer_fastreid_utils.compute_dist")
    return module.compute_jaccard_distance
