"""What a model's target clusters group by: identity, or camera (and the background a camera sees).

Extracts the target training split's descriptors of a checkpoint the way the relabelling hook does at a run's
first clustering (the encoder's descriptor, no flip), clusters them as training does (DBSCAN with
min_samples 4 on the k-reciprocal Jaccard distance, k1 30, k2 6) at each --eps, and prints per clustering
the cluster and outlier counts, the ARI of the clusters against identities and against cameras, the share of
identity-pure and camera-pure clusters and the largest cluster; and, before clustering, the share of each
image's 10 nearest neighbours with its identity / its camera, and the share of image pairs within eps 0.6
by (same or other identity) x (same or other camera). Used in docs/synthetic-benchmark.md ("Tracklets").

    python benchmarks/synth_clusters.py RUN/model.pt --data-root DATA --eps 0.5 0.6 0.7 [--json out.json]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch
from sklearn.metrics import adjusted_rand_score

from raereid.clustering.dbscan import dbscan_labels
from raereid.clustering.jaccard import jaccard_distance
from raereid.data.registry import load_dataset
from raereid.engine.runtime import Runtime
from raereid.inference.features import extract, l2_normalize
from raereid.tools.inputs import open_model


def purity(labels: np.ndarray, truth: np.ndarray) -> float:
    """Mean over clusters of the share of the cluster's most frequent `truth` value."""
    shares = [np.unique(truth[labels == c], return_counts=True)[1].max() / (labels == c).sum()
              for c in range(labels.max() + 1)]
    return float(np.mean(shares)) if shares else 0.0


def neighbour_shares(feats: np.ndarray, factors: dict[str, np.ndarray], k: int = 10) -> dict[str, float]:
    """Share of each image's k nearest neighbours (cosine) that have its value of each factor."""
    sim = feats @ feats.T
    np.fill_diagonal(sim, -np.inf)
    nearest = np.argsort(-sim, axis=1)[:, :k]
    return {name: float((values[nearest] == values[:, None]).mean()) for name, values in factors.items()}


def close_pairs(dist, pid: np.ndarray, cam: np.ndarray, eps: float = 0.6) -> dict[str, float]:
    """Share of the image pairs of each kind (same/other identity x same/other camera) within `eps`."""
    close = dist.copy()
    close.data = (close.data <= eps).astype(np.int8)
    close.setdiag(0)
    close.eliminate_zeros()
    rows, cols = close.nonzero()
    same_id, same_cam = pid[:, None] == pid[None], cam[:, None] == cam[None]
    out = {}
    masks = (("same id, same camera", same_id & same_cam), ("same id, other camera", same_id & ~same_cam),
             ("other id, same camera", ~same_id & same_cam), ("other id, other camera", ~same_id & ~same_cam))
    for name, mask in masks:
        np.fill_diagonal(mask, False)
        out[name] = float(mask[rows, cols].sum() / max(1, mask.sum()))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint")
    parser.add_argument("--data-root", required=True)
    parser.add_argument("--target", default=None, help="dataset to cluster (default: the checkpoint's target)")
    parser.add_argument("--eps", type=float, nargs="+", default=[0.6])
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    trained = open_model(args.checkpoint, "cpu")
    cfg = trained.cfg
    records = load_dataset(args.target or cfg.data.target, args.data_root).train
    feats = extract(trained.model, records, cfg.data.height, cfg.data.width, Runtime(torch.device("cpu")),
                    kinds=("encoder",), batch_size=cfg.data.test_batch_size, workers=0)["encoder"]
    feats = l2_normalize(feats)
    pid, cam = np.array([r.pid for r in records]), np.array([r.camid for r in records])
    dist = jaccard_distance(feats, 30, 6)
    result = {"images": len(records), "identities": int(len(np.unique(pid))),
              "neighbours_10": neighbour_shares(feats, {"identity": pid, "camera": cam}),
              "pairs_within_0.6": close_pairs(dist, pid, cam), "clusterings": {}}
    for eps in args.eps:
        labels = dbscan_labels(dist, eps, 4)
        kept = labels >= 0
        result["clusterings"][str(eps)] = {
            "clusters": int(labels.max() + 1), "outliers": int((~kept).sum()),
            "ari_identity": float(adjusted_rand_score(pid[kept], labels[kept])) if kept.any() else 0.0,
            "ari_camera": float(adjusted_rand_score(cam[kept], labels[kept])) if kept.any() else 0.0,
            "identity_purity": purity(labels, pid), "camera_purity": purity(labels, cam),
            "largest": int(np.bincount(labels[kept]).max()) if kept.any() else 0,
        }
    print(json.dumps(result, indent=1))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
