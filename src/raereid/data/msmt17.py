"""MSMT17 (Wei et al., CVPR'18), V1 (`train/`, `test/`) and V2 (`mask_train_v2/`, `mask_test_v2/`).

Both versions list their splits in `list_{train,val,query,gallery}.txt`, one `relative/path.jpg pid`
per line; the camera comes from the file name. The training set is train + val (32,621 images).
"""

from __future__ import annotations

from pathlib import Path

from raereid.data.filenames import parse_msmt17
from raereid.data.files import confined_path, find_child, missing_files_error, require_dir
from raereid.data.records import ImageRecord, ReidDataset
from raereid.errors import DatasetError

NAME = "msmt17"
FOLDER_NAMES = ("MSMT17_V1", "MSMT17_V2", "MSMT17", "msmt17", "msmt17_v1", "msmt17_v2")
EXAMPLE_LINE = "0000/0000_000_01_0303morning_0015_0.jpg 0"
VERSION_DIRS = {"v1": ("train", "test"), "v2": ("mask_train_v2", "mask_test_v2")}
LISTS = ("list_train.txt", "list_val.txt", "list_query.txt", "list_gallery.txt")


def msmt17_version(folder: Path) -> str | None:
    """'v1' or 'v2' if `folder` has the MSMT17 list files and image folders of that version."""
    if find_child(folder, "list_train.txt") is None:
        return None
    for version, (train_dir, test_dir) in VERSION_DIRS.items():
        if find_child(folder, train_dir) is not None and find_child(folder, test_dir) is not None:
            return version
    return None


def read_msmt17_list(list_file: Path, image_dir: Path) -> list[ImageRecord]:
    """Read one `list_*.txt`; every entry must parse, stay inside `image_dir` and exist."""
    records: list[ImageRecord] = []
    missing: list[Path] = []
    with open(list_file, encoding="utf-8") as fh:
        for line_no, line in enumerate(fh, 1):
            line = line.strip()
            if not line:
                continue
            fields = line.split()
            parsed = parse_msmt17(Path(fields[0]).name) if len(fields) == 2 else None
            if parsed is None or not fields[1].lstrip("-").isdigit():
                raise DatasetError(
                    f"line does not follow the MSMT17 list format: {line!r}",
                    where=f"{list_file}:{line_no}",
                    fix=f"each line must be 'relative/path.jpg pid', e.g. '{EXAMPLE_LINE}'",
                )
            path = confined_path(image_dir, fields[0], list_file, line_no)
            if not path.is_file():
                missing.append(path)
            records.append(ImageRecord(str(path), int(fields[1]), parsed[1]))
    if missing:
        raise missing_files_error(missing, list_file)
    if not records:
        raise DatasetError(
            "the list file is empty", where=list_file, fix=f"each line must be like '{EXAMPLE_LINE}'"
        )
    return records


def read_msmt17(folder: Path) -> ReidDataset:
    """Read MSMT17 V1 or V2 from its folder (train + val lists form the training set)."""
    version = msmt17_version(folder)
    if version is None:
        raise DatasetError(
            "not an MSMT17 folder",
            where=folder,
            fix="expected list_train.txt, list_val.txt, list_query.txt, list_gallery.txt with "
            "train/ + test/ (V1) or mask_train_v2/ + mask_test_v2/ (V2)",
        )
    train_name, test_name = VERSION_DIRS[version]
    fix = f"{folder} must contain {train_name}/, {test_name}/ and {', '.join(LISTS)}"
    train_dir = require_dir(find_child(folder, train_name) or folder / train_name, "MSMT17 train images", fix)
    test_dir = require_dir(find_child(folder, test_name) or folder / test_name, "MSMT17 test images", fix)
    lists = {}
    for name in LISTS:
        found = find_child(folder, name)
        if found is None or not found.is_file():
            raise DatasetError(f"missing MSMT17 list file {name}", where=folder / name, fix=fix)
        lists[name] = found
    train = read_msmt17_list(lists["list_train.txt"], train_dir) + read_msmt17_list(
        lists["list_val.txt"], train_dir
    )
    query = read_msmt17_list(lists["list_query.txt"], test_dir)
    gallery = read_msmt17_list(lists["list_gallery.txt"], test_dir)
    return ReidDataset(
        name=NAME, root=folder, train=train, query=query, gallery=gallery, layout=f"MSMT17 {version.upper()}"
    )
