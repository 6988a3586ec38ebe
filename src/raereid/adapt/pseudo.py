"""Algorithm 1, step 1's result: the target's pseudo-labels, and the stage that owns them.

`PseudoLabelStage` holds the label generator (any registered one), the current labels, their checkpoint
state (the labels and what the generator learned, e.g. DBSCAN's adaptive eps_) and the labels the target
PK sampler draws from (the learner's `sampling_labels`). The relabelling hook (adapt/relabel.py) asks it for new
labels at each epoch; the trainer checkpoints `state()` as one entry. For a learner that does not use clusters
(MMCL) the generator is not run and every target image is a class of its own (`every_image`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from raereid.clustering import LabelGenerator, build_label_generator, label_generator_params
from raereid.config.schema import ClusterConfig
from raereid.engine.runtime import Runtime


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


class PseudoLabelStage:
    """The label generator, the current pseudo-labels (None before the first clustering) and their checkpoint state.

    `sampling` maps pseudo-labels to the labels the target PK sampler draws from (a learner's `sampling_labels`)."""

    def __init__(self, cfg: ClusterConfig, sampling: Callable[[np.ndarray], np.ndarray]):
        self.generator = make_label_generator(cfg)
        self.sampling = sampling
        self.current: PseudoLabels | None = None

    def relabel(self, features: np.ndarray, runtime: Runtime) -> PseudoLabels:
        """Cluster `features` on the main process and share the labels, so every process trains on the same ones."""
        pseudo = assign_pseudo_labels(features, self.generator) if runtime.is_main else None
        self.current = PseudoLabels(runtime.broadcast(None if pseudo is None else pseudo.labels))
        return self.current

    def every_image(self, n: int) -> PseudoLabels:
        """No clustering (a learner that does not use clusters): each of the `n` target images is a class of its own."""
        self.current = PseudoLabels(np.arange(n, dtype=np.int64))
        return self.current

    def learned(self) -> dict[str, float | int | str]:
        """What the generator has learned so far (e.g. DBSCAN's eps_)."""
        return generator_state(self.generator)

    def sampling_labels(self) -> np.ndarray | None:
        """The target sampler's labels, or None while there are no usable pseudo-labels (a source-only epoch)."""
        if self.current is None or not self.current.usable:
            return None
        return self.sampling(self.current.labels)

    def state(self) -> dict[str, Any]:
        """The labels (None before the first clustering) and the generator's learned attributes."""
        labels = None if self.current is None else torch.from_numpy(self.current.labels)
        return {"labels": labels, "generator": self.learned()}

    def load_state(self, state: dict[str, Any]) -> None:
        """Restore `state()` from a checkpoint."""
        labels = state["labels"]
        self.current = None if labels is None else PseudoLabels(labels.numpy())
        for key, value in state.get("generator", {}).items():
            setattr(self.generator, key, value)
