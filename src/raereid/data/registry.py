"""Find datasets on disk and load one by name or path.

A dataset root may be the dataset folder itself or any parent up to two levels above it
(`DIR/Market-1501-v15.09.15`, `DIR/market1501/Market-1501-v15.09.15`, ...). Layouts are
recognised by their content, not their folder names, so renamed copies still load.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from raereid.data import dukemtmc, market1501, msmt17
from raereid.data.bbox_layout import SPLIT_DIRS, has_bbox_layout
from raereid.data.custom import has_list_layout, read_image_folder, read_list_dataset
from raereid.data.filenames import parse_dukemtmc, parse_market1501
from raereid.data.files import find_child, list_images
from raereid.data.records import ReidDataset
from raereid.errors import DatasetError

READERS: dict[str, Callable[[Path], ReidDataset]] = {
    market1501.NAME: market1501.read_market1501,
    dukemtmc.NAME: dukemtmc.read_dukemtmc,
    msmt17.NAME: msmt17.read_msmt17,
    "list": read_list_dataset,
}
ALIASES = {
    "market": market1501.NAME, "market1501": market1501.NAME, "market-1501": market1501.NAME,
    "duke": dukemtmc.NAME, "dukemtmc": dukemtmc.NAME, "dukemtmcreid": dukemtmc.NAME, "dukemtmc-reid": dukemtmc.NAME,
    "msmt": msmt17.NAME, "msmt17": msmt17.NAME, "msmt17_v1": msmt17.NAME, "msmt17_v2": msmt17.NAME,
}
KNOWN_NAMES = (market1501.NAME, dukemtmc.NAME, msmt17.NAME)
_SKIP_DIRS = {d.lower() for d in SPLIT_DIRS.values()} | {"train", "test", "mask_train_v2", "mask_test_v2", "gt_bbox", "gt_query"}
_MAX_DEPTH = 2


def _bbox_kind(folder: Path) -> str:
    """Market-1501 or DukeMTMC-reID, decided by the file names of the training split."""
    train_dir = find_child(folder, SPLIT_DIRS["train"])
    names = [p.name for p in list_images(train_dir)[:50]] if train_dir else []
    market = sum(parse_market1501(n) is not None for n in names)
    duke = sum(parse_dukemtmc(n) is not None for n in names)
    if market == duke == 0:
        lowered = folder.name.lower()
        if any(lowered == n.lower() for n in dukemtmc.FOLDER_NAMES):
            return dukemtmc.NAME
        if any(lowered == n.lower() for n in market1501.FOLDER_NAMES):
            return market1501.NAME
        raise DatasetError(
            "folder has the Market-1501/DukeMTMC-reID layout but its file names follow neither convention",
            where=train_dir or folder,
            fix=f"name images like {market1501.EXAMPLE} (Market-1501) or {dukemtmc.EXAMPLE} (DukeMTMC-reID), "
            "or describe the dataset with train.csv/query.csv/gallery.csv list files",
        )
    return market1501.NAME if market >= duke else dukemtmc.NAME


def _check_partial_layout(folder: Path) -> None:
    """A folder with some but not all split folders of a known layout is an incomplete dataset, not
    something to read as an unlabeled image folder."""
    present = [d for d in SPLIT_DIRS.values() if find_child(folder, d) is not None]
    if present and len(present) < len(SPLIT_DIRS):
        absent = [d for d in SPLIT_DIRS.values() if d not in present]
        raise DatasetError(
            f"incomplete Market-1501/DukeMTMC-reID layout: has {', '.join(present)} but no {', '.join(absent)}",
            where=folder,
            fix=f"a dataset folder needs all of {', '.join(SPLIT_DIRS.values())}; re-extract the archive",
        )
    if find_child(folder, "list_train.txt") is not None and msmt17.msmt17_version(folder) is None:
        raise DatasetError(
            "incomplete MSMT17 layout: list_train.txt without its image folders",
            where=folder,
            fix="MSMT17 needs train/ + test/ (V1) or mask_train_v2/ + mask_test_v2/ (V2) beside the list files",
        )


def detect_layout(folder: Path) -> str | None:
    """The reader name for `folder` (market1501, dukemtmcreid, msmt17, list), or None."""
    if not folder.is_dir():
        return None
    _check_partial_layout(folder)
    if has_bbox_layout(folder):
        return _bbox_kind(folder)
    if msmt17.msmt17_version(folder) is not None:
        return msmt17.NAME
    if has_list_layout(folder):
        return "list"
    return None


def find_dataset_folders(root: Path) -> list[tuple[str, Path]]:
    """Every (layout, folder) at `root` or up to two levels below it, in sorted order."""
    found: list[tuple[str, Path]] = []
    frontier = [root]
    for depth in range(_MAX_DEPTH + 1):
        next_frontier = []
        for folder in frontier:
            kind = detect_layout(folder)
            if kind is not None:
                found.append((kind, folder))
            elif depth < _MAX_DEPTH:
                try:
                    children = sorted(e.path for e in os.scandir(folder) if e.is_dir() and not e.name.startswith("."))
                except OSError:
                    continue
                next_frontier += [Path(c) for c in children if Path(c).name.lower() not in _SKIP_DIRS]
        frontier = next_frontier
    return found


def discover(root: str | Path) -> dict[str, ReidDataset]:
    """Read every dataset found under `root`, keyed by name (market1501, dukemtmcreid, msmt17, custom names)."""
    root = Path(root).expanduser()
    if not root.is_dir():
        raise DatasetError("data root is not a folder", where=root, fix="pass --root/--data-root DIR, the folder holding your datasets")
    datasets: dict[str, ReidDataset] = {}
    for kind, folder in find_dataset_folders(root):
        ds = READERS[kind](folder)
        key = ds.name
        if key in datasets:
            key = f"{ds.name}_{folder.name}"
        datasets[key] = ds
        ds.name = key
    return datasets


def _layout_hint(name: str) -> str:
    return {
        market1501.NAME: "Market-1501-v15.09.15/{bounding_box_train,bounding_box_test,query}",
        dukemtmc.NAME: "DukeMTMC-reID/{bounding_box_train,bounding_box_test,query}",
        msmt17.NAME: "MSMT17_V1/{train,test,list_*.txt} or MSMT17_V2/{mask_train_v2,mask_test_v2,list_*.txt}",
    }[name]


def load_dataset(spec: str, data_root: str | Path | None = None) -> ReidDataset:
    """Load a dataset by name (market1501, duke, msmt17, a custom folder name) or by path.

    A path to a folder with no known layout but with images is read as an unlabeled target.
    """
    root = Path(data_root).expanduser() if data_root else None
    if root is not None and not root.is_dir():
        raise DatasetError("data root is not a folder", where=root, fix="pass --data-root DIR, the folder holding your datasets")
    wanted = ALIASES.get(spec.lower())
    if wanted is not None:
        if root is None:
            raise DatasetError(f"dataset {spec!r} needs a data root", fix="pass --data-root DIR")
        version = spec.lower()[-2:] if spec.lower() in ("msmt17_v1", "msmt17_v2") else None
        for kind, folder in find_dataset_folders(root):
            if kind == wanted and (version is None or msmt17.msmt17_version(folder) == version):
                return READERS[kind](folder)
        raise DatasetError(
            f"no {spec} dataset found under the data root",
            where=root,
            fix=f"expected {_layout_hint(wanted)} at DIR or up to two folder levels below it",
        )
    candidates = ([root / spec] if root is not None else []) + [Path(spec).expanduser()]
    for path in candidates:
        if path.is_dir():
            kind = detect_layout(path)
            if kind is not None:
                return READERS[kind](path)
            below = find_dataset_folders(path)
            if below:
                names = ", ".join(sorted({k if k != "list" else f.name for k, f in below}))
                raise DatasetError(
                    f"this folder holds datasets ({names}) below it, not one dataset",
                    where=path,
                    fix=f"pass --data-root {path} and a dataset name ({names}) instead of the folder itself",
                )
            if list_images(path, recursive=True):
                return read_image_folder(path)
    if root is not None:
        for kind, folder in find_dataset_folders(root):
            if kind == "list" and folder.name == spec:
                return READERS[kind](folder)
    raise DatasetError(
        f"unknown dataset {spec!r}",
        where=root or Path(spec),
        fix=f"use one of {', '.join(KNOWN_NAMES)}, the name of a folder with train.csv under the data root, "
        "or the path to a folder of images",
    )
