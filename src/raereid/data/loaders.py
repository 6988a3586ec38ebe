"""torch DataLoaders over image records: PK batches for training, ordered batches for extraction."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from raereid.data.images import load_rgb
from raereid.data.records import ImageRecord


class ImageDataset(Dataset):
    """Records -> (image tensor, training label, camera id, index)."""

    def __init__(self, records: Sequence[ImageRecord], transform: Callable, labels: np.ndarray | None = None):
        self.records = list(records)
        self.transform = transform
        self.labels = np.full(len(self.records), -1, dtype=np.int64) if labels is None else np.asarray(labels)

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int, int, int]:
        record = self.records[index]
        return self.transform(load_rgb(record.path)), int(self.labels[index]), record.camid, index


def _loader_kwargs(workers: int, device: torch.device | str) -> dict:
    kwargs: dict = {"num_workers": workers, "pin_memory": torch.device(device).type == "cuda"}
    if workers > 0:
        kwargs["persistent_workers"] = False
        kwargs["prefetch_factor"] = 4
    return kwargs


def train_loader(
    dataset: ImageDataset, batch_sampler: Sampler[list[int]], workers: int, device: torch.device | str = "cpu"
) -> DataLoader:
    """PK batches from `batch_sampler`, decoded and augmented in `workers` processes."""
    return DataLoader(dataset, batch_sampler=batch_sampler, **_loader_kwargs(workers, device))


def test_loader(
    dataset: ImageDataset, batch_size: int, workers: int, device: torch.device | str = "cpu"
) -> DataLoader:
    """Images in record order (for feature extraction and evaluation)."""
    return DataLoader(dataset, batch_size=batch_size, shuffle=False, **_loader_kwargs(workers, device))
