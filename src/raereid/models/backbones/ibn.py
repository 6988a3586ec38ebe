"""resnet50_ibn_a: ResNet-50 with IBN-Net's "a" blocks (Pan et al., ECCV 2018), the backbone of the
strongest published unsupervised re-ID results (SpCL, MMT, Cluster Contrast).

In every bottleneck of layer1-3 the first batch norm becomes an IBN layer: instance norm (affine) on
the first half of its channels, batch norm on the rest; layer4 is plain. The network is torchvision's
ResNet-50 with those layers swapped in, so its state dict has the published checkpoint's key layout
(`layerL.B.bn1.IN.*`, `layerL.B.bn1.BN.*`, everything else torchvision's). Weights: "imagenet" from
IBN-Net's published file through torch.hub's cache, "none", or a local copy of that file.
"""

from __future__ import annotations

import torch
import torchvision
from torch import nn

from raereid.models.backbones.registry import Backbone, register_backbone
from raereid.models.backbones.torchvision_models import cut, resnet_stages
from raereid.models.backbones.weights import load_local_weights, load_weights

IMAGENET_URL = "https://github.com/XingangPan/IBN-Net/releases/download/v1.0/resnet50_ibn_a-d9d0bb7b.pth"


class IBN(nn.Module):
    """Instance norm on the first `int(channels * ratio)` channels, batch norm on the others."""

    def __init__(self, channels: int, ratio: float = 0.5):
        super().__init__()
        self.half = int(channels * ratio)
        self.IN = nn.InstanceNorm2d(self.half, affine=True)  # IN and BN: IBN-Net's published key names
        self.BN = nn.BatchNorm2d(channels - self.half)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.IN(x[:, : self.half].contiguous()), self.BN(x[:, self.half:].contiguous())], dim=1)


def resnet50_ibn_a_network() -> nn.Module:
    """The whole ResNet-50-IBN-a classifier (random weights): the layout of the published weights file."""
    model = torchvision.models.resnet50(weights=None)
    for layer in (model.layer1, model.layer2, model.layer3):
        for block in layer:
            block.bn1 = IBN(block.bn1.num_features)
    return model


@register_backbone("resnet50_ibn_a")
def resnet50_ibn_a(pretrained: str, last_stride: int) -> Backbone:
    """ResNet-50-IBN-a cut before its pooling (2048 channels)."""
    model = resnet50_ibn_a_network()
    if pretrained == "imagenet":
        state = torch.hub.load_state_dict_from_url(IMAGENET_URL, map_location="cpu", check_hash=True, weights_only=True)
        load_weights(model, state, "resnet50_ibn_a", IMAGENET_URL, source="IBN-Net's")
    elif pretrained != "none":
        load_local_weights(model, pretrained, "resnet50_ibn_a", source="IBN-Net's published")
    return cut(resnet_stages(model), 2048, last_stride)
