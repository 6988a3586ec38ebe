"""Query x gallery distance blocks computed from features, one block of query rows at a time.

Squared Euclidean distance |q|^2 + |g|^2 - 2 q.g (as torchreid's and fast-reid's `euclidean`, which
skip the square root: the ranking is the same) or cosine distance 1 - q.g / (|q| |g|), in float32.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from raereid.errors import ConfigError, InputError

METRICS = ("euclidean", "cosine")


def l2_normalize(x: np.ndarray) -> np.ndarray:
    """Rows divided by their L2 norm (zero rows stay zero), float32."""
    norms = np.sqrt(np.einsum("ij,ij->i", x, x, dtype=np.float64)).astype(np.float32)
    norms[norms == 0] = 1.0
    return x / norms[:, None]


class DistanceBlocks:
    """Prepares the gallery once, then yields distance blocks for ranges of query rows."""

    def __init__(self, q_feats: np.ndarray, g_feats: np.ndarray, metric: str):
        if metric not in METRICS:
            raise ConfigError(f"unknown metric {metric!r}", fix=f"use one of {', '.join(METRICS)}")
        if q_feats.shape[1] != g_feats.shape[1]:
            raise InputError(
                f"query and gallery features differ in dimension: {q_feats.shape} vs {g_feats.shape}",
                fix="extract both with the same model",
            )
        self.metric = metric
        if metric == "cosine":
            self.q, self.g = l2_normalize(q_feats), l2_normalize(g_feats)
            self.g_sq = None
        else:
            self.q, self.g = q_feats, g_feats
            self.q_sq = np.einsum("ij,ij->i", q_feats, q_feats)
            self.g_sq = np.einsum("ij,ij->i", g_feats, g_feats)

    def block(self, start: int, stop: int) -> np.ndarray:
        """Distances of query rows [start, stop) to every gallery item, float32 (stop - start, G)."""
        prod = self.q[start:stop] @ self.g.T
        if self.metric == "cosine":
            np.subtract(1.0, prod, out=prod)
        else:
            prod *= -2.0
            prod += self.q_sq[start:stop, None]
            prod += self.g_sq[None, :]
        return prod

    def blocks(self, rows: int) -> Iterator[tuple[int, int, np.ndarray]]:
        """Yields (start, stop, block) for consecutive ranges of `rows` query rows."""
        n = self.q.shape[0]
        for start in range(0, n, rows):
            stop = min(n, start + rows)
            yield start, stop, self.block(start, stop)
