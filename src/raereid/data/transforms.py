"""Image transforms of the re-ID training recipe (torchvision): ImageNet-normalised tensors at the input size."""

from __future__ import annotations

from torchvision import transforms as T

from raereid.errors import ConfigError
from raereid.pixels import IMAGENET_MEAN, IMAGENET_STD


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
