"""Image transforms of the re-ID training recipe (torchvision): ImageNet-normalised tensors at the input size."""

from __future__ import annotations

import torch
from PIL import Image
from torchvision import transforms as T

from raereid.errors import ConfigError
from raereid.pixels import IMAGENET_MEAN, IMAGENET_STD


class TrainTransform:
    """The training augmentation. With random erasing it returns `(image, clean)`: `clean` is the image before
    erasing, what the decoder is asked to reconstruct and Dis_pix sees as real (a reconstruction target should not
    hold erased boxes). Without erasing it returns the image alone, which is its own clean copy (not collated twice)."""

    def __init__(self, steps: list, erasing: float):
        self.base = T.Compose(steps)
        self.erase = T.RandomErasing(p=erasing, value=0.0) if erasing > 0 else None

    @property
    def transforms(self) -> list:
        """Every step, in order (random erasing last)."""
        return [*self.base.transforms, *([self.erase] if self.erase is not None else [])]

    def __call__(self, image: Image.Image) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        clean = self.base(image)
        return clean if self.erase is None else (self.erase(clean), clean)


def train_transform(
    height: int,
    width: int,
    flip: float = 0.5,
    pad: int = 10,
    erasing: float = 0.5,
    color_jitter: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0),
) -> TrainTransform:
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
            "data.color_jitter: expected 4 non-negative numbers (brightness, contrast, saturation, hue <= 0.5), "
            f"got {list(color_jitter)}",
            fix="e.g. --set data.color_jitter=0.4,0.4,0.4,0.1, or 0,0,0,0 for none",
        )
    if any(color_jitter):
        brightness, contrast, saturation, hue = color_jitter
        steps.append(T.ColorJitter(brightness, contrast, saturation, hue))
    steps += [T.ToTensor(), T.Normalize(IMAGENET_MEAN, IMAGENET_STD)]
    return TrainTransform(steps, erasing)


def test_transform(height: int, width: int) -> T.Compose:
    """Resize and ImageNet normalisation only."""
    return T.Compose(
        [
            T.Resize((height, width), interpolation=T.InterpolationMode.BICUBIC),
            T.ToTensor(),
            T.Normalize(IMAGENET_MEAN, IMAGENET_STD),
        ]
    )
