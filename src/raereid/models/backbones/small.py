"""convnet_small: a plain four-stage network of torchvision conv-BN-ReLU blocks that trains from random
weights in minutes on a CPU (the demo's). It has no ImageNet weights: "none" or a local file."""

from __future__ import annotations

from torch import nn
from torchvision.ops import Conv2dNormActivation

from raereid.models.backbones.registry import Backbone, register_backbone
from raereid.models.backbones.torchvision_models import cut
from raereid.models.backbones.weights import load_local_weights


class ConvNetSmall(nn.Sequential):
    """Four conv-BN-ReLU stages (32, 64, 128, 256 channels), each after the first halving the resolution."""

    def __init__(self, widths: tuple[int, ...] = (32, 64, 128, 256)):
        stages, c_in = [], 3
        for i, c in enumerate(widths):
            stages.append(Conv2dNormActivation(c_in, c, kernel_size=3, stride=1 if i == 0 else 2))
            c_in = c
        super().__init__(*stages)


@register_backbone("convnet_small", imagenet=False)
def convnet_small(pretrained: str, last_stride: int) -> Backbone:
    """ConvNetSmall, random or from a local file of its own state dict (256 channels)."""
    model = ConvNetSmall()
    if pretrained != "none":
        load_local_weights(model, pretrained, "convnet_small", source="raereid's")
    return cut(list(model.children()), 256, last_stride)
