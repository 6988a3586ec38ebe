"""k-means pseudo-labels (scikit-learn) on L2-normalised features: every sample gets a cluster."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.cluster import KMeans

from raereid.arrays import check_features, check_int
from raereid.clustering.jaccard import unit_rows
from raereid.clustering.label_generators import check_labels_out, register_label_generator
from raereid.errors import ConfigError


@register_label_generator("kmeans")
@dataclass
class KMeansLabels:
    """k-means with `num_clusters` centres on the normalised rows (cosine geometry, as the Jaccard path)."""

    num_clusters: int = 500
    seed: int = 0
    n_init: int = 1
    max_iter: int = 100

    def __post_init__(self) -> None:
        self.num_clusters = check_int(self.num_clusters, "num_clusters")
        self.n_init = check_int(self.n_init, "n_init")
        self.max_iter = check_int(self.max_iter, "max_iter")

    def __call__(self, features: np.ndarray) -> np.ndarray:
        x = unit_rows(check_features(features, "features"))
        if self.num_clusters > x.shape[0]:
            raise ConfigError(f"num_clusters={self.num_clusters} exceeds the {x.shape[0]} samples",
                              fix="lower num_clusters")
        km = KMeans(self.num_clusters, n_init=self.n_init, max_iter=self.max_iter, random_state=self.seed)
        return check_labels_out(km.fit_predict(x), x.shape[0], "kmeans")
