"""Fusion P (Eq. 18-20): factorised bilinear pooling of two feature maps, then global pooling.

z = Q^T (U^T F1 o V^T F2) at every location (U, V: c -> d projections, o: Hadamard product,
Q: d -> o), averaged over locations (the paper's), or their maximum with `model.pooling=max`; GeM
needs a non-negative map and this one is signed, so `gem` pools it by average (`fused_pooling`).
Optional power normalisation (signed square root, as in factorised bilinear pooling practice) is
off by default: its gradient is unbounded near 0. Optional L2 normalisation puts the fused
descriptor on the unit sphere for the losses too (the triplet margin then means the same whatever
the scale of the product); retrieval L2-normalises every descriptor.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from raereid.models.pooling import AvgPool


class BilinearFusion(nn.Module):
    def __init__(self, in_channels: int, joint_dim: int = 2048, out_dim: int = 2048, power_norm: bool = False,
                 l2_norm: bool = False, pool: nn.Module | None = None):
        super().__init__()
        self.pool = pool if pool is not None else AvgPool()
        self.power_norm = power_norm
        self.l2_norm = l2_norm
        self.u = nn.Conv2d(in_channels, joint_dim, 1, bias=False)
        self.v = nn.Conv2d(in_channels, joint_dim, 1, bias=False)
        self.q = nn.Conv2d(joint_dim, out_dim, 1, bias=False)
        self.out_dim = out_dim

    def fuse_map(self, f1: torch.Tensor, f2: torch.Tensor) -> torch.Tensor:
        """The fused map P(F1, F2) before pooling."""
        return self.q(self.u(f1) * self.v(f2))

    def forward(self, f1: torch.Tensor, f2: torch.Tensor) -> torch.Tensor:
        """The fused descriptor pool(P(F1, F2))."""
        z = self.pool(self.fuse_map(f1, f2))
        if self.power_norm:
            z = torch.sign(z) * (torch.sqrt(z.abs() + 1e-4) - 1e-2)
        if self.l2_norm:
            z = F.normalize(z, dim=1)
        return z
