"""The backbone registry: names -> builders of a feature-map body, for `model.backbone`.

A builder takes (pretrained, last_stride) and returns a `Backbone`: the body (an nn.Module mapping an
ImageNet-normalised image batch to a feature map N x C x H x W) and C. A plugin adds one with

    @register_backbone("my_net", imagenet=False)
    def my_net(pretrained: str, last_stride: int) -> Backbone: ...

`imagenet` says whether `model.pretrained=imagenet` has weights to load; `pretrained` is then
"imagenet", "none" or the path of a weights file. `timm:NAME` names any timm model (`timm_models`).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass

from raereid.errors import ConfigError
from raereid.models.backbones.backbone import Backbone, BackboneBuilder
from raereid.registry import Registry

TIMM_PREFIX = "timm:"


@dataclass(frozen=True)
class BackboneEntry:
    """What the registry holds for one name: the builder, and whether ImageNet weights exist."""

    build: BackboneBuilder
    imagenet: bool  # model.pretrained=imagenet has weights to load


BACKBONES: Registry[BackboneEntry] = Registry("backbone", "model.backbone")


class RandomWeightsWarning(UserWarning):
    """A backbone that has ImageNet weights starts from random ones (model.pretrained=none)."""


def register_backbone(name: str, *, imagenet: bool = True) -> Callable[[BackboneBuilder], BackboneBuilder]:
    """Decorator adding a builder `(pretrained, last_stride) -> Backbone` as `model.backbone=name`."""

    def decorate(build: BackboneBuilder) -> BackboneBuilder:
        if name.startswith(TIMM_PREFIX):
            raise ConfigError(f"backbone names starting with {TIMM_PREFIX!r} are timm's",
                              fix="register under another name")
        known = BACKBONES.get(name) if name in BACKBONES else None
        same = known is not None and known.build is build  # the same builder again (a module imported twice)
        BACKBONES.register(name)(known if same else BackboneEntry(build, imagenet))
        return build

    return decorate


def backbone_names() -> list[str]:
    """The registered backbones, sorted (timm:NAME comes on top of these)."""
    return BACKBONES.names()


def is_backbone(name: object) -> bool:
    """Whether `name` is a registered backbone or timm:NAME (whether timm has NAME is checked when it is built)."""
    if not isinstance(name, str):
        return False
    return name in BACKBONES or (name.startswith(TIMM_PREFIX) and bool(name[len(TIMM_PREFIX):].strip()))


def has_imagenet_weights(name: str) -> bool:
    """Whether model.pretrained=imagenet has weights for `name` (timm models are asked when they are built)."""
    return name.startswith(TIMM_PREFIX) or (name in BACKBONES and BACKBONES.get(name).imagenet)


def build_backbone(name: str, pretrained: str = "imagenet", last_stride: int = 1) -> Backbone:
    """The body of `model.backbone=name` with `model.pretrained` weights and `model.last_stride`."""
    if last_stride not in (1, 2):
        raise ConfigError(f"model.last_stride must be 1 or 2, got {last_stride}")
    if not name.startswith(TIMM_PREFIX) and pretrained == "imagenet" and not BACKBONES.get(name).imagenet:
        raise ConfigError(f"{name} has no ImageNet weights",
                          fix="use model.pretrained=none or a path to weights of this network")
    try:
        if name.startswith(TIMM_PREFIX):
            from raereid.models.backbones.timm_models import build_timm

            built = build_timm(name[len(TIMM_PREFIX):].strip(), pretrained, last_stride)
        else:
            built = BACKBONES.get(name).build(pretrained, last_stride)
    except OSError as exc:  # with a weights file's path checked at start, a failed download
        if pretrained != "imagenet":
            raise
        raise ConfigError(f"cannot fetch the ImageNet weights of {name} ({exc})",
                          fix="connect to the internet once (the weights are cached), or download them and set "
                              "model.pretrained to the file's path") from None
    if pretrained == "none" and has_imagenet_weights(name):
        warnings.warn(
            f"model.backbone={name} has no pretrained weights (model.pretrained=none): unless train.init loads trained "
            "ones it starts from random weights, and re-ID from random weights needs far more data and iterations; "
            "set model.pretrained=imagenet or the path of a weights file",
            RandomWeightsWarning,
            stacklevel=3,
        )
    return built
