"""The encoder Enc (Eq. 1): a torchvision backbone cut before its pooling, last stage at stride 1.

Registered backbones: resnet18/34/50/101 (the paper uses resnet50), shufflenet_v2_x0_5/x1_0, and
convnet_small, a plain four-stage network of torchvision conv-BN-ReLU blocks that trains from random
weights in minutes on a CPU (the demo's; it has no ImageNet weights). Weights: "imagenet" through
torchvision's weights API, "none" for random initialisation, or a path to a local state dict.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
import torchvision
from torch import nn
from torchvision.ops import Conv2dNormActivation

from raereid.errors import CheckpointError, ConfigError


@dataclass(frozen=True)
class BackboneSpec:
    """How to cut a torchvision classifier into a feature-map body."""

    stages: Callable[[nn.Module], list[nn.Module]]  # body modules in order; the last one is the last stage
    out_channels: int


def _resnet_stages(m: nn.Module) -> list[nn.Module]:
    return [nn.Sequential(m.conv1, m.bn1, m.relu, m.maxpool), m.layer1, m.layer2, m.layer3, m.layer4]


def _shufflenet_stages(m: nn.Module) -> list[nn.Module]:
    return [nn.Sequential(m.conv1, m.maxpool), m.stage2, m.stage3, nn.Sequential(m.stage4, m.conv5)]


class ConvNetSmall(nn.Sequential):
    """Four conv-BN-ReLU stages (32, 64, 128, 256 channels), each after the first halving the resolution."""

    def __init__(self, widths: tuple[int, ...] = (32, 64, 128, 256)):
        stages, c_in = [], 3
        for i, c in enumerate(widths):
            stages.append(Conv2dNormActivation(c_in, c, kernel_size=3, stride=1 if i == 0 else 2))
            c_in = c
        super().__init__(*stages)


def _sequential_stages(m: nn.Module) -> list[nn.Module]:
    return list(m.children())


BACKBONES: dict[str, BackboneSpec] = {
    "resnet18": BackboneSpec(_resnet_stages, 512),
    "resnet34": BackboneSpec(_resnet_stages, 512),
    "resnet50": BackboneSpec(_resnet_stages, 2048),
    "resnet101": BackboneSpec(_resnet_stages, 2048),
    "shufflenet_v2_x0_5": BackboneSpec(_shufflenet_stages, 1024),
    "shufflenet_v2_x1_0": BackboneSpec(_shufflenet_stages, 1024),
    "convnet_small": BackboneSpec(_sequential_stages, 256),
}
LOCAL_MODELS = {"convnet_small": ConvNetSmall}


def _set_last_stride_one(stage: nn.Module) -> None:
    """Make the last stage keep its input resolution (a 256x128 image then gives a 16x8 map)."""
    for module in stage.modules():
        if isinstance(module, nn.Conv2d) and module.stride == (2, 2):
            module.stride = (1, 1)


def _load_local_weights(model: nn.Module, path: Path, name: str) -> None:
    if not path.is_file():
        raise ConfigError(
            "pretrained weights file not found", where=path, fix="model.pretrained takes imagenet, none, or a path to a .pth state dict"
        )
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unpickling failure means the file is not usable
        raise CheckpointError(f"cannot read pretrained weights ({exc})", where=path, fix="use a torchvision state dict saved with torch.save") from None
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise CheckpointError("pretrained weights file does not hold a state dict", where=path, fix=f"save {name}().state_dict()")
    own = model.state_dict()
    body = {k: v for k, v in state.items() if k in own and not k.startswith(("fc.", "classifier."))}
    wrong = [k for k, v in body.items() if v.shape != own[k].shape]
    missing = [k for k in own if not k.startswith(("fc.", "classifier.")) and k not in body]
    unexpected = [k for k in state if k not in own and not k.startswith(("fc.", "classifier."))]
    if wrong or missing or unexpected:
        raise CheckpointError(
            f"pretrained weights do not fit {name}: {len(missing)} missing, {len(unexpected)} unexpected and "
            f"{len(wrong)} mis-shaped tensors (e.g. {(missing or unexpected or wrong)[0]})",
            where=path,
            fix=f"use weights of torchvision's {name}, or set model.backbone to the architecture they belong to",
        )
    model.load_state_dict(body, strict=False)


def _torchvision_model(name: str, pretrained: str) -> nn.Module:
    if name in LOCAL_MODELS:
        if pretrained == "imagenet":
            raise ConfigError(f"{name} has no ImageNet weights", fix="use model.pretrained=none or a path to weights of this network")
        model = LOCAL_MODELS[name]()
        if pretrained != "none":
            _load_local_weights(model, Path(pretrained).expanduser(), name)
        return model
    if pretrained == "imagenet":
        weights = torchvision.models.get_model_weights(name).DEFAULT
        return torchvision.models.get_model(name, weights=weights)
    model = torchvision.models.get_model(name, weights=None)
    if pretrained != "none":
        _load_local_weights(model, Path(pretrained).expanduser(), name)
    return model


class Encoder(nn.Module):
    """Image batch (ImageNet-normalised) -> feature map F = Enc(I) of `out_channels` channels."""

    def __init__(self, name: str = "resnet50", pretrained: str = "imagenet", last_stride: int = 1):
        super().__init__()
        if name not in BACKBONES:
            raise ConfigError(f"unknown backbone {name!r}", fix=f"model.backbone must be one of {', '.join(BACKBONES)}")
        if last_stride not in (1, 2):
            raise ConfigError(f"model.last_stride must be 1 or 2, got {last_stride}")
        spec = BACKBONES[name]
        stages = spec.stages(_torchvision_model(name, pretrained))
        if last_stride == 1:
            _set_last_stride_one(stages[-1])
        self.body = nn.Sequential(*stages)
        self.out_channels = spec.out_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)
