"""Algorithm 1, step 1: pseudo-labels for the target's training images, through any label generator."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from raereid.clustering import LabelGenerator, build_label_generator, label_generator_params
from raereid.config.schema import ClusterConfig


@dataclass
class PseudoLabels:
    labels: np.ndarray  # one per target training image; -1 = outlier, left out of the target losses

    @property
    def num_clusters(self) -> int:
        return int(self.labels.max()) + 1 if (self.labels >= 0).any() else 0

    @property
    def num_outliers(self) -> int:
        return int((self.labels < 0).sum())

    @property
    def usable(self) -> bool:
        """Identity losses need at least two clusters (one cluster has no negatives)."""
        return self.num_clusters >= 2


def make_label_generator(cfg: ClusterConfig) -> LabelGenerator:
    """The configured label generator, given the `cluster.*` values it takes (a registered one gets those it names)."""
    accepted = label_generator_params(cfg.method)
    return build_label_generator(cfg.method, **{k: v for k, v in vars(cfg).items() if k in accepted})


def generator_state(generator: LabelGenerator) -> dict[str, float | int | str]:
    """What a generator learned on its first call (attributes ending in '_', e.g. DBSCAN's adaptive eps_)."""
    return {k: v for k, v in vars(generator).items() if k.endswith("_") and isinstance(v, (int, float, str))}


def assign_pseudo_labels(features: np.ndarray, generator: LabelGenerator) -> PseudoLabels:
    """Cluster the target features and relabel clusters to 0..n-1 (outliers stay -1)."""
    raw = np.asarray(generator(features), dtype=np.int64)
    labels = np.full_like(raw, -1)
    kept = raw >= 0
    if kept.any():
        _, labels[kept] = np.unique(raw[kept], return_inverse=True)
    return PseudoLabels(labels)


def label_quality(pseudo: PseudoLabels, true_pids: np.ndarray) -> dict[str, float] | None:
    """Agreement of the pseudo-labels with the target's true identities, when the target has them
    (a benchmark's training split): adjusted Rand index and NMI over the clustered images. For
    analysis only; true identities never reach the training losses."""
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    kept = pseudo.labels >= 0
    if (true_pids < 0).any() or kept.sum() < 2:
        return None
    return {
        "ari": float(adjusted_rand_score(true_pids[kept], pseudo.labels[kept])),
        "nmi": float(normalized_mutual_info_score(true_pids[kept], pseudo.labels[kept])),
        "true_ids": int(len(np.unique(true_pids))),
    }
