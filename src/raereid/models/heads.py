"""Identity classifiers: dropout 0.5 on the pooled feature, then a linear layer.

The target classifier has one class per pseudo-label cluster; it is rebuilt after every
clustering and initialised from the L2-normalised cluster centroids so that training resumes
from sensible logits instead of random ones.
"""

from __future__ import annotations

import torch
from torch import nn


class Classifier(nn.Module):
    def __init__(self, in_dim: int, num_classes: int, dropout: float = 0.5):
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(in_dim, max(num_classes, 1))
        nn.init.normal_(self.fc.weight, std=0.001)
        nn.init.zeros_(self.fc.bias)

    @property
    def num_classes(self) -> int:
        return self.fc.out_features

    def forward(self, feat: torch.Tensor) -> torch.Tensor:
        return self.fc(self.dropout(feat))

    @classmethod
    def from_centroids(cls, centroids: torch.Tensor, dropout: float = 0.5) -> "Classifier":
        """A classifier whose class weights are the L2-normalised centroids (classes x dim)."""
        head = cls(centroids.shape[1], centroids.shape[0], dropout)
        with torch.no_grad():
            head.fc.weight.copy_(nn.functional.normalize(centroids.float(), dim=1))
        return head
