"""What a backbone builder returns: the feature-map body and its number of channels (its own module so that
the registry and the timm builder it imports lazily both use it without importing each other)."""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from torch import nn


class Backbone(NamedTuple):
    """A feature-map body and its number of output channels."""

    body: nn.Module
    out_channels: int


BackboneBuilder = Callable[[str, int], Backbone]
