"""The discriminators (feature and pixel): three strided convolutions with LeakyReLU, then FC to one logit.

Dis_feat judges encoder feature maps, Dis_pix judges images; they share no weights (two instances).
Kernels are 3x3 (stride 2, padding 1) so that even a 8x4 feature map survives three halvings.
"""

from __future__ import annotations

import torch
from torch import nn


class Discriminator(nn.Module):
    def __init__(self, in_channels: int, input_size: tuple[int, int], channels: tuple[int, int, int] = (64, 128, 256)):
        super().__init__()
        layers: list[nn.Module] = []
        cin = in_channels
        for cout in channels:
            layers += [nn.Conv2d(cin, cout, 3, stride=2, padding=1), nn.LeakyReLU(0.2, inplace=True)]
            cin = cout
        self.convs = nn.Sequential(*layers)
        with torch.no_grad():
            flat = self.convs(torch.zeros(1, in_channels, *input_size)).numel()
        self.fc = nn.Linear(flat, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """One real/fake logit per input."""
        return self.fc(self.convs(x).flatten(1)).squeeze(1)
