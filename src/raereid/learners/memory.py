"""Cluster Contrast (Dai et al. 2021): a memory of L2-normalised cluster centroids, rebuilt at every
clustering, an InfoNCE loss of each target image against all centroids (temperature 0.05), and a
momentum update of the centroid of each image's cluster after every step. Outliers are left out
(never sampled). The source keeps the paper's classifier and triplet losses; the target keeps its
triplet loss; the memory loss replaces the target classifier's cross-entropy (Eq. 6, and 23 for
the fused descriptor, which has a memory of its own)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from raereid.learners.base import BRANCH_FEATURES, Branch, ClusterRound, Labels, Learner, Term, centroids, triplet_term
from raereid.learners.classifier import source_classifier_terms
from raereid.learners.registry import register_learner


def momentum_update(memory: torch.Tensor, rows: torch.Tensor, x: torch.Tensor, momentum: float) -> None:
    """memory[r] <- normalise(momentum * memory[r] + (1 - momentum) * x_i), one sample after another (in place)."""
    for r, xi in zip(rows.tolist(), x):
        mixed = momentum * memory[r] + (1.0 - momentum) * xi
        memory[r] = mixed / mixed.norm().clamp_min(1e-12)


def info_nce(embedded: torch.Tensor, memory: torch.Tensor, targets: torch.Tensor, temperature: float) -> torch.Tensor:
    """Cross-entropy of the L2-normalised embeddings' similarities to every memory entry, over `temperature`."""
    logits = F.normalize(embedded.float(), dim=1) @ memory.t() / temperature
    return F.cross_entropy(logits, targets)


@register_learner("memory")
class MemoryLearner(Learner):
    """One centroid memory per branch (clusters x dim), rebuilt at each clustering, momentum-updated per step."""

    def __init__(self, *args, **kwargs) -> None:  # noqa: ANN002, ANN003 - the Learner signature
        super().__init__(*args, **kwargs)
        self.memories: dict[str, torch.Tensor] = {}

    def on_clustering(self, round_: ClusterRound) -> bool:
        n = int(round_.labels.max()) + 1
        device = self.device
        self.memories = {
            b: F.normalize(centroids(round_.features[BRANCH_FEATURES[b]], round_.labels, n), dim=1).to(device)
            for b in self.branches
        }
        return False

    def branch_terms(self, branch: Branch, labels: Labels) -> list[Term]:
        terms = source_classifier_terms(self, branch, labels)
        if labels.yt is None:
            return terms
        ns, p = branch.ns, branch.prefix
        loss = info_nce(branch.embedded[ns:], self.memories[branch.name], labels.yt, self.cfg.learner.temperature)
        return terms + [(f"mem_{p}target", loss, 1.0),
                        triplet_term(f"tri_{p}target", branch.feat[ns:], labels.yt, self.cfg, labels.gather)]

    @torch.no_grad()
    def update(self, embedded: dict[str, torch.Tensor], labels: Labels) -> None:
        if labels.yt is None:
            return
        yt = labels.gather(labels.yt)
        for name, emb in embedded.items():
            x = labels.gather(F.normalize(emb[len(labels.ys):].float(), dim=1))
            momentum_update(self.memories[name], yt, x, self.cfg.learner.memory_momentum)

    def state(self) -> dict[str, torch.Tensor]:
        return {f"memory.{b}": m.cpu() for b, m in self.memories.items()}

    def load_state(self, state: dict[str, torch.Tensor]) -> None:
        device = self.device
        self.memories = {k.split(".", 1)[1]: v.to(device) for k, v in state.items() if k.startswith("memory.")}
