"""The Market-1501 / DukeMTMC-reID layout: bounding_box_train, query and bounding_box_test folders."""

from __future__ import annotations

from pathlib import Path

from raereid.data.filenames import NameParser, parse_all
from raereid.data.files import find_child, list_images, require_dir
from raereid.data.records import UNKNOWN_ID, ImageRecord, ReidDataset
from raereid.errors import DatasetError

SPLIT_DIRS = {"train": "bounding_box_train", "query": "query", "gallery": "bounding_box_test"}


def has_bbox_layout(folder: Path) -> bool:
    """Whether `folder` holds the three split folders of the Market/Duke layout."""
    return all(find_child(folder, d) is not None for d in SPLIT_DIRS.values())


def read_bbox_dataset(
    folder: Path, name: str, parser: NameParser, convention: str, example: str
) -> ReidDataset:
    """Read the three splits; junk images (pid -1) are dropped, distractors (pid 0) are kept."""
    splits: dict[str, list[ImageRecord]] = {}
    for split, dirname in SPLIT_DIRS.items():
        split_dir = require_dir(
            find_child(folder, dirname) or folder / dirname,
            f"{convention} split folder '{dirname}'",
            f"{folder} must contain {', '.join(SPLIT_DIRS.values())} (the layout of the official archive)",
        )
        paths = list_images(split_dir)
        if not paths:
            raise DatasetError(
                f"no images in the {split} split (expected files named like {example})",
                where=split_dir,
                fix="extract the dataset archive completely, or point --data-root at the right folder",
            )
        parsed = parse_all(paths, parser, convention, example)
        records = [
            ImageRecord(str(p.resolve()), pid, cam) for p, (pid, cam) in zip(paths, parsed) if pid != UNKNOWN_ID
        ]
        if not records:
            raise DatasetError(
                f"the {split} split holds only junk images (pid -1)",
                where=split_dir,
                fix="this split needs images of real identities",
            )
        splits[split] = records
    return ReidDataset(name=name, root=folder, layout=convention, **splits)
