"""k-reciprocal encoding (Zhong et al., CVPR'17), the shared core of re-ranking and Jaccard distance.

From a table of nearest-neighbour ranks it builds, for every sample, the k-reciprocal set, expands
it with the half-size reciprocal sets of its members that overlap it by more than 2/3, weights the
expanded set (the caller gives the weights), averages the encodings of the k2 nearest neighbours
(local query expansion) and sums element-wise minima between encodings through an inverted index.
All of it runs on sparse rows in blocks, never on N x N dense matrices.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np
import scipy.sparse as sp

ROWS_PER_BLOCK = 1024


def half_length(k1: int) -> int:
    """Length of the half-size forward lists: round(k1 / 2) + 1 (NumPy rounding, half to even)."""
    return int(np.around(k1 / 2.0)) + 1


def reciprocal_lists(ranks: np.ndarray, length: int) -> np.ndarray:
    """(N, L) forward lists ranks[:, :L] with -1 where the neighbour does not list the row in its own first L."""
    n = ranks.shape[0]
    length = min(length, ranks.shape[1])
    forward = ranks[:, :length]
    out = np.full_like(forward, -1)
    for r0 in range(0, n, ROWS_PER_BLOCK):
        r1 = min(n, r0 + ROWS_PER_BLOCK)
        back = forward[forward[r0:r1]]  # (b, L, L): each neighbour's own forward list
        me = np.arange(r0, r1)[:, None, None]
        keep = (back == me).any(axis=2)
        out[r0:r1] = np.where(keep, forward[r0:r1], -1)
    return out


def expanded_sets(full: np.ndarray, half: np.ndarray) -> sp.csr_matrix:
    """Boolean CSR (N, N): each row's reciprocal set plus every member's half set sharing > 2/3 of it."""
    n = full.shape[0]
    counts, indices = [], []
    for r0 in range(0, n, ROWS_PER_BLOCK):
        r1 = min(n, r0 + ROWS_PER_BLOCK)
        mine = full[r0:r1]  # (b, L), -1 = absent
        cand = np.where(mine[:, :, None] >= 0, half[np.maximum(mine, 0)], -1)  # (b, L, H)
        valid = cand >= 0
        inside = ((cand[:, :, :, None] == mine[:, None, None, :]) & valid[:, :, :, None]).any(axis=3)
        size = valid.sum(axis=2)
        accept = inside.sum(axis=2) > (2.0 / 3.0) * size
        pool = np.concatenate([mine, np.where(accept[:, :, None], cand, -1).reshape(r1 - r0, -1)], axis=1)
        pool.sort(axis=1)
        fresh = pool >= 0
        fresh[:, 1:] &= pool[:, 1:] != pool[:, :-1]
        indices.append(pool[fresh])
        counts.append(fresh.sum(axis=1))
    indptr = np.concatenate([[0], np.cumsum(np.concatenate(counts))])
    data = np.ones(indptr[-1], dtype=bool)
    return sp.csr_matrix((data, np.concatenate(indices), indptr), shape=(n, n))


def encode(pattern: sp.csr_matrix, weights: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> sp.csr_matrix:
    """float32 CSR with the pattern of `pattern`; weights(rows, cols) gives each row's values (summing to 1)."""
    rows = np.repeat(np.arange(pattern.shape[0]), np.diff(pattern.indptr))
    data = np.empty(pattern.nnz, dtype=np.float32)
    step = 1 << 20
    for s in range(0, pattern.nnz, step):
        data[s:s + step] = weights(rows[s:s + step], pattern.indices[s:s + step])
    return sp.csr_matrix((data, pattern.indices.copy(), pattern.indptr.copy()), shape=pattern.shape)


def pair_values(
    rows: np.ndarray,
    cols: np.ndarray,
    table_index: np.ndarray,
    table_value: np.ndarray,
    compute: Callable[[np.ndarray, np.ndarray], np.ndarray],
) -> np.ndarray:
    """Value of each pair (rows[t], cols[t]): from the neighbour table when cols[t] is listed in that row,
    else from compute(rows, cols) on the rest (most pairs of an expanded set are in the table)."""
    out = np.empty(rows.size, dtype=np.float64)
    step = 1 << 16
    for s in range(0, rows.size, step):
        r, c = rows[s:s + step], cols[s:s + step]
        hit = table_index[r] == c[:, None]
        found = hit.any(axis=1)
        part = out[s:s + step]
        part[found] = table_value[r[found], hit[found].argmax(axis=1)]
        miss = ~found
        if miss.any():
            part[miss] = compute(r[miss], c[miss])
    return out


def gathered_dots(x: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """x[rows[t]] . x[cols[t]] for every t, a few thousand pairs at a time (float64 result)."""
    out = np.empty(rows.size, dtype=np.float64)
    step = 4096
    for s in range(0, rows.size, step):
        out[s:s + step] = np.einsum("ij,ij->i", x[rows[s:s + step]], x[cols[s:s + step]])
    return out


def row_softmax(rows: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    """exp(values) normalised to sum 1 within each row (rows sorted, as CSR order gives them)."""
    top = np.full(n, -np.inf)
    np.maximum.at(top, rows, values)
    e = np.exp(values - top[rows])
    return e / np.bincount(rows, weights=e, minlength=n)[rows]


def query_expand(v: sp.csr_matrix, ranks: np.ndarray, k2: int) -> sp.csr_matrix:
    """Each row replaced by the mean of the rows of its k2 nearest neighbours (itself included)."""
    if k2 == 1:
        return v
    k2 = min(k2, ranks.shape[1])
    n = v.shape[0]
    avg = sp.csr_matrix(
        (np.full(n * k2, 1.0 / k2, dtype=np.float32), ranks[:, :k2].ravel(), np.arange(0, n * k2 + 1, k2)),
        shape=(n, n),
    )
    out = (avg @ v).tocsr()
    out.sort_indices()
    return out


def overlap_counts(v: sp.csr_matrix, rows: range, block: int = 1024) -> np.ndarray:
    """Per row of `rows`: how many j have a common nonzero column with it (itself always counted)."""
    pattern = sp.csr_matrix((np.ones(v.nnz, dtype=np.float32), v.indices, v.indptr), shape=v.shape)
    pattern_t = pattern.T.tocsr()
    counts = np.empty(len(rows), dtype=np.int64)
    for r0 in range(rows.start, rows.stop, block):
        r1 = min(rows.stop, r0 + block)
        prod = pattern[r0:r1] @ pattern_t
        prod = prod + sp.eye(r1 - r0, v.shape[0], k=r0, dtype=np.float32, format="csr")
        counts[r0 - rows.start:r1 - rows.start] = np.diff(prod.indptr)
    return counts


def min_overlap_blocks(v: sp.csr_matrix, rows: range, block: int = 256) -> Iterator[tuple[int, int, np.ndarray]]:
    """Yields (r0, r1, S) with S[i - r0, j] = sum_c min(v[i, c], v[j, c]) as dense float64 (r1 - r0, N)."""
    n = v.shape[0]
    csc = v.tocsc()
    csc.sort_indices()
    col_start, col_len = csc.indptr[:-1], np.diff(csc.indptr)
    for r0 in range(rows.start, rows.stop, block):
        r1 = min(rows.stop, r0 + block)
        a, b = v.indptr[r0], v.indptr[r1]
        cols = v.indices[a:b]
        local = np.repeat(np.arange(r1 - r0), np.diff(v.indptr[r0:r1 + 1]))
        lens = col_len[cols]
        total = int(lens.sum())
        # positions of every (row, column, other row) triple in the inverted index
        pos = np.repeat(col_start[cols] - (np.cumsum(lens) - lens), lens) + np.arange(total)
        m = np.minimum(np.repeat(v.data[a:b], lens), csc.data[pos])
        key = np.repeat(local * n, lens) + csc.indices[pos]
        acc = np.bincount(key, weights=m, minlength=(r1 - r0) * n).reshape(r1 - r0, n)
        yield r0, r1, acc
