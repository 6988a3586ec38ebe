"""MMCL (Wang and Zhang, CVPR 2020, "Unsupervised Person Re-identification via Multi-label Classification"):
every target training image is a class of its own, held in a memory of per-image features; memory-based
positive label prediction (MPLP) turns each image's single label into a multi-label vector (the images
similar enough to it, kept while cycle consistency holds), and the memory-based multi-label
classification loss (MMCL) pulls the image towards its positives and away from its hardest negatives.
No clustering (`uses_clusters` is False: the label generator is not run): the target batch is drawn uniformly
over images (every image is its own class, so the PK sampler with data.target_k = 1 draws distinct images). The
constants are those of MMCL's reference code (kennethwdk/MLCReID); the paper's method section could not be read
here to check them.

- MPLP: similarities S_i = M M[i]; candidates are the images with S_i[j] > t (t = 0.6), in decreasing
  order; candidate c stays positive while i is among the first k_i entries of c's own ranking
  (k_i = max(#candidates, mplp_min_candidates)); the first inconsistent candidate ends the list. Image i
  is always its own positive. Before `mplp_start` (a share of training) the label is single-class.
- MMCL: s = M f(x_i) (cosine, f L2-normalised, no scaling);
  loss_i = delta * mean_{p in P_i} (1 - s_p)^2 + mean_{n in hard(N_i)} (1 + s_n)^2, the hard negatives being
  the r share (r = 1%, at least one) of the negatives most similar to f(x_i); delta = 5.
- Memory: M[i] <- normalise(a M[i] + (1 - a) f(x_i)) after every step, a growing linearly with training
  from 0 to `mmcl_momentum` (0.5).

Where each value comes from, and where MMCL's code (kennethwdk/MLCReID) differs: issue 31's design note. The
source keeps the paper's classifier and triplet losses (Eq. 3-4, 22); the MMCL term replaces the target classifier's
cross-entropy and triplet (Eq. 6-7; 23 on the fused descriptor, with a memory of its own).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

import numpy as np
import torch
import torch.nn.functional as F

from raereid.config.schema import Config
from raereid.learners.base import BRANCH_FEATURES, Branch, Labels, Learner, Term
from raereid.learners.classifier import source_classifier_terms
from raereid.learners.memory import momentum_update
from raereid.learners.registry import register_learner


@dataclass(frozen=True)
class MMCLSettings:
    """MMCL's constants, read from the `learner.*` keys of the same names (schema.py)."""

    mplp_threshold: float = 0.6  # t: similarity above which an image is a label candidate (MMCL's t = 0.6)
    mplp_min_candidates: int = 10  # least neighbourhood of the cycle-consistency check (MMCL's code: 10)
    mplp_start: float = 0.1  # share of training with single-class labels before MPLP (code: epochs 0-5 of 60)
    mmcl_delta: float = 5.0  # delta: weight of the positive term (MMCL's 5)
    mmcl_hard_ratio: float = 0.01  # r: share of the negatives kept as hard negatives (MMCL's 1%)
    mmcl_momentum: float = 0.5  # weight of the old memory entry at the end of training (code: 0.5 * epoch / 60)

    @classmethod
    def from_config(cls, cfg: Config) -> MMCLSettings:
        """The values of `cfg.learner` for the keys it has (all of them in raereid's schema), else the defaults."""
        return cls(**{f.name: getattr(cfg.learner, f.name) for f in fields(cls) if hasattr(cfg.learner, f.name)})


def single_positives(rows: torch.Tensor, size: int) -> torch.Tensor:
    """Single-class labels: row b's only positive is memory entry rows[b] (B x size, bool)."""
    out = torch.zeros(len(rows), size, dtype=torch.bool, device=rows.device)
    out[torch.arange(len(rows), device=rows.device), rows] = True
    return out


def rank_of(image: int, candidates: torch.Tensor, memory: torch.Tensor) -> torch.Tensor:
    """0-based position of entry `image` in each candidate's ranking of the memory by similarity, ties broken
    by index (a stable descending sort)."""
    sims = memory[candidates] @ memory.t()
    own = sims[:, image : image + 1]
    earlier = torch.arange(memory.shape[0], device=memory.device) < image
    return (sims > own).sum(1) + ((sims == own) & earlier).sum(1)


@torch.no_grad()
def mplp_positives(memory: torch.Tensor, rows: torch.Tensor, threshold: float, min_candidates: int) -> torch.Tensor:
    """MPLP's multi-label vectors (B x N, bool) for the images `rows` of an L2-normalised memory (N x D)."""
    out = single_positives(rows, memory.shape[0])
    sims = memory[rows] @ memory.t()
    for b, image in enumerate(rows.tolist()):
        order = torch.argsort(sims[b], descending=True, stable=True)
        above = int((sims[b] > threshold).sum())
        if above == 0:
            continue
        candidates = order[:above]
        consistent = rank_of(image, candidates, memory) < max(above, min_candidates)
        kept = above if bool(consistent.all()) else int(torch.argmin(consistent.to(torch.uint8)))
        out[b, candidates[:kept]] = True
    return out


def hard_count(ratio: float, negatives: int) -> int:
    """How many hard negatives: floor(ratio * negatives), at least one while there are negatives."""
    return min(negatives, max(1, math.floor(ratio * negatives + 1e-9)))


def mmcl_loss(similarity: torch.Tensor, positives: torch.Tensor, delta: float, hard_ratio: float) -> torch.Tensor:
    """The MMCL loss of a batch: similarities to every memory entry (B x N), multi-labels (B x N, bool)."""
    per_row = []
    for sim, pos in zip(similarity, positives):
        loss = delta * (1.0 - sim[pos]).pow(2).mean()
        negatives = sim[~pos]
        if negatives.numel():
            hard = negatives.topk(hard_count(hard_ratio, negatives.numel())).values
            loss = loss + (1.0 + hard).pow(2).mean()
        per_row.append(loss)
    return torch.stack(per_row).mean()


@register_learner("mmcl")
class MMCLLearner(Learner):
    """A per-image memory of the target training set per branch; MPLP labels and the MMCL loss on it."""

    uses_clusters = False
    min_target_k = 1  # uniform draws over images, as MMCL's loader
    paper_rows = {"baseline": "MMCL", "full": "MMCL + RAE"}

    def __init__(self, *args, **kwargs) -> None:  # noqa: ANN002, ANN003 - the Learner signature
        super().__init__(*args, **kwargs)
        self.settings = MMCLSettings.from_config(self.cfg)
        self.memories: dict[str, torch.Tensor] = {}
        self.steps = 0  # optimiser steps taken (update calls): the training progress MPLP and the momentum follow

    def sampling_labels(self, pseudo: np.ndarray) -> np.ndarray:
        """Every image its own class: a uniform draw over images."""
        return np.arange(len(pseudo))

    def init_memory(self, features: dict[str, np.ndarray]) -> None:
        """The memory of each branch from the descriptors of every target training image (N x D), L2-normalised."""
        self.memories = {b: F.normalize(torch.from_numpy(features[BRANCH_FEATURES[b]]).float(), dim=1).to(self.device)
                         for b in self.branches}

    def on_target_features(self, features: dict[str, np.ndarray]) -> None:
        """The first extraction of a run initialises the memory; later ones leave it to the momentum updates (as
        MMCL's memory is only ever written by them)."""
        if not self.memories:
            self.init_memory(features)

    @property
    def progress(self) -> float:
        """Share of the adaptation's iterations done."""
        return self.steps / max(1, self.cfg.optim.iterations)

    def positives(self, memory: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
        """Single-class labels before `mplp_start`, MPLP's afterwards."""
        s = self.settings
        if self.progress < s.mplp_start:
            return single_positives(rows, memory.shape[0])
        return mplp_positives(memory, rows, s.mplp_threshold, s.mplp_min_candidates)

    def branch_terms(self, branch: Branch, labels: Labels) -> list[Term]:
        terms = source_classifier_terms(self, branch, labels)
        if labels.yt is None or labels.index_t is None or not self.memories:
            return terms
        memory, s = self.memories[branch.name], self.settings
        sim = F.normalize(branch.embedded[branch.ns:].float(), dim=1) @ memory.t()
        loss = mmcl_loss(sim, self.positives(memory, labels.index_t), s.mmcl_delta, s.mmcl_hard_ratio)
        return terms + [(f"mmcl_{branch.prefix}target", loss, 1.0)]

    @torch.no_grad()
    def update(self, embedded: dict[str, torch.Tensor], labels: Labels) -> None:
        momentum = self.settings.mmcl_momentum * self.progress
        self.steps += 1
        if labels.yt is None or labels.index_t is None or not self.memories:
            return
        rows = labels.gather(labels.index_t)
        for name, emb in embedded.items():
            x = labels.gather(F.normalize(emb[len(labels.ys):].float(), dim=1))
            momentum_update(self.memories[name], rows, x, momentum)

    def state(self) -> dict[str, torch.Tensor]:
        return {"steps": torch.tensor(self.steps), **{f"memory.{b}": m.cpu() for b, m in self.memories.items()}}

    def load_state(self, state: dict[str, torch.Tensor]) -> None:
        device = self.device
        self.steps = int(state["steps"]) if "steps" in state else 0
        self.memories = {k.split(".", 1)[1]: v.to(device) for k, v in state.items() if k.startswith("memory.")}
