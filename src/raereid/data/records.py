"""What a dataset is once read from disk: image records grouped into train / query / gallery (+ validation)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from raereid.errors import DatasetError

UNKNOWN_ID = -1  # identity or camera not known (unlabeled target images, or junk in Market-1501)
EVAL_SPLITS = {"test": ("query", "gallery"), "val": ("val_query", "val_gallery")}  # evaluation split -> its parts


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
    """A re-ID dataset: a training split and, when it can be evaluated, query and gallery splits.

    `val_query` / `val_gallery` are an optional validation split (identities in neither the training nor
    the test split), for choosing settings without looking at the test split; empty when the dataset
    has none (the public datasets have none).
    """

    name: str
    root: Path
    train: list[ImageRecord]
    query: list[ImageRecord] = field(default_factory=list)
    gallery: list[ImageRecord] = field(default_factory=list)
    layout: str = ""  # the on-disk layout it was read from, for messages ("Market-1501", "MSMT17 V2", ...)
    val_query: list[ImageRecord] = field(default_factory=list)
    val_gallery: list[ImageRecord] = field(default_factory=list)
    val_layout: str = ""  # where this layout keeps a validation split, for the message when it has none

    @property
    def has_test(self) -> bool:
        """Whether the dataset can be evaluated (query and gallery with identities)."""
        return bool(self.query) and bool(self.gallery)

    @property
    def has_val(self) -> bool:
        """Whether the dataset has a validation split (val_query and val_gallery)."""
        return bool(self.val_query) and bool(self.val_gallery)

    @property
    def train_is_labeled(self) -> bool:
        return bool(self.train) and all(r.pid != UNKNOWN_ID for r in self.train)

    def images(self) -> list[ImageRecord]:
        """Every image record of every split (training, test, validation)."""
        return self.train + self.query + self.gallery + self.val_query + self.val_gallery

    def has_split(self, split: str) -> bool:
        """Whether the evaluation split `split` ("test" or "val") has a query and a gallery."""
        return all(getattr(self, part) for part in EVAL_SPLITS[_known_split(split)])

    def evaluation_split(self, split: str) -> ReidDataset:
        """This dataset with `query` / `gallery` holding the evaluation split `split`: "test" (the dataset
        itself) or "val" (its validation query / gallery); a DatasetError names the folder and the fix
        when the split is absent."""
        if not self.has_split(split):
            raise _missing_split(self, split)
        if split == "test":
            return self
        return dataclasses.replace(self, query=self.val_query, gallery=self.val_gallery)

    def stats(self) -> dict[str, dict[str, int]]:
        """Per-split identities / images / cameras, keyed train, query, gallery (+ val_query, val_gallery)."""
        splits = ("train", "query", "gallery") + (EVAL_SPLITS["val"] if self.val_query or self.val_gallery else ())
        return {split: split_stats(getattr(self, split)).as_dict() for split in splits}


def _known_split(split: str) -> str:
    if split not in EVAL_SPLITS:
        raise DatasetError(f"unknown evaluation split {split!r}", fix=f"use one of {', '.join(EVAL_SPLITS)}")
    return split


def _missing_split(ds: ReidDataset, split: str) -> DatasetError:
    if split == "test":
        return DatasetError(f"dataset {ds.name!r} ({ds.layout}) has no query/gallery split to evaluate on",
                            where=ds.root, fix="evaluate on a dataset with a query and a gallery")
    if not ds.val_layout:
        return DatasetError(
            f"dataset {ds.name!r} ({ds.layout}) has no validation split", where=ds.root,
            fix="an image folder has no identities to validate on: describe the images with list files "
            "(train.csv + val_query.csv + val_gallery.csv), or evaluate on the test split",
        )
    return DatasetError(
        f"dataset {ds.name!r} ({ds.layout}) has no validation split (val_query/val_gallery)",
        where=ds.root,
        fix=f"add {ds.val_layout} to this folder with identities in neither the training nor the test split "
        "(raereid synth writes one: regenerate an older benchmark with --force), or evaluate on the test split",
    )


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
