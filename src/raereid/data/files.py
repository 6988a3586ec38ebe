"""Listing image files and resolving paths inside a dataset root, with clear errors."""

from __future__ import annotations

import os
from pathlib import Path

from raereid.errors import DatasetError

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff")


def is_image_name(name: str) -> bool:
    return name.lower().endswith(IMAGE_EXTENSIONS)


def require_dir(path: Path, what: str, fix: str) -> Path:
    """Return `path` if it is a directory, else raise a DatasetError naming it."""
    if not path.is_dir():
        raise DatasetError(f"missing folder: {what}", where=path, fix=fix)
    return path


def list_images(folder: Path, recursive: bool = False) -> list[Path]:
    """Image files in `folder` (sorted, so datasets read the same on every machine)."""
    if recursive:
        found = [
            Path(dirpath) / name
            for dirpath, _, names in os.walk(folder, followlinks=True)
            for name in names
            if is_image_name(name)
        ]
    else:
        found = [folder / e.name for e in os.scandir(folder) if e.is_file() and is_image_name(e.name)]
    return sorted(found)


def find_child(parent: Path, name: str) -> Path | None:
    """The child of `parent` called `name`, compared case-insensitively (mask_train_V2 vs v2)."""
    exact = parent / name
    if exact.exists():
        return exact
    if not parent.is_dir():
        return None
    lowered = name.lower()
    for entry in os.scandir(parent):
        if entry.name.lower() == lowered:
            return parent / entry.name
    return None


def confined_path(root: Path, relative: str, list_file: Path, line_no: int) -> Path:
    """Resolve a path read from a list file and refuse anything outside the dataset root.

    A list file is user input: an entry such as `../../etc/passwd` or an absolute path elsewhere
    must not make the toolkit read files outside the dataset.
    """
    root_resolved = root.resolve()
    candidate = (root / relative).resolve()
    if candidate != root_resolved and root_resolved not in candidate.parents:
        raise DatasetError(
            f"path {relative!r} points outside the dataset folder",
            where=f"{list_file}:{line_no}",
            fix=f"list paths relative to {root} (no '..' or absolute paths leaving it)",
        )
    return candidate


def missing_files_error(missing: list[Path], source: Path) -> DatasetError:
    shown = "\n    ".join(str(p) for p in missing[:5])
    return DatasetError(
        f"{len(missing)} image(s) listed but not found on disk, for example:\n    {shown}",
        where=source,
        fix="check that the dataset was fully extracted and the list file belongs to this folder",
    )
