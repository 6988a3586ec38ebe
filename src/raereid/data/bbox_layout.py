"""The Market-1501 / DukeMTMC-reID layout: bounding_box_train, query and bounding_box_test folders.

An optional `validation/` folder beside them, holding `query/` and `bounding_box_test/` with the same
file-name convention, is a validation split (identities in neither the training nor the test split);
the official archives have none, so their trees read exactly as before.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from raereid.data.filenames import NameParser, parse_all
from raereid.data.files import find_child, list_images, require_dir
from raereid.data.records import UNKNOWN_ID, ImageRecord, ReidDataset
from raereid.errors import DatasetError

SPLIT_DIRS = {"train": "bounding_box_train", "query": "query", "gallery": "bounding_box_test"}
VAL_DIR = "validation"
VAL_SPLIT_DIRS = {"val_query": "query", "val_gallery": "bounding_box_test"}  # inside VAL_DIR
VAL_LAYOUT = f"{VAL_DIR}/{VAL_SPLIT_DIRS['val_query']}/ and {VAL_DIR}/{VAL_SPLIT_DIRS['val_gallery']}/"
PARTS = (*SPLIT_DIRS.values(), VAL_DIR, "gt_bbox", "gt_query")  # folders of the layout (Market-1501 has gt_*)
_SAMPLE = 50  # training file names compared with each convention to tell Market-1501 from DukeMTMC-reID


def has_bbox_layout(folder: Path) -> bool:
    """Whether `folder` holds the three split folders of the Market/Duke layout."""
    return all(find_child(folder, d) is not None for d in SPLIT_DIRS.values())


def check_bbox_complete(folder: Path) -> None:
    """A folder with some but not all split folders is an incomplete dataset, not an unlabeled image folder."""
    present = [d for d in SPLIT_DIRS.values() if find_child(folder, d) is not None]
    if present and len(present) < len(SPLIT_DIRS):
        absent = [d for d in SPLIT_DIRS.values() if d not in present]
        raise DatasetError(
            f"incomplete Market-1501/DukeMTMC-reID layout: has {', '.join(present)} but no {', '.join(absent)}",
            where=folder,
            fix=f"a dataset folder needs all of {', '.join(SPLIT_DIRS.values())}; re-extract the archive",
        )


def name_fit(parser: NameParser) -> Callable[[Path], int]:
    """How many of a bounding-box folder's first training file names `parser` accepts (to tell layouts apart)."""

    def fit(folder: Path) -> int:
        train_dir = find_child(folder, SPLIT_DIRS["train"])
        names = [p.name for p in list_images(train_dir)[:_SAMPLE]] if train_dir else []
        return sum(parser(n) is not None for n in names)

    return fit


def image_dirs(folder: Path) -> list[Path]:
    """Every split folder of the layout that exists in `folder`, validation ones included."""
    found = [find_child(folder, d) for d in SPLIT_DIRS.values()]
    val_dir = find_child(folder, VAL_DIR)
    if val_dir is not None:
        found += [find_child(val_dir, d) for d in VAL_SPLIT_DIRS.values()]
    return [d for d in found if d is not None and d.is_dir()]


def _read_split(split_dir: Path, split: str, parser: NameParser, convention: str, example: str) -> list[ImageRecord]:
    """One split folder's images; junk images (pid -1) are dropped, distractors (pid 0) are kept."""
    paths = list_images(split_dir)
    if not paths:
        raise DatasetError(
            f"no images in the {split} split (expected files named like {example})",
            where=split_dir,
            fix="extract the dataset archive completely, or point --data-root at the right folder",
        )
    parsed = parse_all(paths, parser, convention, example)
    records = [ImageRecord(str(p.resolve()), pid, cam) for p, (pid, cam) in zip(paths, parsed) if pid != UNKNOWN_ID]
    if not records:
        raise DatasetError(
            f"the {split} split holds only junk images (pid -1)",
            where=split_dir,
            fix="this split needs images of real identities",
        )
    return records


def _val_dirs(folder: Path) -> dict[str, Path]:
    """The validation split's folders ({} without a validation/ folder; an error when one is missing)."""
    val_dir = find_child(folder, VAL_DIR)
    if val_dir is None or not val_dir.is_dir():
        return {}
    found = {split: find_child(val_dir, name) for split, name in VAL_SPLIT_DIRS.items()}
    absent = [VAL_SPLIT_DIRS[split] for split, path in found.items() if path is None or not path.is_dir()]
    if absent:
        raise DatasetError(
            f"incomplete validation split: {VAL_DIR}/ has no {', '.join(absent)}",
            where=val_dir,
            fix=f"a validation split needs {VAL_LAYOUT} (file names as in query/), or remove {VAL_DIR}/",
        )
    return found  # type: ignore[return-value]


def read_bbox_dataset(
    folder: Path, name: str, parser: NameParser, convention: str, example: str
) -> ReidDataset:
    """Read the three splits and, when present, the validation split."""
    splits: dict[str, list[ImageRecord]] = {}
    for split, dirname in SPLIT_DIRS.items():
        split_dir = require_dir(
            find_child(folder, dirname) or folder / dirname,
            f"{convention} split folder '{dirname}'",
            f"{folder} must contain {', '.join(SPLIT_DIRS.values())} (the layout of the official archive)",
        )
        splits[split] = _read_split(split_dir, split, parser, convention, example)
    for split, split_dir in _val_dirs(folder).items():
        splits[split] = _read_split(split_dir, split.replace("_", " "), parser, convention, example)
    return ReidDataset(name=name, root=folder, layout=convention, val_layout=VAL_LAYOUT, **splits)
