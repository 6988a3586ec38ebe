"""Global pooling of a feature map into a descriptor: average (the paper's GAP), max, or GeM.

GeM (generalised mean, Radenovic et al.) is (mean x^p)^(1/p) over locations, with one learnable p
(initialised at 3, as fast-reid and Cluster Contrast): p = 1 is average pooling, p -> inf max
pooling. Inputs are clamped at `eps` first, so it expects non-negative maps (the encoder's, after
a ReLU).
"""

from __future__ import annotations

import torch
from torch import nn

from raereid.errors import ConfigError

POOLINGS = ("avg", "max", "gem")


class AvgPool(nn.Module):
    """Global average pooling: N x C x H x W -> N x C."""

    def forward(self, fmap: torch.Tensor) -> torch.Tensor:
        return fmap.mean(dim=(2, 3))


class MaxPool(nn.Module):
    """Global max pooling: N x C x H x W -> N x C."""

    def forward(self, fmap: torch.Tensor) -> torch.Tensor:
        return fmap.amax(dim=(2, 3))


class GeM(nn.Module):
    """Generalised-mean pooling with a learnable exponent p: N x C x H x W -> N x C."""

    def __init__(self, p: float = 3.0, eps: float = 1e-6):
        super().__init__()
        self.p = nn.Parameter(torch.full((1,), float(p)))
        self.eps = eps

    def forward(self, fmap: torch.Tensor) -> torch.Tensor:
        return fmap.clamp(min=self.eps).pow(self.p).mean(dim=(2, 3)).pow(1.0 / self.p)

    def extra_repr(self) -> str:
        return f"p={float(self.p):.4g}, eps={self.eps}"


def make_pooling(kind: str) -> nn.Module:
    """The pooling module named by `model.pooling`."""
    if kind == "avg":
        return AvgPool()
    if kind == "max":
        return MaxPool()
    if kind == "gem":
        return GeM()
    raise ConfigError(f"unknown model.pooling {kind!r}", fix=f"use one of {', '.join(POOLINGS)} (avg is the paper's)")


def fused_pooling(kind: str) -> nn.Module:
    """The pooling of the fused map for `model.pooling`: the same, except GeM, which becomes average pooling.

    The bilinear product P(F1, F2) is signed; GeM's clamp at eps would zero its negative half."""
    return make_pooling("avg" if kind == "gem" else kind)
