"""Evaluate a model on a dataset's query/gallery split (Market-1501 protocol, cosine distance)."""

from __future__ import annotations

import numpy as np

from raereid.config.schema import Config
from raereid.data.records import ReidDataset
from raereid.engine.features import extract, l2_normalize
from raereid.engine.runtime import Runtime
from raereid.evaluation import evaluate_features, evaluate_rank
from raereid.models.rae import RAE


def metrics_in_percent(result: dict) -> dict[str, float]:
    """mAP, mINP and rank-1/5/10 in percent (0-100) from an evaluator result."""
    cmc = np.asarray(result["cmc"])
    pick = lambda r: float(cmc[min(r, len(cmc)) - 1]) * 100.0  # noqa: E731
    return {
        "mAP": float(result["mAP"]) * 100.0,
        "rank1": pick(1),
        "rank5": pick(5),
        "rank10": pick(10),
        "mINP": float(result["mINP"]) * 100.0,
    }


def evaluate_model(
    model: RAE, dataset: ReidDataset, cfg: Config, runtime: Runtime, kind: str = "final", use_rerank: bool = False
) -> dict[str, float]:
    """Extract query and gallery descriptors and score them; every process gets the same metrics."""
    feats = extract(
        model,
        dataset.query + dataset.gallery,
        cfg.data.height,
        cfg.data.width,
        runtime,
        kinds=(kind,),
        batch_size=cfg.data.test_batch_size,
        workers=min(cfg.data.workers, 2),
        flip=cfg.model.flip_test,
        amp=cfg.train.amp,
        desc=f"evaluate {dataset.name}",
        cache=cfg.data.cache_images,
    )[kind]
    feats = l2_normalize(feats)
    nq = len(dataset.query)
    q, g = feats[:nq], feats[nq:]
    q_pids = np.array([r.pid for r in dataset.query])
    g_pids = np.array([r.pid for r in dataset.gallery])
    q_cams = np.array([r.camid for r in dataset.query])
    g_cams = np.array([r.camid for r in dataset.gallery])
    metrics = None
    if runtime.is_main:
        if use_rerank:
            from raereid.evaluation import rerank

            result = evaluate_rank(rerank(q, g), q_pids, g_pids, q_cams, g_cams)
        else:
            result = evaluate_features(q, g, q_pids, g_pids, q_cams, g_cams, metric="cosine")
        metrics = metrics_in_percent(result)
    return runtime.broadcast(metrics)
