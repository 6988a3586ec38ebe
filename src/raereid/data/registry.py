"""The registry of dataset layouts, and finding datasets on disk by their content.

Each reader module registers one `DatasetLayout` (market1501, dukemtmc, msmt17, custom; imported by
`raereid/data/__init__.py`); a plugin module registers its own with `register_layout`, and is then
found like the built-in ones. A dataset root may be the dataset folder itself or any parent up to two
levels above it (`DIR/Market-1501-v15.09.15`, `DIR/market1501/Market-1501-v15.09.15`, ...). Layouts are
recognised by their content, not their folder names, so renamed copies still load.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from raereid.data.files import list_images
from raereid.data.image_folder import read_image_folder
from raereid.data.records import ReidDataset
from raereid.errors import DatasetError
from raereid.registry import Registry

_MAX_DEPTH = 2


@dataclass(frozen=True)
class DatasetLayout:
    """One on-disk dataset layout: how to recognise a folder holding it and how to read it.

    Layouts are tried in registration order (built-in ones first); the first whose `detect` accepts a
    folder reads it. Layouts that share one `detect` function (Market-1501 and DukeMTMC-reID share the
    bounding-box folders) are told apart by `file_names`: the one whose convention fits the most sample
    file names wins (the earlier registered on a tie), then by `folder_names`.
    """

    name: str  # the dataset name (market1501), or the reader's when datasets are named after their folder
    title: str  # for messages: "Market-1501"
    detect: Callable[[Path], bool]  # whether a folder holds this layout
    read: Callable[[Path], ReidDataset]
    aliases: tuple[str, ...] = ()  # other names that load it (case-insensitive): "market", "market-1501"
    folder_names: tuple[str, ...] = ()  # the usual folder names
    example: str = ""  # a file name or list line of the layout, for messages
    hint: str = ""  # the expected tree, for "no <name> dataset found"
    file_names: Callable[[Path], int] | None = None  # how many sample file names follow the layout's convention
    incomplete: Callable[[Path], None] | None = None  # raises DatasetError for a partial copy of the layout
    parts: tuple[str, ...] = ()  # sub-folders of the layout, never searched for datasets
    named: bool = True  # False: each dataset takes its folder's name (list files)
    accepts: Callable[[str, Path], bool] | None = None  # whether a name picks this folder (msmt17_v2: V2 only)


LAYOUTS: Registry[DatasetLayout] = Registry("dataset layout", "the dataset name")


def register_layout(layout: DatasetLayout) -> DatasetLayout:
    """Make `layout` known to detection, `raereid datasets` and dataset names (call it when a module is imported)."""
    return LAYOUTS.register(layout.name)(layout)


def layouts() -> list[DatasetLayout]:
    """Every registered layout, in the order they are tried."""
    return [layout for _, layout in LAYOUTS.items()]


def get_layout(name: str) -> DatasetLayout:
    """The layout registered as `name` (as `detect_layout` returns it)."""
    return LAYOUTS.get(name)


def canonical_name(spec: str) -> str | None:
    """The dataset name an alias stands for (`duke` -> dukemtmcreid), or None when it is no registered name."""
    lowered = spec.lower()
    for layout in layouts():
        if layout.named and lowered in {layout.name.lower(), *(a.lower() for a in layout.aliases)}:
            return layout.name
    return None


def dataset_names() -> list[str]:
    """The names of the registered layouts whose datasets are named after them."""
    return [layout.name for layout in layouts() if layout.named]


def _by_file_names(folder: Path, first: DatasetLayout) -> DatasetLayout:
    """Among the layouts that share `first`'s structure, the one whose file-name convention fits `folder`."""
    rivals = [lay for lay in layouts() if lay.detect is first.detect and lay.file_names is not None]
    scores = [lay.file_names(folder) for lay in rivals]  # type: ignore[misc]
    if max(scores) > 0:
        return rivals[scores.index(max(scores))]
    lowered = folder.name.lower()
    for layout in rivals:
        if any(lowered == n.lower() for n in layout.folder_names):
            return layout
    titles = "/".join(lay.title for lay in rivals)
    examples = " or ".join(f"{lay.example} ({lay.title})" for lay in rivals)
    which = "neither convention" if len(rivals) == 2 else "none of their conventions"
    raise DatasetError(
        f"folder has the {titles} layout but its file names follow {which}",
        where=folder,
        fix=f"name images like {examples}, or describe the dataset with train.csv/query.csv/gallery.csv list files",
    )


def detect_layout(folder: Path) -> str | None:
    """The name of the registered layout of `folder` (market1501, dukemtmcreid, msmt17, list, ...), or None.

    A partial copy of a layout (some of its folders missing) raises a DatasetError instead of being
    read as something else.
    """
    if not folder.is_dir():
        return None
    for check in dict.fromkeys(layout.incomplete for layout in layouts() if layout.incomplete):
        check(folder)
    for layout in layouts():
        if layout.detect(folder):
            return (_by_file_names(folder, layout) if layout.file_names else layout).name
    return None


def read_folder(folder: Path) -> ReidDataset | None:
    """The dataset in `folder` when it holds a registered layout, else None."""
    kind = detect_layout(folder)
    return None if kind is None else get_layout(kind).read(folder)


def _subfolders(folder: Path) -> list[Path]:
    skip = {part.lower() for layout in layouts() for part in layout.parts}
    try:
        names = sorted(e.name for e in os.scandir(folder) if e.is_dir() and not e.name.startswith("."))
    except OSError:
        return []
    return [folder / n for n in names if n.lower() not in skip]


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
                next_frontier += _subfolders(folder)
        frontier = next_frontier
    return found


def names_below(folder: Path) -> str:
    """The datasets found at or below `folder`, as a comma-separated list of names ('' when none)."""
    found = find_dataset_folders(folder)
    return ", ".join(sorted({kind if get_layout(kind).named else path.name for kind, path in found}))


def find_image_folders(root: Path, datasets: list[Path]) -> list[Path]:
    """The plain folders of images (own cameras: what `--target NAME` reads as an unlabelled target) at `root` or up
    to two levels below it, beside the `datasets` found there: `root` itself when it holds no dataset, else each
    sub-folder (or, inside a folder that holds datasets, each of its sub-folders) that holds images and no
    dataset."""
    def holds(folder: Path) -> bool:  # a dataset lies below it
        return any(folder in d.parents for d in datasets)

    def taken(folder: Path) -> bool:  # a dataset, a part of one, or a folder holding one
        return holds(folder) or any(d == folder or d in folder.parents for d in datasets)

    if not datasets:
        return [root] if list_images(root, recursive=True) else []
    inner = [f for child in _subfolders(root) for f in (_subfolders(child) if holds(child) else [child])]
    return [f for f in inner if not taken(f) and list_images(f, recursive=True)]


def discover(root: str | Path) -> dict[str, ReidDataset]:
    """Read every dataset found under `root`, keyed by name (market1501, dukemtmcreid, msmt17, custom names), plain
    image folders (unlabelled targets) included."""
    root = Path(root).expanduser()
    if not root.is_dir():
        raise DatasetError("data root is not a folder", where=root,
                           fix="pass --data-root DIR, the folder holding your datasets")
    found = find_dataset_folders(root)
    read = [get_layout(kind).read for kind, _ in found]
    folders = [folder for _, folder in found]
    images = find_image_folders(root, folders)
    datasets: dict[str, ReidDataset] = {}
    for reader, folder in [*zip(read, folders), *((read_image_folder, f) for f in images)]:
        ds = reader(folder)
        key = ds.name
        if key in datasets:
            key = f"{ds.name}_{folder.name}"
        datasets[key] = ds
        ds.name = key
    return datasets


def folder_names(root: Path) -> list[str]:
    """What `load_dataset` takes as a folder's name under `root`: list-file datasets and folders of images."""
    found = find_dataset_folders(root)
    named = [folder.name for kind, folder in found if not get_layout(kind).named]
    return named + [f.name for f in find_image_folders(root, [folder for _, folder in found])]


def _load_by_name(spec: str, wanted: DatasetLayout, root: Path | None) -> ReidDataset:
    if root is None:
        raise DatasetError(f"dataset {spec!r} needs a data root", fix="pass --data-root DIR")
    for kind, folder in find_dataset_folders(root):
        if kind == wanted.name and (wanted.accepts is None or wanted.accepts(spec.lower(), folder)):
            return wanted.read(folder)
    raise DatasetError(
        f"no {spec} dataset found under the data root",
        where=root,
        fix=f"expected {wanted.hint} at DIR or up to two folder levels below it",
    )


def load_dataset(spec: str, data_root: str | Path | None = None) -> ReidDataset:
    """Load a dataset by name (market1501, duke, msmt17, a custom folder name) or by path.

    A path to a folder with no known layout but with images is read as an unlabeled target.
    """
    root = Path(data_root).expanduser() if data_root else None
    if root is not None and not root.is_dir():
        raise DatasetError("data root is not a folder", where=root,
                           fix="pass --data-root DIR, the folder holding your datasets")
    wanted = canonical_name(spec)
    if wanted is not None:
        return _load_by_name(spec, get_layout(wanted), root)
    candidates = ([root / spec] if root is not None else []) + [Path(spec).expanduser()]
    for path in candidates:
        if path.is_dir():
            dataset = read_folder(path)
            if dataset is not None:
                return dataset
            names = names_below(path)
            if names:
                raise DatasetError(
                    f"this folder holds datasets ({names}) below it, not one dataset",
                    where=path,
                    fix=f"pass --data-root {path} and a dataset name ({names}) instead of the folder itself",
                )
            if list_images(path, recursive=True):
                return read_image_folder(path)
    if root is not None:
        for kind, folder in find_dataset_folders(root):
            if not get_layout(kind).named and folder.name == spec:
                return get_layout(kind).read(folder)
    empty = next((path for path in candidates if path.is_dir()), None)
    if empty is not None:
        raise DatasetError(
            f"the dataset folder {spec!r} holds no images", where=empty,
            fix="put the crops of your cameras (.jpg/.png) in it, optionally in cam1/, cam2/ ... sub-folders, "
                "or name another dataset",
        )
    names = [*dataset_names(), *(folder_names(root) if root is not None else [])]
    close = difflib.get_close_matches(spec, names, n=2, cutoff=0.6)
    raise DatasetError(
        f"unknown dataset {spec!r}" + (f" (did you mean {' or '.join(close)}?)" if close else ""),
        where=root or Path(spec),
        fix=f"use one of {', '.join(dict.fromkeys(names))}, the name of a folder under the data root, or the path to "
        "a folder of images",
    )
