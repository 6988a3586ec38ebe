"""SpCL's hybrid memory (Ge et al. 2020): one memory holding the source class centroids and every
target training image's own feature. Its classes are the source ids, the target clusters and, each
on its own, the un-clustered target images (outliers are learnt from, not dropped). A class's
entry in the loss is the mean of its members, so each image is contrasted (InfoNCE, temperature
0.05) against every source class, every target cluster and every outlier. After each step the
entries of the batch's source classes and target images move towards their new features
(momentum 0.2). Source and target both take this loss in place of the classifiers' cross-entropy
(Eq. 3, 6; 22-23 on the fused descriptor, with a memory of its own); the triplets stay.

The memory is refreshed from the descriptors extracted for each clustering (SpCL initialises it once
and then relies on the momentum updates; a refresh costs one extraction of the source training set
per clustering and starts every round from the current network's features). SpCL's self-paced
criterion, which turns unreliable clusters back into un-clustered images, is `cluster.reliability_gap`
of the dbscan generator (clustering/dbscan.py).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from raereid.learners.base import (
    BRANCH_FEATURES,
    Branch,
    ClusterRound,
    Labels,
    Learner,
    Term,
    centroids,
    source_weighted,
    triplet_term,
)
from raereid.learners.classifier import source_classifier_terms
from raereid.learners.memory import momentum_update
from raereid.learners.registry import register_learner


def class_centres(memory: torch.Tensor, classes: torch.Tensor, num_classes: int) -> torch.Tensor:
    """Mean memory entry of every class (num_classes x dim)."""
    sums = memory.new_zeros(num_classes, memory.shape[1]).index_add_(0, classes, memory)
    counts = torch.bincount(classes, minlength=num_classes).clamp_min(1).to(memory.dtype)
    return sums / counts[:, None]


@register_learner("hybrid")
class HybridLearner(Learner):
    """Rows [0, S) of each memory are source class centroids, rows S + i the target image i."""

    def __init__(self, *args, **kwargs) -> None:  # noqa: ANN002, ANN003 - the Learner signature
        super().__init__(*args, **kwargs)
        self.memories: dict[str, torch.Tensor] = {}
        self.classes = torch.zeros(0, dtype=torch.long)  # class of every memory row

    def sampling_labels(self, pseudo: np.ndarray) -> np.ndarray:
        """Clusters keep their ids; each outlier becomes a class of its own, numbered after the clusters."""
        labels = pseudo.copy()
        outliers = labels < 0
        labels[outliers] = labels.max(initial=-1) + 1 + np.arange(int(outliers.sum()))
        return labels

    def on_clustering(self, round_: ClusterRound) -> bool:
        device = self.device
        s = self.num_source_ids
        source = round_.source_features()
        self.memories = {}
        for b in self.branches:
            kind = BRANCH_FEATURES[b]
            centres = F.normalize(centroids(source[kind], round_.source_labels, s), dim=1)
            instances = F.normalize(torch.from_numpy(round_.features[kind]).float(), dim=1)
            self.memories[b] = torch.cat([centres, instances]).to(device)
        target = torch.from_numpy(self.sampling_labels(round_.labels)).long()
        self.classes = torch.cat([torch.arange(s), s + target]).to(device)
        return False

    @property
    def num_classes(self) -> int:
        return int(self.classes.max()) + 1

    def branch_terms(self, branch: Branch, labels: Labels) -> list[Term]:
        if not self.memories:  # no usable clustering yet: the paper's source loss only
            return source_classifier_terms(self, branch, labels)
        ns, p, cfg = branch.ns, branch.prefix, self.cfg
        centres = class_centres(self.memories[branch.name], self.classes, self.num_classes)
        logits = F.normalize(branch.embedded.float(), dim=1) @ centres.t() / cfg.learner.temperature
        terms = source_weighted([(f"hyb_{p}source", F.cross_entropy(logits[:ns], labels.ys), 1.0),
                                 triplet_term(f"tri_{p}source", branch.feat[:ns], labels.ys, cfg, labels.gather)], cfg)
        if labels.yt is None:
            return terms
        return terms + [(f"hyb_{p}target", F.cross_entropy(logits[ns:], self.num_source_ids + labels.yt), 1.0),
                        triplet_term(f"tri_{p}target", branch.feat[ns:], labels.yt, cfg, labels.gather)]

    @torch.no_grad()
    def update(self, embedded: dict[str, torch.Tensor], labels: Labels) -> None:
        if not self.memories:
            return
        ns, m = len(labels.ys), self.cfg.learner.hybrid_momentum
        rows = [labels.gather(labels.ys)]
        if labels.yt is not None and labels.index_t is not None:
            rows.append(self.num_source_ids + labels.gather(labels.index_t))
        for name, emb in embedded.items():
            x = F.normalize(emb.float(), dim=1)
            momentum_update(self.memories[name], rows[0], labels.gather(x[:ns]), m)
            if len(rows) > 1:
                momentum_update(self.memories[name], rows[1], labels.gather(x[ns:]), m)

    def state(self) -> dict[str, torch.Tensor]:
        return {"classes": self.classes.cpu(), **{f"memory.{b}": v.cpu() for b, v in self.memories.items()}}

    def load_state(self, state: dict[str, torch.Tensor]) -> None:
        device = self.device
        self.classes = state["classes"].to(device) if "classes" in state else self.classes
        self.memories = {k.split(".", 1)[1]: v.to(device) for k, v in state.items() if k.startswith("memory.")}
