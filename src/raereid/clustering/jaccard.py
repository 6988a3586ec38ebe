"""Jaccard distance of k-reciprocal encodings with local query expansion, for clustering, as sparse CSR.

Same definition as SpCL's and OpenUnReID's `compute_jaccard_distance` (k1=30, k2=6): faiss k1-NN
table (L2, self included), k1-reciprocal sets expanded by round(k1/2)-reciprocal sets that share
more than 2/3 of their members, softmax(-(2 - 2 x.y)) weights, mean over the k2 nearest, then
d(i, j) = 1 - s / (2 - s) with s = sum_c min(V[i, c], V[j, c]). Pairs with s = 0 (distance exactly 1
in the dense matrix) are left out; everything else is computed a block of rows at a time.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from raereid.arrays import check_features, check_int
from raereid.clustering.knn import spcl_ranks
from raereid.kreciprocal import (
    encode,
    expanded_sets,
    gathered_dots,
    half_length,
    min_overlap_blocks,
    overlap_counts,
    pair_values,
    query_expand,
    reciprocal_lists,
    row_softmax,
)

UNIT_NORM_TOLERANCE = 1e-5


def unit_rows(x: np.ndarray) -> np.ndarray:
    """Rows L2-normalised; features whose rows all have unit norm already (to 1e-5) are returned as they are."""
    norms = np.sqrt(np.einsum("ij,ij->i", x, x, dtype=np.float64))
    if np.all(np.abs(norms - 1.0) <= UNIT_NORM_TOLERANCE):
        return x
    norms[norms == 0] = 1.0
    return (x / norms[:, None]).astype(np.float32)


def jaccard_distance(feats: np.ndarray, k1: int = 30, k2: int = 6) -> sp.csr_matrix:
    """N x N Jaccard distance as float32 CSR: absent entries mean 1.0, the diagonal is stored as 0, no value < 0.

    Features are float32 (N, D); rows are L2-normalised first, as SpCL feeds this function normalised
    features (rows already of unit norm are used untouched, so the result equals SpCL's on them).
    With fewer than k1 samples every sample is a neighbour of every other.
    """
    x = unit_rows(check_features(feats, "feats"))
    k1 = check_int(k1, "k1")
    k2 = check_int(k2, "k2")
    n = x.shape[0]
    half = half_length(k1)
    ranks, sq_dist = spcl_ranks(x, k1, cuts=(k2, half, k1))
    pattern = expanded_sets(reciprocal_lists(ranks, k1), reciprocal_lists(ranks, half))

    def weights(rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        # SpCL's weight: softmax over the set of -(2 - 2 x.y), the squared distance of unit vectors
        d = pair_values(rows, cols, ranks, sq_dist, lambda r, c: 2.0 - 2.0 * gathered_dots(x, r, c))
        return row_softmax(rows, -d, n)

    v = query_expand(encode(pattern, weights), ranks, k2)
    return _to_distance(v, n)


def _to_distance(v: sp.csr_matrix, n: int) -> sp.csr_matrix:
    # Sizes first (a cheap structural product), so the output is written once into arrays of its final size.
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(overlap_counts(v, range(0, n)), out=indptr[1:])
    indices = np.empty(indptr[-1], dtype=np.int32)
    data = np.empty(indptr[-1], dtype=np.float32)
    for r0, r1, s in min_overlap_blocks(v, range(0, n)):
        local = np.arange(r1 - r0)
        s[local, local + r0] = 1.0  # the diagonal is stored even for a row without encoding
        flat = np.flatnonzero(s)
        vals = s.ravel()[flat]
        d = 1.0 - vals / (2.0 - vals)
        np.maximum(d, 0.0, out=d)
        d[np.searchsorted(flat, local * n + local + r0)] = 0.0
        a, b = indptr[r0], indptr[r1]
        indices[a:b] = flat % n
        data[a:b] = d
    return sp.csr_matrix((data, indices, indptr), shape=(n, n))
