"""The user's own cameras as list files: `train.csv` and, to be evaluated, `query.csv` + `gallery.csv`.

Each row is `path,pid,camid` (a header row is allowed, paths relative to the folder; pid and camid
may be left out of train rows of an unlabeled target; a row without a camid takes its camera from a cam1/ folder on
its path, as an image folder does). An optional `val_query.csv` + `val_gallery.csv`
pair, with identities of neither the training nor the test split, is a validation split for choosing
settings without looking at the test split.
"""

from __future__ import annotations

import csv
from pathlib import Path

from raereid.data.files import confined_path, find_child, missing_files_error
from raereid.data.image_folder import camera_of
from raereid.data.records import UNKNOWN_ID, ImageRecord, ReidDataset
from raereid.data.registry import DatasetLayout, register_layout
from raereid.errors import DatasetError

NAME = "list"
LIST_FILES = {"train": "train.csv", "query": "query.csv", "gallery": "gallery.csv"}
VAL_LIST_FILES = {"val_query": "val_query.csv", "val_gallery": "val_gallery.csv"}
LIST_FORMAT = "one 'path,pid,camid' row per image, e.g. 'cam1/0001_0003.jpg,1,0'"


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
                raise DatasetError(f"row has {len(row)} fields, expected at most 3", where=f"{list_file}:{line_no}",
                                   fix=LIST_FORMAT)
            path = confined_path(root, row[0].strip(), list_file, line_no)
            pid = _int_field(row[1], "pid", list_file, line_no) if len(row) > 1 else UNKNOWN_ID
            camid = _int_field(row[2], "camid", list_file, line_no) if len(row) > 2 else UNKNOWN_ID
            if camid == UNKNOWN_ID:  # no camera column: from a cam1/ folder on the path, as an image folder's
                camid = camera_of(path.relative_to(root.resolve()))
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


def _pair(folder: Path, query_name: str, gallery_name: str) -> tuple[Path, Path] | None:
    """The query and gallery list files of one evaluation split, None when neither exists, an error for one alone."""
    query_file, gallery_file = find_child(folder, query_name), find_child(folder, gallery_name)
    if (query_file is None) != (gallery_file is None):
        present, absent = (query_name, gallery_name) if gallery_file is None else (gallery_name, query_name)
        raise DatasetError(
            f"{present} without {absent}", where=folder,
            fix=f"evaluation needs both {query_name} and {gallery_name} (or neither)",
        )
    return None if query_file is None or gallery_file is None else (query_file, gallery_file)


def _read_pair(files: tuple[Path, Path] | None, folder: Path) -> tuple[list[ImageRecord], list[ImageRecord]]:
    if files is None:
        return [], []
    return read_list_file(files[0], folder, need_pid=True), read_list_file(files[1], folder, need_pid=False)


def read_list_dataset(folder: Path) -> ReidDataset:
    """Read a list-file dataset named after its folder (with its validation split when it has one)."""
    train_file = find_child(folder, LIST_FILES["train"])
    if train_file is None:
        raise DatasetError("missing train.csv", where=folder / "train.csv", fix=LIST_FORMAT)
    test = _pair(folder, LIST_FILES["query"], LIST_FILES["gallery"])
    val = _pair(folder, VAL_LIST_FILES["val_query"], VAL_LIST_FILES["val_gallery"])
    train = read_list_file(train_file, folder, need_pid=False)
    query, gallery = _read_pair(test, folder)
    val_query, val_gallery = _read_pair(val, folder)
    return ReidDataset(
        name=folder.name, root=folder, train=train, query=query, gallery=gallery, layout="list files",
        val_query=val_query, val_gallery=val_gallery,
        val_layout=f"{VAL_LIST_FILES['val_query']} and {VAL_LIST_FILES['val_gallery']} (rows as in query.csv)",
    )


register_layout(DatasetLayout(
    name=NAME, title="list files", detect=has_list_layout, read=read_list_dataset, example=LIST_FORMAT,
    hint="DIR/NAME/train.csv (+ query.csv, gallery.csv)", named=False,
))
