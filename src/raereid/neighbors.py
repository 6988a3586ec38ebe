"""Exact k-nearest neighbours of every row among all rows, in one pass over half the distance matrix.

The squared Euclidean distance matrix is symmetric, so each block pair (I, J >= I) is computed once
with a BLAS matrix product and serves the rows of I and, transposed, the rows of J. Each row keeps
its `num_neighbors` best candidates (ties by index); only entries below a row's current worst
candidate are merged, so the merge work shrinks as the pass goes on. The pass can also record each
row's largest distance and hand blocks to a sink (for the query x gallery part the caller keeps).
Two worker threads, each with one BLAS thread, keep both cores busy.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from threadpoolctl import threadpool_limits

BLOCK = 2048

BlockSink = Callable[[int, int, int, int, np.ndarray], None]


@dataclass
class Neighbours:
    """Per row: neighbour indices and squared distances sorted by (distance, index); largest distance."""

    index: np.ndarray  # (N, k) int64
    dist: np.ndarray  # (N, k) float32
    row_max: np.ndarray | None  # (N,) float32, when asked for


class _Best:
    """Running k best (distance, index) candidates per row, merged block by block."""

    def __init__(self, n: int, k: int):
        self.k = k
        self.dist = np.full((n, k), np.inf, dtype=np.float32)
        self.index = np.full((n, k), -1, dtype=np.int64)
        self.worst = np.full(n, np.inf, dtype=np.float32)

    def offer(self, r0: int, c0: int, block: np.ndarray) -> None:
        """Candidates block[i, j] for row r0 + i with column index c0 + j."""
        worst = self.worst[r0:r0 + block.shape[0]]
        hits = block <= worst[:, None]
        if block.shape[1] > self.k and np.count_nonzero(hits) > 2 * self.k * block.shape[0]:
            # many candidates (rows not filled yet): first cut each row at its own k-th smallest value
            kth = np.partition(block, self.k - 1, axis=1)[:, self.k - 1]
            hits = block <= np.minimum(worst, kth)[:, None]
        hit_r, hit_c = np.nonzero(hits)
        if hit_r.size == 0:
            return
        rows = np.unique(hit_r)
        k = self.k
        old_d = self.dist[r0 + rows]
        old_i = self.index[r0 + rows]
        slot = np.searchsorted(rows, hit_r)
        all_r = np.concatenate([np.repeat(np.arange(rows.size), k), slot])
        all_d = np.concatenate([old_d.ravel(), block[hit_r, hit_c]])
        all_i = np.concatenate([old_i.ravel(), hit_c.astype(np.int64) + c0])
        # empty slots (index -1, distance inf) sort last
        order = np.lexsort((np.where(all_i < 0, np.iinfo(np.int64).max, all_i), all_d, all_r))
        counts = np.bincount(all_r, minlength=rows.size)
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
        take = order[(starts[:, None] + np.arange(k)[None, :]).ravel()]
        self.dist[r0 + rows] = all_d[take].reshape(-1, k)
        self.index[r0 + rows] = all_i[take].reshape(-1, k)
        self.worst[r0 + rows] = self.dist[r0 + rows, -1]

    def merge(self, other: _Best) -> None:
        """Keeps, per row, the k best of both."""
        d = np.concatenate([self.dist, other.dist], axis=1)
        i = np.concatenate([self.index, other.index], axis=1)
        key_i = np.where(i < 0, np.iinfo(np.int64).max, i)
        order = np.lexsort((key_i, d), axis=1)[:, : self.k]
        self.dist = np.take_along_axis(d, order, axis=1)
        self.index = np.take_along_axis(i, order, axis=1)


def knn_all(
    x: np.ndarray,
    num_neighbors: int,
    row_max: bool = False,
    sink: BlockSink | None = None,
    block: int | None = None,
    threads: int | None = None,
) -> Neighbours:
    """The `num_neighbors` nearest rows (itself included, at distance 0) of every row of float32 `x`.

    Distances are squared Euclidean in float32 (|a|^2 + |b|^2 - 2 a.b, clipped at 0, exactly 0 on
    the diagonal). `sink(r0, r1, c0, c1, block)` receives every computed block with r0 <= c0.
    """
    n = x.shape[0]
    k = min(num_neighbors, n)
    block = block or BLOCK
    sq = np.einsum("ij,ij->i", x, x)
    starts = list(range(0, n, block))
    pairs = [(a, b) for ai, a in enumerate(starts) for b in starts[ai:]]
    threads = threads or max(1, min(2, os.cpu_count() or 1))
    lock = threading.Lock()
    queue = iter(pairs)

    def worker() -> tuple[_Best, np.ndarray]:
        best = _Best(n, k)
        top = np.full(n, -np.inf, dtype=np.float32)
        while True:
            with lock:
                pair = next(queue, None)
            if pair is None:
                return best, top
            r0, c0 = pair
            r1, c1 = min(n, r0 + block), min(n, c0 + block)
            d = x[r0:r1] @ x[c0:c1].T
            d *= -2.0
            d += sq[r0:r1, None]
            d += sq[None, c0:c1]
            np.maximum(d, 0.0, out=d)
            if r0 == c0:
                np.fill_diagonal(d, 0.0)
            if sink is not None:
                sink(r0, r1, c0, c1, d)
            if row_max:
                np.maximum(top[r0:r1], d.max(axis=1), out=top[r0:r1])
                if r0 != c0:
                    np.maximum(top[c0:c1], d.max(axis=0), out=top[c0:c1])
            best.offer(r0, c0, d)
            if r0 != c0:
                best.offer(c0, r0, d.T)

    with threadpool_limits(limits=1, user_api="blas"):
        if threads > 1 and len(pairs) > 1:
            with ThreadPoolExecutor(threads) as pool:
                results = [f.result() for f in [pool.submit(worker) for _ in range(threads)]]
        else:
            results = [worker()]
    best, top = results[0]
    for other, other_top in results[1:]:
        best.merge(other)
        np.maximum(top, other_top, out=top)
    return Neighbours(best.index, best.dist, top if row_max else None)
