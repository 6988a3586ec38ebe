"""Synthetic 2048-d re-ID features: Gaussian identity clusters of varied spread, plus random outliers.

Each identity has a random centre and its own spread, so some identities are tight and others overlap
their neighbours; a share of images are pure noise (the "random mix"). Features are L2-normalised,
as re-ID models output them. Deterministic in the seed.
"""

from __future__ import annotations

import numpy as np


def clustered(n: int, num_ids: int, dim: int = 2048, seed: int = 0, noise_share: float = 0.1,
              spread: tuple[float, float] = (0.7, 2.0)) -> tuple[np.ndarray, np.ndarray]:
    """(features float32 (n, dim) L2-normalised, identity per row int64; -1 for the random-mix rows)."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((num_ids, dim), dtype=np.float32)
    sigma = rng.uniform(*spread, num_ids).astype(np.float32)
    pids = rng.integers(0, num_ids, n)
    feats = np.empty((n, dim), dtype=np.float32)
    step = 4096
    for s in range(0, n, step):
        p = pids[s:s + step]
        feats[s:s + step] = centres[p] + sigma[p, None] * rng.standard_normal((p.size, dim), dtype=np.float32)
    noisy = rng.random(n) < noise_share
    feats[noisy] = rng.standard_normal((int(noisy.sum()), dim), dtype=np.float32)
    pids[noisy] = -1
    feats /= np.linalg.norm(feats, axis=1, keepdims=True)
    return feats, pids


def query_gallery(num_query: int, num_gallery: int, num_ids: int, num_cams: int = 6, dim: int = 2048, seed: int = 0):
    """Query and gallery features with pids and camera ids (no pid -1: every row is a real identity)."""
    feats, pids = clustered(num_query + num_gallery, num_ids, dim, seed)
    rng = np.random.default_rng(seed + 1)
    pids = np.where(pids < 0, rng.integers(0, num_ids, pids.size), pids)
    cams = rng.integers(0, num_cams, pids.size)
    q, g = slice(0, num_query), slice(num_query, None)
    return feats[q], feats[g], pids[q], pids[g], cams[q], cams[g]
