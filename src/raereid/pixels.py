"""The two pixel spaces of RAE: the encoder sees ImageNet-normalised images, the decoder works in [-1, 1] (tanh).

`to_unit_range` and `from_unit_range` convert between them so that reconstructions can be compared
with, and fed back like, real inputs. Shared by data/ (transforms) and models/ (the recurrent pass).
"""

from __future__ import annotations

import torch

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def _stats(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    mean = torch.tensor(IMAGENET_MEAN, device=x.device, dtype=x.dtype).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD, device=x.device, dtype=x.dtype).view(1, 3, 1, 1)
    return mean, std


def to_unit_range(x: torch.Tensor) -> torch.Tensor:
    """ImageNet-normalised batch -> [-1, 1], the decoder's output range."""
    mean, std = _stats(x)
    return (x * std + mean) * 2.0 - 1.0


def from_unit_range(x: torch.Tensor) -> torch.Tensor:
    """[-1, 1] batch (a reconstruction) -> ImageNet-normalised, the encoder's input space."""
    mean, std = _stats(x)
    return ((x + 1.0) * 0.5 - mean) / std
