"""torchvision classifiers cut before their pooling: resnet18/34/50/101 (the paper's is resnet50) and
shufflenet_v2_x0_5/x1_0. Weights: "imagenet" through torchvision's weights API (its download cache),
"none", or a local file in torchvision's key layout."""

from __future__ import annotations

from collections.abc import Callable

import torchvision
from torch import nn

from raereid.models.backbones.registry import Backbone, register_backbone
from raereid.models.backbones.weights import load_local_weights, set_last_stride_one


def resnet_stages(m: nn.Module) -> list[nn.Module]:
    """Stem, layer1..layer4 of a torchvision-style ResNet."""
    return [nn.Sequential(m.conv1, m.bn1, m.relu, m.maxpool), m.layer1, m.layer2, m.layer3, m.layer4]


def _shufflenet_stages(m: nn.Module) -> list[nn.Module]:
    return [nn.Sequential(m.conv1, m.maxpool), m.stage2, m.stage3, nn.Sequential(m.stage4, m.conv5)]


def torchvision_network(name: str, pretrained: str) -> nn.Module:
    """torchvision's `name` with its ImageNet weights, random ones, or a local file's."""
    if pretrained == "imagenet":
        return torchvision.models.get_model(name, weights=torchvision.models.get_model_weights(name).DEFAULT)
    model = torchvision.models.get_model(name, weights=None)
    if pretrained != "none":
        load_local_weights(model, pretrained, name)
    return model


def cut(stages: list[nn.Module], channels: int, last_stride: int) -> Backbone:
    """The stages as one body, the last one at stride 1 if asked."""
    if last_stride == 1:
        set_last_stride_one(stages[-1])
    return Backbone(nn.Sequential(*stages), channels)


def _register(name: str, stages: Callable[[nn.Module], list[nn.Module]], channels: int) -> None:
    def build(pretrained: str, last_stride: int) -> Backbone:
        return cut(stages(torchvision_network(name, pretrained)), channels, last_stride)

    build.__doc__ = f"torchvision's {name}, cut before its pooling ({channels} channels)."
    register_backbone(name)(build)


for _name, _channels in (("resnet18", 512), ("resnet34", 512), ("resnet50", 2048), ("resnet101", 2048)):
    _register(_name, resnet_stages, _channels)
for _name in ("shufflenet_v2_x0_5", "shufflenet_v2_x1_0"):
    _register(_name, _shufflenet_stages, 1024)
