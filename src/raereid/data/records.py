"""What a dataset is once read from disk: image records grouped into train / query / gallery."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

UNKNOWN_ID = -1  # identity or camera not known (unlabeled target images, or junk in Market-1501)


@dataclass(frozen=True)
class ImageRecord:
    """One image: absolute path, original identity id and zero-based camera id (-1 if unknown)."""

    path: str
    pid: int = UNKNOWN_ID
    camid: int = UNKNOWN_ID


@dataclass
class SplitStats:
    """Counts of one split, as in the paper's Table I."""

    ids: int
    images: int
    cameras: int

    def as_dict(self) -> dict[str, int]:
        return {"ids": self.ids, "images": self.images, "cameras": self.cameras}


def split_stats(records: list[ImageRecord]) -> SplitStats:
    """Identities (labelled ones only), images and cameras (known ones only) of a split."""
    pids = {r.pid for r in records if r.pid != UNKNOWN_ID}
    cams = {r.camid for r in records if r.camid != UNKNOWN_ID}
    return SplitStats(ids=len(pids), images=len(records), cameras=len(cams))


@dataclass
class ReidDataset:
    """A re-ID dataset: a training split and, when it can be evaluated, query and gallery splits."""

    name: str
    root: Path
    train: list[ImageRecord]
    query: list[ImageRecord] = field(default_factory=list)
    gallery: list[ImageRecord] = field(default_factory=list)
    layout: str = ""  # the on-disk layout it was read from, for messages ("Market-1501", "MSMT17 V2", ...)

    @property
    def has_test(self) -> bool:
        """Whether the dataset can be evaluated (query and gallery with identities)."""
        return bool(self.query) and bool(self.gallery)

    @property
    def train_is_labeled(self) -> bool:
        return bool(self.train) and all(r.pid != UNKNOWN_ID for r in self.train)

    def stats(self) -> dict[str, dict[str, int]]:
        """Per-split identities / images / cameras, keyed train, query, gallery."""
        return {
            "train": split_stats(self.train).as_dict(),
            "query": split_stats(self.query).as_dict(),
            "gallery": split_stats(self.gallery).as_dict(),
        }


def relabel(pids: list[int] | np.ndarray) -> tuple[np.ndarray, dict[int, int]]:
    """Map original identity ids to contiguous training labels 0..n-1 (sorted by original id).

    Unknown ids (-1) stay -1, so they are ignored by samplers and losses. The original ids stay in
    the records for evaluation; the returned mapping goes original -> training label.
    """
    pids = np.asarray(pids, dtype=np.int64)
    known = np.unique(pids[pids != UNKNOWN_ID])
    mapping = {int(p): i for i, p in enumerate(known)}
    labels = np.full(len(pids), UNKNOWN_ID, dtype=np.int64)
    if len(known):
        mask = pids != UNKNOWN_ID
        labels[mask] = np.searchsorted(known, pids[mask])
    return labels, mapping
