"""Backbones of the encoder, by name (`model.backbone`): the registry and the shipped builders.

Shipped: resnet18/34/50/101 and shufflenet_v2_x0_5/x1_0 (torchvision), resnet50_ibn_a (IBN-Net),
convnet_small (the CPU demo's), and timm:NAME for any timm model with a feature map. A plugin
registers its own with `@register_backbone("name")` (see `registry`).
"""

from raereid.models.backbones import ibn, small, torchvision_models  # noqa: F401 - registers the shipped backbones
from raereid.models.backbones.registry import (
    BACKBONES,
    TIMM_PREFIX,
    Backbone,
    RandomWeightsWarning,
    backbone_names,
    build_backbone,
    has_imagenet_weights,
    is_backbone,
    register_backbone,
)

__all__ = ["BACKBONES", "TIMM_PREFIX", "Backbone", "RandomWeightsWarning", "backbone_names", "build_backbone",
           "has_imagenet_weights", "is_backbone", "register_backbone"]
