"""torch DataLoaders over image records: PK batches for training, ordered batches for extraction."""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterator, Sequence
from typing import Any, NamedTuple

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from raereid.data.images import load_resized, load_rgb
from raereid.data.records import ImageRecord


class Batch(NamedTuple):
    """One image of an ImageDataset, or (after the DataLoader's collation) a batch of them, one tensor per field."""

    image: torch.Tensor
    label: int | torch.Tensor  # the training label (-1 when the dataset has none)
    camid: int | torch.Tensor
    index: int | torch.Tensor  # the record's index in the dataset
    seed: int | torch.Tensor  # the augmentation (and dropout) seed the sampler gave it; 0 without one
    # with a TrainTransform that erases, the image before random erasing; otherwise empty (the image is its own)
    clean: torch.Tensor


class ImageDataset(Dataset):
    """Records -> `Batch`(image tensor, training label, camera id, index, seed, clean image).

    Indexed by an int, or by (index, seed): then the random transforms are drawn from a generator
    seeded with `seed` only, so augmentation is reproducible whatever process or worker loads it.
    With `cache` = (height, width), decoded images are kept at that size in memory (`load_resized`).
    """

    def __init__(self, records: Sequence[ImageRecord], transform: Callable, labels: np.ndarray | None = None,
                 cache: tuple[int, int] | None = None):
        self.records = list(records)
        self.cache = cache
        self.transform = transform
        self.labels = np.full(len(self.records), -1, dtype=np.int64) if labels is None else np.asarray(labels)

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, key: int | tuple[int, int]) -> Batch:
        index, seed = key if isinstance(key, tuple) else (key, None)
        record = self.records[index]
        image = load_resized(record.path, self.cache) if self.cache else load_rgb(record.path)
        if seed is None:
            out = self.transform(image)
        else:
            with torch.random.fork_rng(devices=[]):
                # the CPU generator only: torch.manual_seed also seeds every GPU (slow)
                torch.default_generator.manual_seed(seed)
                out = self.transform(image)
        tensor, clean = out if isinstance(out, tuple) else (out, torch.empty(0))
        return Batch(tensor, int(self.labels[index]), record.camid, index, 0 if seed is None else seed, clean)


STOP_SIGNALS = {signal.SIGINT, signal.SIGTERM}


def ignore_stop_signals(worker_id: int) -> None:
    """A DataLoader worker's start: ignore SIGINT and SIGTERM. A scheduler (SLURM, `timeout`, `kill -- -PGID`)
    signals the whole process group; the main process then saves a checkpoint at the end of its step, which needs
    its workers alive until it stops them itself. The worker was forked with both blocked (`StopSafeLoader`), so a
    signal sent before this point waits, and is discarded once ignored."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)


class StopSafeLoader(DataLoader):
    """A DataLoader whose workers start with SIGINT and SIGTERM blocked until `ignore_stop_signals` ignores them:
    torch's worker installs a SIGTERM handler that kills it before the worker_init_fn runs, so a signal to the
    process group while an epoch's workers start would kill one (seen once in CI). The main process blocks them
    only while it forks, then receives them."""

    def __iter__(self) -> Iterator[Any]:
        if self.num_workers == 0:
            return super().__iter__()
        previous = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
        try:
            return super().__iter__()
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _loader_kwargs(workers: int, device: torch.device | str) -> dict:
    kwargs: dict = {"num_workers": workers, "pin_memory": torch.device(device).type == "cuda"}
    if workers > 0:
        kwargs["persistent_workers"] = False
        kwargs["prefetch_factor"] = 4
        kwargs["worker_init_fn"] = ignore_stop_signals
    return kwargs


def train_loader(
    dataset: ImageDataset, batch_sampler: Sampler[list[int]], workers: int, device: torch.device | str = "cpu"
) -> DataLoader:
    """PK batches from `batch_sampler`, decoded and augmented in `workers` processes."""
    return StopSafeLoader(dataset, batch_sampler=batch_sampler, **_loader_kwargs(workers, device))


def test_loader(
    dataset: ImageDataset, batch_size: int, workers: int, device: torch.device | str = "cpu"
) -> DataLoader:
    """Images in record order (for feature extraction and evaluation)."""
    return StopSafeLoader(dataset, batch_size=batch_size, shuffle=False, **_loader_kwargs(workers, device))
