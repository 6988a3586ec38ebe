"""timm:NAME, any timm model as the encoder, if it gives a feature map (timm is the optional extra `[timm]`).

The body is `timm.create_model(NAME, features_only=True, out_indices=(-1,))`, its last feature map
(NHWC maps are permuted to NCHW); for a model whose timm has no feature extractor, `forward_features`
of the plain model, if that is a 4-D map. Anything else (a transformer's tokens) is refused. Weights:
"imagenet" = timm's default pretrained weights (timm downloads them into its cache), "none", or a
local file in timm's key layout (`pretrained_cfg_overlay=dict(file=...)`, .pth or .safetensors).
`model.last_stride=1` sets the stride-2 convolutions of the last stage to stride 1, checked by a probe
(ResNet-like stages); where that does not halve the reduction it is refused.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from raereid.errors import CheckpointError, ConfigError
from raereid.models.backbones.backbone import Backbone
from raereid.pixels import IMAGENET_MEAN, IMAGENET_STD

PROBE_MULTIPLES = (4, 2)  # last-stride probe: an input of (4, 2) times the model's reduction


class TimmBody(nn.Module):
    """A timm model -> its last feature map, N x C x H x W."""

    def __init__(self, model: nn.Module, features_only: bool, channels_last: bool):
        super().__init__()
        self.model, self.features_only, self.channels_last = model, features_only, channels_last

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.model(x)[-1] if self.features_only else self.model.forward_features(x)
        return out.permute(0, 3, 1, 2) if self.channels_last else out


def _timm():  # noqa: ANN202 - the timm module, or a ConfigError saying how to install it
    try:
        import timm
    except ImportError:
        raise ConfigError("model.backbone=timm:NAME needs timm, which is not installed",
                          fix="pip install 'raereid[timm]' (or pip install timm)") from None
    return timm


def _create(timm, name: str, pretrained: str, **kwargs: Any) -> nn.Module:  # noqa: ANN001
    """timm.create_model with raereid's weights choice; a weights file that does not fit is a CheckpointError."""
    weights = {}
    if pretrained not in ("imagenet", "none"):
        path = Path(pretrained).expanduser()
        if not path.is_file():
            raise ConfigError("pretrained weights file not found", where=path,
                              fix="model.pretrained takes imagenet, none, or a path to a weights file")
        weights = {"pretrained_cfg_overlay": {"file": str(path)}}
    try:
        return timm.create_model(name, pretrained=pretrained != "none", **weights, **kwargs)
    except RuntimeError as exc:
        if weights and "loading state_dict" in str(exc):
            raise CheckpointError(f"pretrained weights do not fit timm's {name} ({str(exc)[:300]})", where=pretrained,
                                  fix=f"use weights of timm's {name} (its state_dict), or set model.backbone to "
                                      "their model") from None
        if pretrained == "imagenet" and "pretrained" in str(exc).lower():
            raise ConfigError(f"timm has no pretrained weights for {name} ({str(exc)[:200]})",
                              fix="set model.pretrained=none or to a weights file of this model") from None
        raise


def _feature_body(timm, name: str, pretrained: str) -> tuple[TimmBody, int]:  # noqa: ANN001
    """The model's last feature map through features_only, or its 4-D forward_features."""
    try:
        model = _create(timm, name, pretrained, features_only=True, out_indices=(-1,))
    except (RuntimeError, AssertionError, TypeError, NotImplementedError) as exc:
        model = _create(timm, name, pretrained, num_classes=0)
        return TimmBody(model, features_only=False, channels_last=False), _check_forward_features(model, name, exc)
    channels_last = str(getattr(model, "output_fmt", "NCHW")).upper().endswith("NHWC")
    return TimmBody(model, features_only=True, channels_last=channels_last), int(model.feature_info.channels()[-1])


def _check_forward_features(model: nn.Module, name: str, why: Exception) -> int:
    """The channels of a model's forward_features if it is an N x C x H x W map; a ConfigError if not."""
    size = tuple(getattr(model, "pretrained_cfg", {}).get("input_size", (3, 224, 224))[-2:])
    model.eval()
    try:
        with torch.no_grad():
            out = model.forward_features(torch.zeros(1, 3, *size))
    except Exception as exc:  # noqa: BLE001 - whatever the model raises, it gives no feature map
        out = exc
    channels = getattr(model, "num_features", None)
    if not isinstance(out, torch.Tensor) or out.dim() != 4 or out.shape[1] != channels:
        shape = " x ".join(map(str, out.shape)) if isinstance(out, torch.Tensor) else repr(out)[:200]
        raise ConfigError(
            f"timm:{name} has no feature map: timm cannot extract its features ({str(why)[:200]}) and its "
            f"forward_features gives {shape} (tokens?), not N x C x H x W",
            fix="pick a convolutional timm model (resnet50, efficientnet_b0, ...) or a registered backbone",
        )
    return int(channels)


def _stage(body: nn.Module, module: str) -> nn.Module:
    """The feature extractor's submodule named `module` by timm's feature_info (`.` may have become `_`)."""
    for candidate in (module, module.replace(".", "_")):
        try:
            return body.get_submodule(candidate)
        except AttributeError:
            continue
    raise AttributeError(module)


def _last_stride_one(body: TimmBody, name: str) -> None:
    """Set the last stage's stride-2 convolutions (and a ResNet-D shortcut's pooling) to stride 1, then check
    on a probe that the map doubled; a ConfigError where the model does not allow it."""
    refuse = ConfigError(f"model.last_stride=1 is not supported for timm:{name}: its last stage cannot be set to "
                         "stride 1",
                         fix="set model.last_stride=2 (the model's own strides)")
    if not body.features_only:
        raise refuse
    info = body.model.feature_info.info
    if len(info) > 1 and info[-1]["reduction"] == info[-2]["reduction"]:
        return  # the last stage already keeps its input's resolution
    try:
        stage = _stage(body.model, info[-1]["module"])
    except AttributeError:
        raise refuse from None
    convs = [m for m in stage.modules() if isinstance(m, nn.Conv2d) and m.stride == (2, 2)]
    pools = [m for m in stage.modules()
             if isinstance(m, nn.AvgPool2d) and m.stride in (2, (2, 2)) and m.kernel_size in (2, (2, 2))]
    if not convs:
        raise refuse
    probe = [info[-1]["reduction"] * k for k in PROBE_MULTIPLES]
    body.eval()
    with torch.no_grad():
        before = body(torch.zeros(1, 3, *probe)).shape[-2:]
        for conv in convs:
            conv.stride = (1, 1)
        for pool in pools:
            pool.kernel_size, pool.stride = 1, 1
        try:
            after = body(torch.zeros(1, 3, *probe)).shape[-2:]
        except RuntimeError:
            raise refuse from None
    if tuple(after) != (2 * before[0], 2 * before[1]):
        raise refuse


def _check_normalisation(model: nn.Module, name: str) -> None:
    """Warn when the pretrained weights expect other input statistics than the ImageNet ones raereid normalises with."""
    cfg = getattr(model, "pretrained_cfg", None) or {}
    mean, std = tuple(cfg.get("mean", IMAGENET_MEAN)), tuple(cfg.get("std", IMAGENET_STD))
    if not np.allclose((mean, std), (IMAGENET_MEAN, IMAGENET_STD), atol=1e-3):
        warnings.warn(f"timm:{name} was pretrained on images normalised with mean {mean} and std {std}; raereid feeds "
                      f"it ImageNet's {IMAGENET_MEAN} and {IMAGENET_STD}, so its pretrained features start shifted",
                      stacklevel=4)


def build_timm(name: str, pretrained: str, last_stride: int) -> Backbone:
    """timm:NAME as a feature-map body, checked: timm installed, the model known, a 4-D map, its channels."""
    timm = _timm()
    if not timm.is_model(name):
        close = timm.list_models(f"*{name}*")[:8]
        like = f", e.g. {', '.join(close)}" if close else ""
        raise ConfigError(f"timm has no model {name!r}",
                          fix=f"model.backbone=timm:NAME with a name from timm.list_models(){like}")
    body, channels = _feature_body(timm, name, pretrained)
    if pretrained != "none":
        _check_normalisation(body.model, name)
    if last_stride == 1:
        _last_stride_one(body, name)
    body.train()
    return Backbone(body, channels)
