"""The encoder Enc (Eq. 1): a backbone from the registry (`raereid.models.backbones`), cut before its
pooling, its last stage at stride 1 by default (the paper's ResNet-50 setting)."""

from __future__ import annotations

import torch
from torch import nn

from raereid.errors import ConfigError
from raereid.models.backbones import build_backbone


class Encoder(nn.Module):
    """Image batch (ImageNet-normalised) -> feature map F = Enc(I) of `out_channels` channels."""

    def __init__(self, name: str = "resnet50", pretrained: str = "imagenet", last_stride: int = 1):
        super().__init__()
        self.name = name
        self.body, self.out_channels = build_backbone(name, pretrained, last_stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)

    @torch.no_grad()
    def map_size(self, input_size: tuple[int, int]) -> tuple[int, int]:
        """The feature map's height and width for `input_size` images, or a ConfigError if the backbone
        gives no N x out_channels x H x W map at that size."""
        was_training = self.training
        self.eval()
        size = f"{input_size[0]}x{input_size[1]}"
        try:
            fmap = self(torch.zeros(1, 3, *input_size))
        except Exception as exc:  # noqa: BLE001 - a model may assert its input size, or fail in any other way
            raise ConfigError(f"model.backbone={self.name} cannot encode {size} images ({exc})",
                              fix="use another input size (data.height, data.width) or backbone") from None
        finally:
            self.train(was_training)
        if not isinstance(fmap, torch.Tensor) or fmap.dim() != 4 or fmap.shape[1] != self.out_channels:
            shape = tuple(fmap.shape) if isinstance(fmap, torch.Tensor) else type(fmap).__name__
            raise ConfigError(f"model.backbone={self.name} gives {shape} for {size} images, not a "
                              f"1 x {self.out_channels} x H x W feature map",
                              fix="pick a backbone whose output is a feature map")
        return int(fmap.shape[2]), int(fmap.shape[3])
