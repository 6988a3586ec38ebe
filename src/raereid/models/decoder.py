"""The decoder Dec (Eq. 10): three x2 transposed convolutions from a feature map to an image.

BN + ReLU after every layer but the last, tanh on the last: the output lies in [-1, 1] at 8x the
map's resolution (half the input size when the encoder's last stride is 1).
"""

from __future__ import annotations

import torch
from torch import nn


class Decoder(nn.Module):
    def __init__(self, in_channels: int, hidden: tuple[int, ...] = (256, 128)):
        super().__init__()
        widths = [in_channels, *hidden]
        layers: list[nn.Module] = []
        for cin, cout in zip(widths[:-1], widths[1:]):
            layers += [nn.ConvTranspose2d(cin, cout, 4, stride=2, padding=1, bias=False), nn.BatchNorm2d(cout),
                       nn.ReLU(inplace=True)]
        layers += [nn.ConvTranspose2d(widths[-1], 3, 4, stride=2, padding=1), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, fmap: torch.Tensor) -> torch.Tensor:
        return self.net(fmap)
