"""Internal cluster validity: the silhouette of the pseudo-labels in cosine distance (scikit-learn's).

Of the internal indices (silhouette, Davies-Bouldin, Calinski-Harabasz) the silhouette is the one bounded in
[-1, 1] and defined on any distance, so it compares across models and descriptors; the other two assume
Euclidean, convex clusters around centroids. Outliers (-1) are left out: the score pairs it with coverage.
"""

from __future__ import annotations

import numpy as np
from sklearn.metrics import silhouette_score

from raereid.arrays import check_features, check_labels

SEED = 0  # the sample of a large target is drawn with a fixed seed: the same images for every model of a target


def cosine_silhouette(features: np.ndarray, labels: np.ndarray, max_samples: int | None = 8000) -> float | None:
    """Mean silhouette, in cosine distance, of the clustered images (labels >= 0); on a fixed random sample of
    `max_samples` of them when there are more (the cost is quadratic). None with fewer than 2 clusters; 0 when
    every clustered image is alone in its cluster (scikit-learn's value for an image alone)."""
    x = check_features(features, "features")
    labels = check_labels(labels, "labels", x.shape[0])
    kept = np.flatnonzero(labels >= 0)
    if max_samples is not None and kept.size > max_samples:
        kept = np.sort(np.random.default_rng(SEED).choice(kept, max_samples, replace=False))
    found = np.unique(labels[kept]).size
    if found < 2:
        return None
    if found == kept.size:
        return 0.0
    return float(silhouette_score(x[kept], labels[kept], metric="cosine"))
