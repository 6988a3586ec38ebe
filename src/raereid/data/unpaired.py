"""Unpaired image batches for the image translator (`raereid translate`): CycleGAN's transform and pixel
range, and a sampler whose batches depend only on (seed, stream, pass), so that a resumed run draws the
same images."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Sampler
from torchvision import transforms as T


def translator_transform(height: int, width: int, flip: float = 0.0) -> T.Compose:
    """Resize, optional random flip, [-1, 1] tensor (CycleGAN's pixel range)."""
    steps: list = [T.Resize((height, width), interpolation=T.InterpolationMode.BICUBIC)]
    if flip > 0:
        steps.append(T.RandomHorizontalFlip(p=flip))
    return T.Compose(steps + [T.ToTensor(), T.Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))])


def to_pil(batch: torch.Tensor) -> list[Image.Image]:
    """[-1, 1] images (N, 3, H, W) -> RGB PIL images."""
    arr = ((batch.detach().clamp(-1, 1) + 1) * 127.5).round().byte().permute(0, 2, 3, 1).cpu().numpy()
    return [Image.fromarray(a) for a in arr]


class UnpairedSampler(Sampler[list[tuple[int, int]]]):
    """Batches of (image index, augmentation seed) for iterations `start` to `stop`: shuffled passes over
    `n` images, each a function of (seed, stream, pass) only, so a resumed run draws the same batches."""

    def __init__(self, n: int, batch: int, seed: int, stream: int, start: int, stop: int):
        self.n, self.batch, self.seed, self.stream, self.start, self.stop = n, batch, seed, stream, start, stop
        self._cached: tuple[int, np.ndarray, np.ndarray] | None = None

    def __len__(self) -> int:
        return max(0, self.stop - self.start)

    def _pass(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """The order of pass `index` and one augmentation seed per position."""
        if self._cached is None or self._cached[0] != index:
            rng = np.random.default_rng([self.seed, self.stream, index])
            self._cached = (index, rng.permutation(self.n), rng.integers(0, 2**31, size=self.n))
        return self._cached[1], self._cached[2]

    def __iter__(self) -> Iterator[list[tuple[int, int]]]:
        for it in range(self.start, self.stop):
            batch = []
            for position in range(it * self.batch, (it + 1) * self.batch):
                order, seeds = self._pass(position // self.n)
                batch.append((int(order[position % self.n]), int(seeds[position % self.n])))
            yield batch
