"""Signals of the descriptor space itself, before any clustering: how two descriptors agree on each image's
nearest neighbours, and Saito et al.'s soft neighbourhood density (SND, ICCV 2021).

Cosine geometry throughout (rows L2-normalised, as retrieval uses them); the nearest neighbours come from the
project's exact k-NN pass (`raereid.neighbors.knn_all`), not a new search.
"""

from __future__ import annotations

import numpy as np

from raereid.arrays import check_features, check_int
from raereid.clustering.jaccard import unit_rows
from raereid.errors import InputError
from raereid.neighbors import knn_all

ROW_BLOCK = 2048  # rows compared at a time (bounds the temporary arrays)


def _unit(features: np.ndarray, name: str, min_rows: int) -> np.ndarray:
    return unit_rows(check_features(features, name, min_rows=min_rows))


def top_k_neighbours(features: np.ndarray, k: int) -> np.ndarray:
    """(N, k) indices of every row's k nearest other rows by cosine similarity, nearest first (the row itself is
    left out even when a duplicate row ties with it)."""
    x = _unit(features, "features", 2)
    n = x.shape[0]
    k = check_int(k, "k")
    if k >= n:
        raise InputError(f"k={k} neighbours asked of {n} images", fix="use k below the number of images")
    index = knn_all(x, k + 1).index
    is_self = index == np.arange(n)[:, None]
    order = np.argsort(is_self, axis=1, kind="stable")  # the row itself, wherever it sits, goes last
    return np.take_along_axis(index, order, axis=1)[:, :k]


def knn_agreement(first: np.ndarray, second: np.ndarray, k: int = 10) -> float:
    """Mean over images of the Jaccard overlap |A & B| / |A | B| of the image's k nearest neighbours under two
    descriptors of the same images (e.g. the encoder's and the fused one): 1 when they rank the same neighbours
    first, about k / N for unrelated descriptors."""
    if len(first) != len(second):
        raise InputError(f"the two descriptors describe {len(first)} and {len(second)} images",
                         fix="pass two descriptors of the same images, in the same order")
    a, b = top_k_neighbours(first, k), top_k_neighbours(second, k)
    shared = np.empty(a.shape[0], dtype=np.int64)
    for r0 in range(0, a.shape[0], ROW_BLOCK):
        r1 = r0 + ROW_BLOCK
        shared[r0:r1] = (a[r0:r1, :, None] == b[r0:r1, None, :]).any(axis=2).sum(axis=1)
    return float(np.mean(shared / (2 * a.shape[1] - shared)))


def spread_sample(n: int, max_samples: int | None) -> np.ndarray:
    """Indices of at most `max_samples` of n items, evenly spread (all of them when max_samples is None or >= n):
    the same sample for every model of the same target, so their values compare."""
    if max_samples is None or max_samples >= n:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, check_int(max_samples, "max_samples", 2)).round().astype(np.int64))


def soft_neighbourhood_density(features: np.ndarray, temperature: float = 0.05,
                               max_samples: int | None = 5000) -> float:
    """SND (Saito et al., ICCV 2021): the mean entropy of each image's softmax over its cosine similarities to every
    other image at `temperature` (the paper's 0.05), divided by its maximum log(N - 1) so targets of different
    sizes compare (0: every image has one clear nearest neighbour; 1: all others are equally similar).

    The paper reads higher as better (dense neighbourhoods). Beware: a collapsed descriptor (all images alike) and a
    structureless one both reach 1, and a re-ID target has many identities with few images each, so a good
    descriptor has small neighbourhoods -- see the note. Computed on an evenly spread sample of `max_samples`."""
    if not temperature > 0:
        raise InputError(f"temperature must be positive, got {temperature!r}", fix="use the paper's 0.05")
    x = _unit(features, "features", 3)
    x = x[spread_sample(x.shape[0], max_samples)]
    n = x.shape[0]
    entropy = np.empty(n)
    for r0 in range(0, n, ROW_BLOCK):
        r1 = min(n, r0 + ROW_BLOCK)
        s = (x[r0:r1] @ x.T).astype(np.float64) / temperature
        rows = np.arange(r1 - r0)
        s[rows, rows + r0] = -np.inf  # an image is not its own neighbour
        d = s - s.max(axis=1, keepdims=True)
        p = np.exp(d)
        d[rows, rows + r0] = 0.0  # p is 0 there: keeps 0 * -inf out of the sum
        z = p.sum(axis=1)
        entropy[r0:r1] = np.log(z) - (p * d).sum(axis=1) / z
    return float(entropy.mean() / np.log(n - 1))
