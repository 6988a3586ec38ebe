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


def _unique_outliers(labels: np.ndarray) -> np.ndarray:
    """Labels where each outlier (-1) is a cluster of its own, numbered after the clusters."""
    out = labels.copy()
    lonely = out < 0
    out[lonely] = out.max(initial=-1) + 1 + np.arange(int(lonely.sum()))
    return out


def _iou_with(labels: np.ndarray, other: np.ndarray) -> np.ndarray:
    """For every sample, the intersection over union of its cluster in `labels` and its cluster in `other`."""
    _, pair, inter = np.unique(np.stack([labels, other], 1), axis=0, return_inverse=True, return_counts=True)
    inter = inter[pair.ravel()]
    return inter / (np.bincount(labels)[labels] + np.bincount(other)[other] - inter)


def reliable_clusters(
    labels: np.ndarray, tight: np.ndarray, loose: np.ndarray, indep_threshold: float | None = None
) -> tuple[np.ndarray, float]:
    """SpCL's self-paced criterion: keep a cluster only if it is independent (close to its cluster at a looser
    eps), and in it only the images whose cluster at a tighter eps agrees best (compactness); the rest
    become outliers (-1). Returns the labels and the independence threshold: the one given, or (first
    call) the 90th percentile of the clusters' independence scores, which the caller keeps for later calls."""
    lab = _unique_outliers(labels)
    r_comp = 1.0 - _iou_with(lab, _unique_outliers(tight))
    r_indep = 1.0 - _iou_with(lab, _unique_outliers(loose))
    clustered = labels >= 0
    n = int(labels.max(initial=-1)) + 1
    comp_min = np.full(n, np.inf)
    indep_min = np.full(n, np.inf)
    np.minimum.at(comp_min, labels[clustered], r_comp[clustered])
    np.minimum.at(indep_min, labels[clustered], r_indep[clustered])
    if indep_threshold is None:
        sizes = np.bincount(labels[clustered], minlength=n)
        scores = np.sort(indep_min[sizes > 1])
        indep_threshold = float(scores[min(len(scores) - 1, int(np.round(len(scores) * 0.9)))]) if len(scores) else 1.0
    keep = clustered.copy()
    keep[clustered] = ((indep_min[labels[clustered]] <= indep_threshold)
                       & (r_comp[clustered] <= comp_min[labels[clustered]]))
    return np.where(keep, labels, -1), indep_threshold


@register_label_generator("dbscan")
@dataclass
class DBSCANLabels:
    """DBSCAN on `jaccard_distance(features, k1, k2)`; eps="auto" takes the rho rule on the first call and keeps it.

    With `reliability_gap` > 0, SpCL's self-paced criterion (`reliable_clusters`, DBSCAN again at eps -/+ the
    gap) turns unreliable clusters and images into outliers; its threshold is set on the first call and kept."""

    eps: float | str = 0.6
    min_samples: int = 4
    k1: int = 30
    k2: int = 6
    rho: float = 1.6e-3
    reliability_gap: float = 0.0
    eps_: float | None = field(default=None, init=False)
    indep_threshold_: float | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        if self.eps != "auto":
            self.eps_ = check_float(self.eps, "eps", 0.0, 1.0, low_open=True, high_open=True)
        self.min_samples = check_int(self.min_samples, "min_samples")
        self.k1 = check_int(self.k1, "k1")
        self.k2 = check_int(self.k2, "k2")
        self.rho = check_float(self.rho, "rho", 0.0, 1.0, low_open=True)
        self.reliability_gap = check_float(self.reliability_gap, "reliability_gap", 0.0, 1.0, high_open=True)

    def __call__(self, features: np.ndarray) -> np.ndarray:
        dist = jaccard_distance(features, self.k1, self.k2)
        if self.eps_ is None:
            self.eps_ = adaptive_eps(dist, self.rho)
            if not self.eps_ < 1.0:
                raise ConfigError(f"the rho rule gave eps={self.eps_:.4f}: no pair is close",
                                  fix="raise rho or set eps")
        labels = dbscan_labels(dist, self.eps_, self.min_samples)
        if self.reliability_gap > 0:
            tight = dbscan_labels(dist, max(self.eps_ - self.reliability_gap, 1e-6), self.min_samples)
            loose = dbscan_labels(dist, min(self.eps_ + self.reliability_gap, 1.0), self.min_samples)
            labels, self.indep_threshold_ = reliable_clusters(labels, tight, loose, self.indep_threshold_)
        return check_labels_out(labels, dist.shape[0], "dbscan")
