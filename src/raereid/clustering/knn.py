"""The nearest-neighbour rank table SpCL's Jaccard distance starts from, as faiss would return it.

SpCL searches a faiss IndexFlatL2 with every sample for its k1 nearest. Small sets do exactly that.
Large sets use the symmetric half-matrix pass of `raereid.neighbors` (half the arithmetic) and then
hand to faiss only the rows whose order matters and is too close to call: where the squared
distances on either side of a cut the algorithm uses (k2, round(k1/2) + 1, k1) differ by less than
a tolerance far above float32 rounding, faiss decides, so the cuts fall where faiss puts them.
"""

from __future__ import annotations

import faiss
import numpy as np

from raereid.neighbors import knn_all

# Below this many samples one faiss search is cheap; above it the symmetric pass halves the work.
SYMMETRIC_MIN_ROWS = 6000
# Gap (relative to the largest squared norm) under which a cut is re-decided by faiss. float32
# distances of unit vectors from two BLAS builds differ by about 1e-6 at most.
CUT_TOLERANCE = 1e-5
# faiss switches to its BLAS kernel (the one a full search uses) from nq * d >= 128000.
FAISS_MIN_BATCH_VALUES = 128000


def faiss_ranks(x: np.ndarray, k: int, rows: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """faiss IndexFlatL2 search of x[rows] (default: all) among all of x: (indices int64, squared distances)."""
    index = faiss.IndexFlatL2(x.shape[1])
    index.add(x)
    dist, ranks = index.search(x if rows is None else x[rows], k)
    return ranks, dist


def spcl_ranks(x: np.ndarray, k: int, cuts: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """(N, min(k, N)) int64 nearest-neighbour table, nearest first, matching faiss at the given cuts,
    with the squared distances (float32)."""
    n = x.shape[0]
    k = min(k, n)
    if n < SYMMETRIC_MIN_ROWS:
        return faiss_ranks(x, k)
    nb = knn_all(x, k + 1)
    tol = CUT_TOLERANCE * float(np.einsum("ij,ij->i", x, x).max())
    unsure = np.zeros(n, dtype=bool)
    for c in cuts:
        if 0 < c < k + 1:
            unsure |= nb.dist[:, c] - nb.dist[:, c - 1] <= tol
    ranks = np.ascontiguousarray(nb.index[:, :k])
    dist = np.ascontiguousarray(nb.dist[:, :k])
    rows = np.flatnonzero(unsure)
    if rows.size:
        batch = max(rows.size, -(-FAISS_MIN_BATCH_VALUES // x.shape[1]))
        padded = np.concatenate([rows, np.setdiff1d(np.arange(n), rows)[: batch - rows.size]])
        again, again_dist = faiss_ranks(x, k, padded)
        ranks[rows], dist[rows] = again[: rows.size], again_dist[: rows.size]
    return ranks, dist
