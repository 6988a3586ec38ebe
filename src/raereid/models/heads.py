"""Identity classifiers: dropout 0.5 on the pooled feature, then a linear layer.

Dropout masks can be drawn per image from that image's seed (the sampler gives every sampled image
one), so a training step is the same whatever the number of processes the batch is split over.
The target classifier has one class per pseudo-label cluster; it is rebuilt after every
clustering and initialised from the L2-normalised cluster centroids so that training resumes
from sensible logits instead of random ones.
"""

from __future__ import annotations

import torch
from torch import nn


def seeded_dropout(x: torch.Tensor, p: float, seeds: torch.Tensor, salt: int) -> torch.Tensor:
    """Inverted dropout whose mask for row i depends only on (seeds[i], salt)."""
    if p <= 0:
        return x
    rows = [torch.rand(x.shape[1], generator=torch.Generator().manual_seed((int(s) ^ salt) & (2**63 - 1)))
            for s in seeds.tolist()]
    keep = (torch.stack(rows) >= p).to(device=x.device, dtype=x.dtype)
    return x * keep / (1.0 - p)


class Classifier(nn.Module):
    def __init__(self, in_dim: int, num_classes: int, dropout: float = 0.5, salt: int = 0):
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.salt = salt
        self.fc = nn.Linear(in_dim, max(num_classes, 1))
        nn.init.normal_(self.fc.weight, std=0.001)
        nn.init.zeros_(self.fc.bias)

    @property
    def num_classes(self) -> int:
        return self.fc.out_features

    def forward(self, feat: torch.Tensor, seeds: torch.Tensor | None = None) -> torch.Tensor:
        """Logits; with per-image `seeds` in training, dropout masks come from the seeds, not the global RNG."""
        if self.training and seeds is not None:
            return self.fc(seeded_dropout(feat, self.dropout.p, seeds, self.salt))
        return self.fc(self.dropout(feat))

    @classmethod
    def from_centroids(cls, centroids: torch.Tensor, dropout: float = 0.5, salt: int = 0) -> Classifier:
        """A classifier whose class weights are the L2-normalised centroids (classes x dim)."""
        head = cls(centroids.shape[1], centroids.shape[0], dropout, salt)
        with torch.no_grad():
            head.fc.weight.copy_(nn.functional.normalize(centroids.float(), dim=1))
        return head
