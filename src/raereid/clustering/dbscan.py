"""DBSCAN pseudo-labels on the sparse Jaccard distance, with a fixed or an adaptive (rho) eps."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from sklearn.cluster import DBSCAN
from sklearn.neighbors import sort_graph_by_row_values

from raereid.arrays import check_float, check_int
from raereid.clustering.jaccard import jaccard_distance
from raereid.clustering.label_generators import check_labels_out, register_label_generator
from raereid.errors import ConfigError


def adaptive_eps(dist: sp.csr_matrix, rho: float = 1.6e-3) -> float:
    """Mean of the smallest round(rho * P) nonzero pairwise distances, P the number of nonzero pairs i < j.

    The rule of MMT/SpCL (np.triu(d, 1), drop zeros, sort, mean of the first round(rho * size)), on the
    sparse matrix: absent pairs count as distance 1.0.
    """
    n = dist.shape[0]
    parts = []
    for r0 in range(0, n, 4096):  # stored values above the diagonal, a block of rows at a time
        r1 = min(n, r0 + 4096)
        a, b = dist.indptr[r0], dist.indptr[r1]
        rows = np.repeat(np.arange(r0, r1), np.diff(dist.indptr[r0:r1 + 1]))
        parts.append(dist.data[a:b][dist.indices[a:b] > rows])
    upper = np.concatenate(parts)
    total = n * (n - 1) // 2 - int(np.count_nonzero(upper == 0))  # nonzero upper entries of the dense matrix
    top = int(np.round(rho * total))
    if top < 1:
        raise ConfigError(f"rho={rho} selects no pair among {total} pairs of {n} samples",
                          fix="raise rho or cluster more samples")
    positive = upper[upper > 0]
    if top <= positive.size:
        return float(np.partition(positive, top - 1)[:top].astype(np.float64).mean())
    return float((positive.astype(np.float64).sum() + (top - positive.size) * 1.0) / top)


def dbscan_labels(dist: sp.csr_matrix, eps: float, min_samples: int) -> np.ndarray:
    """scikit-learn DBSCAN on the entries <= eps of the distance matrix (the only ones that can be neighbours)."""
    kept = np.flatnonzero(dist.data <= eps)
    indptr = np.searchsorted(kept, dist.indptr)
    graph = sp.csr_matrix((dist.data[kept], dist.indices[kept], indptr), shape=dist.shape)
    graph = sort_graph_by_row_values(graph, copy=False, warn_when_not_sorted=False)
    return DBSCAN(eps=eps, min_samples=min_samples, metric="precomputed").fit_predict(graph).astype(np.int64)


@register_label_generator("dbscan")
@dataclass
class DBSCANLabels:
    """DBSCAN on `jaccard_distance(features, k1, k2)`; eps="auto" takes the rho rule on the first call and keeps it."""

    eps: float | str = 0.6
    min_samples: int = 4
    k1: int = 30
    k2: int = 6
    rho: float = 1.6e-3
    eps_: float | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        if self.eps != "auto":
            self.eps_ = check_float(self.eps, "eps", 0.0, 1.0, low_open=True, high_open=True)
        self.min_samples = check_int(self.min_samples, "min_samples")
        self.k1 = check_int(self.k1, "k1")
        self.k2 = check_int(self.k2, "k2")
        self.rho = check_float(self.rho, "rho", 0.0, 1.0, low_open=True)

    def __call__(self, features: np.ndarray) -> np.ndarray:
        dist = jaccard_distance(features, self.k1, self.k2)
        if self.eps_ is None:
            self.eps_ = adaptive_eps(dist, self.rho)
            if not self.eps_ < 1.0:
                raise ConfigError(f"the rho rule gave eps={self.eps_:.4f}: no pair is close", fix="raise rho or set eps")
        return check_labels_out(dbscan_labels(dist, self.eps_, self.min_samples), dist.shape[0], "dbscan")
