"""Test-time k-reciprocal re-ranking (Zhong et al., CVPR'17), exact and without N x N matrices.

Same numbers as the original code (torchreid's `re_ranking` fed with Euclidean distances): with all
N = query + gallery features, original_dist = squared Euclidean distance divided by the row's
maximum over all N; k1-reciprocal sets expanded by round(k1/2)-reciprocal sets sharing more than 2/3
of their members, weights exp(-original_dist) normalised per row, mean over the k2 nearest, Jaccard
distance 1 - s / (2 - s), and final = (1 - lambda) * jaccard + lambda * original_dist (query x gallery).

Memory: one pass over half the distance matrix (blocks of 2048 x 2048) yields every row's k1 + 1
nearest, its maximum and the query x gallery distances, which are written straight into the output;
encodings are sparse rows. Besides the output (num_query x num_gallery float32) only O(N k1) is kept.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from raereid.arrays import check_features, check_float, check_int
from raereid.errors import InputError
from raereid.kreciprocal import (
    encode,
    expanded_sets,
    gathered_dots,
    half_length,
    min_overlap_blocks,
    pair_values,
    query_expand,
    reciprocal_lists,
)
from raereid.neighbors import knn_all

# Extra candidates kept per row beyond k1 + 1, so rows whose order is too close to call in float32
# can be re-sorted on exact float64 distances.
MARGIN = 8
# Gap (relative to the largest squared norm) under which a cut is re-decided in float64.
CUT_TOLERANCE = 2e-5


def _refine(x: np.ndarray, index: np.ndarray, dist: np.ndarray, cuts: tuple[int, ...]) -> None:
    """Re-sorts, in place, the rows whose squared distances at a cut differ by less than the tolerance."""
    tol = CUT_TOLERANCE * float(np.einsum("ij,ij->i", x, x).max())
    unsure = np.zeros(index.shape[0], dtype=bool)
    for c in cuts:
        if 0 < c < index.shape[1]:
            unsure |= dist[:, c] - dist[:, c - 1] <= tol
    for start in range(0, int(unsure.sum()), 256):
        rows = np.flatnonzero(unsure)[start:start + 256]
        cand = index[rows]
        diff = x[rows][:, None, :].astype(np.float64) - x[cand]
        exact = np.einsum("rkd,rkd->rk", diff, diff)
        order = np.lexsort((cand, exact), axis=1)
        index[rows] = np.take_along_axis(cand, order, axis=1)
        dist[rows] = np.take_along_axis(exact, order, axis=1)


def rerank(
    q_feats: np.ndarray,
    g_feats: np.ndarray,
    k1: int = 20,
    k2: int = 6,
    lambda_value: float = 0.3,
) -> np.ndarray:
    """Re-ranked query x gallery distance matrix (float32) of Euclidean features; parameters as the paper's."""
    q = check_features(q_feats, "q_feats")
    g = check_features(g_feats, "g_feats")
    if q.shape[1] != g.shape[1]:
        raise InputError(f"query and gallery features differ in dimension: {q.shape} vs {g.shape}",
                         fix="extract both with the same model")
    k1 = check_int(k1, "k1")
    k2 = check_int(k2, "k2")
    lam = check_float(lambda_value, "lambda_value", 0.0, 1.0)
    nq, ng = q.shape[0], g.shape[0]
    x = np.concatenate([q, g])
    n = x.shape[0]
    out = np.empty((nq, ng), dtype=np.float32)

    def keep_query_gallery(r0: int, r1: int, c0: int, c1: int, block: np.ndarray) -> None:
        if r0 < nq and c1 > nq:
            a, b = max(c0, nq), min(r1, nq)
            out[r0:b, a - nq:c1 - nq] = block[: b - r0, a - c0:]

    half = half_length(k1)
    cuts = (k1 + 1, half, k2)
    nb = knn_all(x, k1 + 1 + MARGIN, row_max=True, sink=keep_query_gallery)
    _refine(x, nb.index, nb.dist, cuts)
    top = nb.row_max.astype(np.float64)
    top[top == 0] = 1.0  # all features identical: every distance is 0
    ranks = nb.index

    pattern = expanded_sets(reciprocal_lists(ranks, k1 + 1), reciprocal_lists(ranks, half))
    sq = np.einsum("ij,ij->i", x, x, dtype=np.float64)

    def weights(rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        d = pair_values(rows, cols, ranks, nb.dist,
                        lambda r, c: np.maximum(sq[r] + sq[c] - 2.0 * gathered_dots(x, r, c), 0.0))
        w = np.exp(-(d / top[rows]).astype(np.float32).astype(np.float64))
        return w / np.bincount(rows, weights=w, minlength=n)[rows]

    v = query_expand(encode(pattern, weights), ranks, k2)
    _combine(out, v, nq, top, lam)
    return out


def _combine(out: np.ndarray, v: sp.csr_matrix, nq: int, top: np.ndarray, lam: float) -> None:
    """out (squared distances) becomes (1 - lam) * Jaccard + lam * distance / row maximum, block by block."""
    for r0, r1, s in min_overlap_blocks(v, range(0, nq)):
        s = s[:, nq:]
        jac = 1.0 - s / (2.0 - s)
        original = out[r0:r1] / top[r0:r1, None].astype(np.float32)
        out[r0:r1] = jac * (1.0 - lam) + original * lam
