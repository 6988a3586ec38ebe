"""MSMT17 (Wei et al., CVPR'18), V1 (`train/`, `test/`) and V2 (`mask_train_v2/`, `mask_test_v2/`).

Both versions list their splits in `list_{train,val,query,gallery}.txt`, one `relative/path.jpg pid`
per line; the camera comes from the file name. The training set is train + val (32,621 images): MSMT17's
own `list_val.txt` is part of its training split. An optional `list_val_query.txt` + `list_val_gallery.txt`
pair (paths relative to the test image folder, like the query and gallery lists) is a validation split with
identities in neither the training nor the test split; the official archives have none.
"""

from __future__ import annotations

from pathlib import Path

from raereid.data.filenames import parse_msmt17
from raereid.data.files import confined_path, find_child, missing_files_error, require_dir
from raereid.data.records import ImageRecord, ReidDataset
from raereid.data.registry import DatasetLayout, register_layout
from raereid.errors import DatasetError

NAME = "msmt17"
FOLDER_NAMES = ("MSMT17_V1", "MSMT17_V2", "MSMT17", "msmt17", "msmt17_v1", "msmt17_v2")
EXAMPLE_LINE = "0000/0000_000_01_0303morning_0015_0.jpg 0"
VERSION_DIRS = {"v1": ("train", "test"), "v2": ("mask_train_v2", "mask_test_v2")}
LISTS = ("list_train.txt", "list_val.txt", "list_query.txt", "list_gallery.txt")
VAL_LISTS = {"val_query": "list_val_query.txt", "val_gallery": "list_val_gallery.txt"}  # the validation split


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
    val = {split: read_msmt17_list(path, test_dir) for split, path in _val_lists(folder).items()}
    return ReidDataset(
        name=NAME, root=folder, train=train, query=query, gallery=gallery, layout=f"MSMT17 {version.upper()}",
        val_layout=f"{' and '.join(VAL_LISTS.values())} (paths relative to {test_name}/)", **val,
    )


def _val_lists(folder: Path) -> dict[str, Path]:
    """The validation split's list files: both, or neither ({}); one alone is an error."""
    found = {split: find_child(folder, name) for split, name in VAL_LISTS.items()}
    if all(path is None for path in found.values()):
        return {}
    absent = [VAL_LISTS[split] for split, path in found.items() if path is None or not path.is_file()]
    if absent:
        raise DatasetError(
            f"incomplete MSMT17 validation split: no {', '.join(absent)}",
            where=folder,
            fix=f"a validation split needs both {' and '.join(VAL_LISTS.values())} (or neither)",
        )
    return found  # type: ignore[return-value]


def check_msmt17_complete(folder: Path) -> None:
    """list_train.txt without the image folders of either version is an incomplete copy."""
    if find_child(folder, "list_train.txt") is not None and msmt17_version(folder) is None:
        raise DatasetError(
            "incomplete MSMT17 layout: list_train.txt without its image folders",
            where=folder,
            fix="MSMT17 needs train/ + test/ (V1) or mask_train_v2/ + mask_test_v2/ (V2) beside the list files",
        )


def _accepts(spec: str, folder: Path) -> bool:
    """`msmt17_v1` / `msmt17_v2` pick a tree of that version; other names any."""
    return spec not in ("msmt17_v1", "msmt17_v2") or msmt17_version(folder) == spec[-2:]


register_layout(DatasetLayout(
    name=NAME, title="MSMT17", detect=lambda folder: msmt17_version(folder) is not None, read=read_msmt17,
    aliases=("msmt", "msmt17_v1", "msmt17_v2"), folder_names=FOLDER_NAMES, example=EXAMPLE_LINE,
    hint="MSMT17_V1/{train,test,list_*.txt} or MSMT17_V2/{mask_train_v2,mask_test_v2,list_*.txt}",
    incomplete=check_msmt17_complete, parts=tuple(d for dirs in VERSION_DIRS.values() for d in dirs), accepts=_accepts,
))
