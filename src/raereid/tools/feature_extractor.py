"""`FeatureExtractor`: Algorithm 2's descriptors of images held in memory (a tracker's person crops).

The numbers are those `raereid extract` writes and the evaluator scores: the checkpoint's network, the
evaluation transform (`data.transforms.test_transform`: bicubic resize to the checkpoint's input size,
ImageNet normalisation), the checkpoint's flip averaging (`model.flip_test`), L2 normalisation.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from raereid.data.images import as_rgb, load_rgb
from raereid.data.transforms import test_transform
from raereid.errors import CheckpointError, ConfigError, InputError, PathError
from raereid.inference.features import l2_normalize
from raereid.tools.inputs import open_model

ImageLike = str | Path | Image.Image | np.ndarray
COLORS = ("RGB", "BGR")


class FeatureExtractor:
    """Descriptors (L2-normalised float32, compared by inner product = cosine) of person crops.

    `extractor(images)` takes one image or a sequence of them: file paths, PIL images (any mode; used
    as RGB), or numpy arrays H x W x 3 of uint8 (0-255) or of floats in [0, 1]. Arrays are read in the
    channel order `color`: "RGB" (PIL, matplotlib, torchvision) by default, "BGR" for frames from
    OpenCV (`cv2.imread`, `cv2.VideoCapture`). A 4-D array N x H x W x 3 is a sequence of N crops.
    One image gives a (D,) array, a sequence an (N, D) array in its order. Crops of any size are
    resized to the checkpoint's input size inside, in batches of `batch_size` (default: the
    checkpoint's `data.test_batch_size`) on `device` (auto, cpu, cuda, cuda:N).
    """

    def __init__(self, checkpoint: str | Path, device: str = "cpu", batch_size: int | None = None, color: str = "RGB"):
        if color not in COLORS:
            raise ConfigError(f"color must be RGB or BGR, got {color!r}",
                              fix='color="BGR" for OpenCV images, else "RGB"')
        if batch_size is not None and (not isinstance(batch_size, int) or batch_size < 1):
            raise ConfigError(f"batch_size must be an integer >= 1, got {batch_size!r}", fix="e.g. batch_size=64")
        self.trained = open_model(checkpoint, device)
        cfg = self.trained.cfg
        self.color = color
        self.batch_size = batch_size or cfg.data.test_batch_size
        self.input_size = (cfg.data.height, cfg.data.width)
        self.device = next(self.trained.model.parameters()).device
        self.flip = cfg.model.flip_test
        self.amp = cfg.train.amp and self.device.type == "cuda"  # as the evaluator: half precision on CUDA only
        self.transform = test_transform(*self.input_size)
        model = self.trained.model
        self.dim = cfg.model.fusion_out if model.fusion is not None else model.encoder.out_channels

    def __call__(self, images: ImageLike | Sequence[ImageLike]) -> np.ndarray:
        """L2-normalised descriptors: (D,) for one image, (N, D) for a sequence (see the class docstring)."""
        single = _is_single(images)
        items = [images] if single else list(images)
        parts = [np.zeros((0, self.dim), np.float32)]
        for start in range(0, len(items), self.batch_size):
            chunk = items[start:start + self.batch_size]
            batch = [self.transform(self._rgb(item, start + i)) for i, item in enumerate(chunk)]
            parts.append(self._forward(torch.stack(batch)))
        feats = np.concatenate(parts)
        if not np.isfinite(feats).all():  # as the evaluator refuses: a diverged model's weights overflow
            raise CheckpointError("the model gives non-finite descriptors: its weights have diverged",
                                  where=self.trained.path, fix="use an earlier checkpoint of the run")
        feats = l2_normalize(feats)
        return feats[0] if single else feats

    @torch.no_grad()
    def _forward(self, images: torch.Tensor) -> np.ndarray:
        """Algorithm 2 on a preprocessed batch, averaged with the mirror images when the checkpoint tests so."""
        model = self.trained.model
        images = images.to(self.device)
        with torch.autocast(device_type=self.device.type, dtype=torch.float16, enabled=self.amp):
            out = model.descriptors(images)["final"]
            if self.flip:
                out = (out + model.descriptors(torch.flip(images, dims=[3]))["final"]) / 2
        return out.float().cpu().numpy()

    def _rgb(self, item: ImageLike, index: int) -> Image.Image:
        """One input as an RGB PIL image, or an error naming the item and what is expected."""
        if isinstance(item, (str, Path)):
            path = Path(item).expanduser()
            if not path.is_file():
                raise PathError(f"image {index}: no such file", where=path,
                                fix="pass the path of an existing image file")
            return load_rgb(path)
        if isinstance(item, Image.Image):
            try:
                return as_rgb(item)
            except (OSError, ValueError) as exc:  # a lazily opened image whose file is truncated or closed
                raise InputError(f"image {index}: the PIL image cannot be read ({exc})",
                                 fix="pass an image that loads (Image.open(path).load() shows the problem)") from None
        if isinstance(item, np.ndarray):
            return Image.fromarray(_uint8_rgb(item, index, self.color))
        raise InputError(f"image {index}: unsupported input {type(item).__name__}",
                         fix="pass file paths, PIL images or numpy arrays H x W x 3 (uint8), one or a list of them")


def _is_single(images: object) -> bool:
    if isinstance(images, np.ndarray):
        return images.ndim != 4
    return isinstance(images, (str, Path, Image.Image))


def _uint8_rgb(array: np.ndarray, index: int, color: str) -> np.ndarray:
    """An H x W x 3 array as uint8 RGB: uint8 as is, other integers in 0-255, floats in [0, 1] scaled by 255."""
    what = f"image {index}: array of shape {array.shape} and dtype {array.dtype}"
    if array.ndim != 3 or array.shape[2] != 3:
        hint = " (channels first? use array.transpose(1, 2, 0))" if array.ndim == 3 and array.shape[0] == 3 else ""
        raise InputError(f"{what}: expected a colour image H x W x 3{hint}",
                         fix="pass H x W x 3 arrays; a grayscale H x W array becomes one with "
                         "np.stack([a] * 3, axis=-1), an RGBA one with a[..., :3]")
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise InputError(f"{what}: the image is empty",
                         fix="pass crops of at least one pixel (check the box coordinates)")
    if array.dtype == np.uint8:
        rgb = array
    elif np.issubdtype(array.dtype, np.integer):
        if array.min() < 0 or array.max() > 255:
            raise InputError(f"{what}: values from {array.min()} to {array.max()}, outside 0-255",
                             fix="pass uint8 images (0-255)")
        rgb = array.astype(np.uint8)
    elif np.issubdtype(array.dtype, np.floating):
        finite = bool(np.isfinite(array).all())
        if not finite or array.min() < 0 or array.max() > 1:
            found = f"float values from {array.min():g} to {array.max():g}" if finite else "NaN or infinite values"
            raise InputError(f"{what}: {found}, outside [0, 1]", fix="pass uint8 images (0-255), or floats scaled to "
                             "[0, 1] (for 0-255 floats: array.round().astype(np.uint8))")
        rgb = (array * 255).round().astype(np.uint8)
    else:
        raise InputError(f"{what}: unsupported dtype", fix="pass uint8 images (0-255)")
    return np.ascontiguousarray(rgb[..., ::-1] if color == "BGR" else rgb)
