"""CMC, mAP and mINP under the Market-1501 protocol, exact and in bounded memory.

For each query, gallery items with the query's pid and camera are dropped, and so are junk items
(pid -1); queries with pid -1 or no remaining true match are skipped and reported. Ranking is by
distance with ties broken by gallery index (a stable sort). Instead of arg-sorting every row, each
row's kept distances are sorted by value only and the rank of every true match is found by binary
search; a match whose distance ties with another kept item is ranked by counting. The numbers equal
torchreid's and fast-reid's evaluators on tie-free input.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from raereid.arrays import check_distmat, check_features, check_int, check_labels
from raereid.errors import InputError
from raereid.evaluation.distances import DistanceBlocks

# Distance values per block of query rows (about 64 MB of float32): bounds the working memory.
BLOCK_VALUES = 1 << 24


def _rows_per_block(num_gallery: int) -> int:
    return max(1, BLOCK_VALUES // max(1, num_gallery))


def _threads() -> int:
    return max(1, min(2, os.cpu_count() or 1))


def score_block(
    dist: np.ndarray,
    q_pids: np.ndarray,
    q_camids: np.ndarray,
    g_pids: np.ndarray,
    g_camids: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per query row of `dist`: 0-based rank of the first true match (-1: skipped), AP and INP."""
    c, g = dist.shape
    same_pid = q_pids[:, None] == g_pids[None, :]
    dropped = same_pid & (q_camids[:, None] == g_camids[None, :])
    dropped |= (g_pids == -1)[None, :]
    positive = same_pid & ~dropped
    positive[q_pids == -1] = False

    kept = np.where(dropped, np.inf, dist)
    kept.sort(axis=1)

    flat = np.flatnonzero(positive)
    rows = flat // g
    cols = flat - rows * g
    values = dist[rows, cols]
    bounds = np.searchsorted(rows, np.arange(c + 1))
    ranks = np.empty(flat.size, dtype=np.int64)
    for r in np.flatnonzero(bounds[1:] > bounds[:-1]):
        a, b = bounds[r], bounds[r + 1]
        left = np.searchsorted(kept[r], values[a:b], side="left")
        right = np.searchsorted(kept[r], values[a:b], side="right")
        ranks[a:b] = left
        for t in np.flatnonzero(right - left > 1):  # ties: kept items at the same distance, earlier index first
            j = cols[a + t]
            ranks[a + t] = left[t] + np.count_nonzero((dist[r, :j] == values[a + t]) & ~dropped[r, :j])

    counts = bounds[1:] - bounds[:-1]
    order = np.lexsort((ranks, rows))
    ranks = ranks[order]
    nth = np.arange(flat.size) - bounds[rows]  # rows is sorted, so position within the row
    first = np.full(c, -1, dtype=np.int64)
    ap = np.zeros(c, dtype=np.float64)
    inp = np.zeros(c, dtype=np.float64)
    valid = counts > 0
    if flat.size:
        starts = bounds[:-1][valid]
        first[valid] = ranks[starts]
        last = ranks[bounds[1:][valid] - 1]
        ap = np.bincount(rows, weights=(nth + 1) / (ranks + 1.0), minlength=c)
        ap[valid] /= counts[valid]
        inp[valid] = counts[valid] / (last + 1.0)
    return first, ap, inp


def _summarise(first: np.ndarray, ap: np.ndarray, inp: np.ndarray, max_rank: int) -> dict[str, Any]:
    valid = first >= 0
    num_valid = int(valid.sum())
    if num_valid == 0:
        raise InputError(
            "no query has a true match in the gallery (after dropping same-pid same-camera items and pid -1)",
            fix="check that query and gallery pids/camids come from the same dataset split",
        )
    hits = np.bincount(first[valid], minlength=max_rank)[:max_rank]
    return {
        "cmc": np.cumsum(hits) / num_valid,
        "mAP": float(ap[valid].mean()),
        "mINP": float(inp[valid].mean()),
        "num_valid_queries": num_valid,
        "num_skipped_queries": int(first.size - num_valid),
        "skipped_queries": np.flatnonzero(~valid),
    }


Scores = tuple[np.ndarray, np.ndarray, np.ndarray]  # per query: first true match, AP, INP (`score_block`)


def _run_blocks(num_query: int, num_gallery: int, block_fn: Callable[[int, int], Scores],
                max_rank: int) -> dict[str, Any]:
    rows = _rows_per_block(num_gallery)
    starts = list(range(0, num_query, rows))
    first = np.empty(num_query, dtype=np.int64)
    ap = np.empty(num_query, dtype=np.float64)
    inp = np.empty(num_query, dtype=np.float64)

    def work(start: int) -> None:
        stop = min(num_query, start + rows)
        first[start:stop], ap[start:stop], inp[start:stop] = block_fn(start, stop)

    if len(starts) > 1 and _threads() > 1:
        with ThreadPoolExecutor(_threads()) as pool:
            list(pool.map(work, starts))
    else:
        for start in starts:
            work(start)
    return _summarise(first, ap, inp, min(max_rank, num_gallery))


def _check_ids(q_pids: Any, g_pids: Any, q_camids: Any, g_camids: Any, num_query: int,
               num_gallery: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    return (
        check_labels(q_pids, "q_pids", num_query),
        check_labels(g_pids, "g_pids", num_gallery),
        check_labels(q_camids, "q_camids", num_query),
        check_labels(g_camids, "g_camids", num_gallery),
    )


def evaluate_rank(
    distmat: np.ndarray,
    q_pids: np.ndarray,
    g_pids: np.ndarray,
    q_camids: np.ndarray,
    g_camids: np.ndarray,
    max_rank: int = 50,
) -> dict[str, Any]:
    """CMC (length min(max_rank, num_gallery)), mAP and mINP as fractions from a query x gallery distance matrix.

    Also returns num_valid_queries, num_skipped_queries and skipped_queries (indices of queries
    without a true match, or with pid -1), which the averages leave out.
    """
    distmat = check_distmat(distmat)
    nq, ng = distmat.shape
    q_pids, g_pids, q_camids, g_camids = _check_ids(q_pids, g_pids, q_camids, g_camids, nq, ng)
    max_rank = check_int(max_rank, "max_rank")

    def block_fn(start: int, stop: int) -> Scores:
        return score_block(distmat[start:stop], q_pids[start:stop], q_camids[start:stop], g_pids, g_camids)

    return _run_blocks(nq, ng, block_fn, max_rank)


def evaluate_features(
    q_feats: np.ndarray,
    g_feats: np.ndarray,
    q_pids: np.ndarray,
    g_pids: np.ndarray,
    q_camids: np.ndarray,
    g_camids: np.ndarray,
    metric: str = "euclidean",
    max_rank: int = 50,
) -> dict[str, Any]:
    """Same as `evaluate_rank` on the `metric` distances of the features, computed a block of queries at a time.

    Only a few blocks of about 64 MB exist at once, never the full query x gallery matrix.
    """
    q_feats = check_features(q_feats, "q_feats")
    g_feats = check_features(g_feats, "g_feats")
    nq, ng = q_feats.shape[0], g_feats.shape[0]
    q_pids, g_pids, q_camids, g_camids = _check_ids(q_pids, g_pids, q_camids, g_camids, nq, ng)
    max_rank = check_int(max_rank, "max_rank")
    blocks = DistanceBlocks(q_feats, g_feats, metric)

    def block_fn(start: int, stop: int) -> Scores:
        return score_block(blocks.block(start, stop), q_pids[start:stop], q_camids[start:stop], g_pids, g_camids)

    return _run_blocks(nq, ng, block_fn, max_rank)
