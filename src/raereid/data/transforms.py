"""Image transforms of the re-ID training recipe (torchvision), and the pixel-range conversions RAE needs.

The encoder sees ImageNet-normalised images; the decoder works in [-1, 1] (tanh). `to_unit_range`
and `from_unit_range` convert between the two so that reconstructions can be compared with, and
fed back like, real inputs.
"""

from __future__ import annotations

import torch
from torchvision import transforms as T

from raereid.errors import ConfigError

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def train_transform(
    height: int,
    width: int,
    flip: float = 0.5,
    pad: int = 10,
    erasing: float = 0.5,
    color_jitter: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0),
) -> T.Compose:
    """Resize, random flip, pad + random crop, optional colour jitter, ImageNet normalisation, random erasing.

    `color_jitter` is torchvision's (brightness, contrast, saturation, hue); all zero leaves colours alone.
    """
    steps: list = [T.Resize((height, width), interpolation=T.InterpolationMode.BICUBIC)]
    if flip > 0:
        steps.append(T.RandomHorizontalFlip(p=flip))
    if pad > 0:
        steps += [T.Pad(pad, padding_mode="edge"), T.RandomCrop((height, width))]
    if len(color_jitter) != 4 or min(color_jitter) < 0 or color_jitter[3] > 0.5:
        raise ConfigError(
            f"data.color_jitter: expected 4 non-negative numbers (brightness, contrast, saturation, hue <= 0.5), got {list(color_jitter)}",
            fix="e.g. --set data.color_jitter=0.4,0.4,0.4,0.1, or 0,0,0,0 for none",
        )
    if any(color_jitter):
        brightness, contrast, saturation, hue = color_jitter
        steps.append(T.ColorJitter(brightness, contrast, saturation, hue))
    steps += [T.ToTensor(), T.Normalize(IMAGENET_MEAN, IMAGENET_STD)]
    if erasing > 0:
        steps.append(T.RandomErasing(p=erasing, value=0.0))
    return T.Compose(steps)


def test_transform(height: int, width: int) -> T.Compose:
    """Resize and ImageNet normalisation only."""
    return T.Compose(
        [
            T.Resize((height, width), interpolation=T.InterpolationMode.BICUBIC),
            T.ToTensor(),
            T.Normalize(IMAGENET_MEAN, IMAGENET_STD),
        ]
    )


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
