"""JVTC (Li and Zhang, ECCV 2020, "Joint Visual and Temporal Consistency for Unsupervised Domain Adaptive
Person Re-identification"), its visual part (the RAE paper's "JVTC" rows): "a local one-hot classification
and a global multi-class classification" of the target images.

- Local one-hot classification (Self-Adaptive Classification): "assigns images in a training batch with
  different person IDs". Each target image comes in K augmented views (`sampling_labels` makes each image
  its own class, so the PK sampler draws P images x data.k views); the classifier of image j is the
  L2-normalised mean of its views' features, and each view is classified among the batch's images:
  softmax over cos(f, w_j) / beta1 (beta1 = 0.1), cross-entropy to its own image.
- Global multi-class classification: a memory of every target image's feature; the label of image i is
  the set of images in its pseudo-label cluster (outliers alone), each weighted 1/|cluster|; the loss is
  the cross-entropy of softmax(cos(f, M) / beta2) (beta2 = 0.05) against that distribution, weighted 0.2
  and entering after `jvtc_global_start` (a share of training).
- Memory: after each step, M[i] <- a M[i] + (1 - a) v_i, v_i the L2-normalised mean of image i's views in
  the batch, a = min(training share, 0.8) (JVTC's code: min(0.01 * epoch, 0.8) over 100 epochs; it does not
  renormalise the entry).
The constants are those of JVTC's reference code (ljn114514/JVTC); the paper's method section could not be read
here to check them.

The temporal part (JVTC+: clustering and ranking on a joint visual-temporal similarity) needs each image's
frame number, which the dataset readers do not expose: not built (issue 31's design note). The source
keeps the paper's classifier and triplet losses (Eq. 3-4, 22); the two JVTC terms replace the target
classifier's cross-entropy and triplet (Eq. 6-7; 23 on the fused descriptor, with a memory of its own).
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
import torch
import torch.nn.functional as F

from raereid.config.schema import Config
from raereid.learners.base import BRANCH_FEATURES, Branch, ClusterRound, Labels, Learner, Term
from raereid.learners.classifier import source_classifier_terms
from raereid.learners.registry import register_learner


@dataclass(frozen=True)
class JVTCSettings:
    """JVTC's constants, read from the `learner.*` keys of the same names (schema.py)."""

    jvtc_local_temperature: float = 0.1  # beta1 of the local (self-adaptive) classification (JVTC's code: 0.1)
    jvtc_global_temperature: float = 0.05  # beta2 of the global memory classification (JVTC's code: 0.05)
    jvtc_global_weight: float = 0.2  # weight of the global term (JVTC's code: 0.2)
    jvtc_global_start: float = 0.1  # share of training before the global term counts (code: epoch 10 of 100)
    jvtc_momentum_max: float = 0.8  # cap of the memory momentum (JVTC's code: min(0.01 * epoch, 0.8))

    @classmethod
    def from_config(cls, cfg: Config) -> JVTCSettings:
        """The values of `cfg.learner` for the keys it has (all of them in raereid's schema), else the defaults."""
        return cls(**{f.name: getattr(cfg.learner, f.name) for f in fields(cls) if hasattr(cfg.learner, f.name)})


def view_means(features: torch.Tensor, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(distinct images in increasing order, L2-normalised mean of each one's rows, each row's image position)."""
    ids, inverse = torch.unique(images, return_inverse=True)
    sums = features.new_zeros(len(ids), features.shape[1]).index_add(0, inverse, features)
    counts = torch.bincount(inverse, minlength=len(ids)).to(features.dtype)
    return ids, F.normalize(sums / counts[:, None], dim=1), inverse


def local_loss(features: torch.Tensor, images: torch.Tensor, temperature: float) -> torch.Tensor:
    """Self-adaptive classification: each row (a view) against the batch's images, whose classifier weights are
    their views' normalised mean features; cross-entropy to its own image."""
    _, weights, inverse = view_means(features.float(), images)
    logits = F.normalize(features.float(), dim=1) @ weights.t() / temperature
    return F.cross_entropy(logits, inverse)


def cluster_targets(classes: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
    """Multi-class label of each row's image (B x N): 1/|cluster| on the members of its cluster, 0 elsewhere."""
    same = (classes[rows][:, None] == classes[None, :]).float()
    return same / same.sum(1, keepdim=True)


def global_loss(features: torch.Tensor, memory: torch.Tensor, classes: torch.Tensor, rows: torch.Tensor,
                temperature: float) -> torch.Tensor:
    """Cross-entropy of softmax(cos(f, M) / temperature) against the rows' cluster distributions."""
    logits = F.normalize(features.float(), dim=1) @ memory.t() / temperature
    return -(cluster_targets(classes, rows) * F.log_softmax(logits, dim=1)).sum(1).mean()


def memory_update(memory: torch.Tensor, rows: torch.Tensor, x: torch.Tensor, momentum: float) -> None:
    """memory[r] <- momentum * memory[r] + (1 - momentum) * x (distinct rows, in place, not renormalised)."""
    memory[rows] = momentum * memory[rows] + (1.0 - momentum) * x


def singleton_outliers(labels: np.ndarray) -> np.ndarray:
    """Clusters keep their ids; each outlier (-1) becomes a class of its own, numbered after the clusters."""
    out = labels.copy()
    outliers = out < 0
    out[outliers] = out.max(initial=-1) + 1 + np.arange(int(outliers.sum()))
    return out


@register_learner("jvtc")
class JVTCLearner(Learner):
    """A per-image memory of the target training set per branch, the pseudo-label classes, JVTC's two terms."""

    min_target_k = 2  # the local term classifies each view against the mean of its image's views
    paper_rows = {"baseline": "JVTC", "full": "JVTC + RAE"}

    def __init__(self, *args, **kwargs) -> None:  # noqa: ANN002, ANN003 - the Learner signature
        super().__init__(*args, **kwargs)
        self.settings = JVTCSettings.from_config(self.cfg)
        self.memories: dict[str, torch.Tensor] = {}
        self.classes = torch.zeros(0, dtype=torch.long)  # each target image's class (pseudo-label, outliers alone)
        self.steps = 0  # optimiser steps taken (update calls): the training progress the schedule follows

    def sampling_labels(self, pseudo: np.ndarray) -> np.ndarray:
        """Every image its own class: each batch holds P images x data.k augmented views of each."""
        return np.arange(len(pseudo))

    def init_memory(self, features: dict[str, np.ndarray]) -> None:
        """The memory of each branch from the descriptors of every target training image (N x D), L2-normalised;
        until a clustering, each image is a class of its own."""
        self.memories = {b: F.normalize(torch.from_numpy(features[BRANCH_FEATURES[b]]).float(), dim=1).to(self.device)
                         for b in self.branches}
        self.classes = torch.arange(len(features["encoder"]), device=self.device)

    def on_target_features(self, features: dict[str, np.ndarray]) -> None:
        """The first extraction of a run initialises the memory; later ones leave it to the momentum updates."""
        if not self.memories:
            self.init_memory(features)

    def on_clustering(self, round_: ClusterRound) -> bool:
        """Every clustering's labels become the classes (outliers each a class of its own)."""
        self.classes = torch.from_numpy(singleton_outliers(round_.labels)).long().to(self.device)
        return False

    @property
    def progress(self) -> float:
        """Share of the adaptation's iterations done."""
        return self.steps / max(1, self.cfg.optim.iterations)

    def branch_terms(self, branch: Branch, labels: Labels) -> list[Term]:
        terms = source_classifier_terms(self, branch, labels)
        if labels.yt is None or labels.index_t is None:
            return terms
        s, p, target = self.settings, branch.prefix, branch.embedded[branch.ns:]
        local = local_loss(labels.gather(target), labels.gather(labels.index_t), s.jvtc_local_temperature)
        terms.append((f"jvtc_local_{p}target", local, 1.0))
        if self.memories:
            loss = global_loss(target, self.memories[branch.name], self.classes, labels.index_t,
                               s.jvtc_global_temperature)
            weight = s.jvtc_global_weight if self.progress >= s.jvtc_global_start else 0.0
            terms.append((f"jvtc_global_{p}target", loss, weight))
        return terms

    @torch.no_grad()
    def update(self, embedded: dict[str, torch.Tensor], labels: Labels) -> None:
        momentum = min(self.progress, self.settings.jvtc_momentum_max)
        self.steps += 1
        if labels.yt is None or labels.index_t is None or not self.memories:
            return
        rows = labels.gather(labels.index_t)
        for name, emb in embedded.items():
            images, means, _ = view_means(labels.gather(emb[len(labels.ys):].float()), rows)
            memory_update(self.memories[name], images, means, momentum)

    def state(self) -> dict[str, torch.Tensor]:
        return {"steps": torch.tensor(self.steps), "classes": self.classes.cpu(),
                **{f"memory.{b}": m.cpu() for b, m in self.memories.items()}}

    def load_state(self, state: dict[str, torch.Tensor]) -> None:
        device = self.device
        self.steps = int(state["steps"]) if "steps" in state else 0
        self.classes = state["classes"].to(device) if "classes" in state else self.classes
        self.memories = {k.split(".", 1)[1]: v.to(device) for k, v in state.items() if k.startswith("memory.")}
