"""The user's own cameras: list-file datasets and unlabeled image folders.

List-file dataset: a folder with `train.csv` and, to be evaluated, `query.csv` + `gallery.csv`;
each row `path,pid,camid` (a header row is allowed, paths relative to the folder; pid and camid
may be left out of train rows of an unlabeled target). Image folder: any folder of images, the
usual case for a target camera network that has no labels; cameras come from sub-folders named
like `cam1/`, `c2/` or `camera_3/` when present.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

from raereid.data.files import confined_path, find_child, list_images, missing_files_error
from raereid.data.records import UNKNOWN_ID, ImageRecord, ReidDataset
from raereid.errors import DatasetError

LIST_FILES = {"train": "train.csv", "query": "query.csv", "gallery": "gallery.csv"}
LIST_FORMAT = "one 'path,pid,camid' row per image, e.g. 'cam1/0001_0003.jpg,1,0'"
_CAMERA_DIR = re.compile(r"^(?:cam|camera|c)[_-]?(\d+)$", re.IGNORECASE)


def has_list_layout(folder: Path) -> bool:
    return find_child(folder, LIST_FILES["train"]) is not None


def _int_field(value: str, what: str, list_file: Path, line_no: int) -> int:
    value = value.strip()
    if value == "":
        return UNKNOWN_ID
    try:
        return int(value)
    except ValueError:
        raise DatasetError(
            f"{what} {value!r} is not an integer", where=f"{list_file}:{line_no}", fix=LIST_FORMAT
        ) from None


def read_list_file(list_file: Path, root: Path, need_pid: bool) -> list[ImageRecord]:
    """Read `path,pid,camid` rows; paths must exist and stay inside `root`."""
    records: list[ImageRecord] = []
    missing: list[Path] = []
    with open(list_file, newline="", encoding="utf-8") as fh:
        for line_no, row in enumerate(csv.reader(fh), 1):
            if not row or not "".join(row).strip() or row[0].lstrip().startswith("#"):
                continue
            if line_no == 1 and row[0].strip().lower() == "path":
                continue
            if len(row) > 3:
                raise DatasetError(f"row has {len(row)} fields, expected at most 3", where=f"{list_file}:{line_no}", fix=LIST_FORMAT)
            path = confined_path(root, row[0].strip(), list_file, line_no)
            pid = _int_field(row[1], "pid", list_file, line_no) if len(row) > 1 else UNKNOWN_ID
            camid = _int_field(row[2], "camid", list_file, line_no) if len(row) > 2 else UNKNOWN_ID
            if need_pid and pid == UNKNOWN_ID:
                raise DatasetError(
                    "query rows need a person id", where=f"{list_file}:{line_no}", fix=LIST_FORMAT
                )
            if not path.is_file():
                missing.append(path)
            records.append(ImageRecord(str(path), pid, camid))
    if missing:
        raise missing_files_error(missing, list_file)
    if not records:
        raise DatasetError("the list file has no rows", where=list_file, fix=LIST_FORMAT)
    return records


def read_list_dataset(folder: Path) -> ReidDataset:
    """Read a list-file dataset named after its folder."""
    files = {split: find_child(folder, name) for split, name in LIST_FILES.items()}
    if files["train"] is None:
        raise DatasetError("missing train.csv", where=folder / "train.csv", fix=LIST_FORMAT)
    if (files["query"] is None) != (files["gallery"] is None):
        present, absent = ("query.csv", "gallery.csv") if files["gallery"] is None else ("gallery.csv", "query.csv")
        raise DatasetError(
            f"{present} without {absent}", where=folder, fix="evaluation needs both query.csv and gallery.csv (or neither)"
        )
    train = read_list_file(files["train"], folder, need_pid=False)
    query = read_list_file(files["query"], folder, need_pid=True) if files["query"] else []
    gallery = read_list_file(files["gallery"], folder, need_pid=False) if files["gallery"] else []
    return ReidDataset(name=folder.name, root=folder, train=train, query=query, gallery=gallery, layout="list files")


def read_image_folder(folder: Path) -> ReidDataset:
    """An unlabeled folder of images (searched recursively) as a training-only target dataset."""
    paths = list_images(folder, recursive=True)
    if not paths:
        raise DatasetError(
            "no images found in the target folder",
            where=folder,
            fix="put the target camera images (.jpg/.png) in this folder, optionally in cam1/, cam2/ ... sub-folders",
        )
    records = []
    for p in paths:
        first = p.relative_to(folder).parts[0] if len(p.relative_to(folder).parts) > 1 else ""
        m = _CAMERA_DIR.match(first)
        records.append(ImageRecord(str(p.resolve()), UNKNOWN_ID, int(m.group(1)) if m else UNKNOWN_ID))
    return ReidDataset(name=folder.name, root=folder, train=records, layout="image folder")
