"""A translated copy of a dataset: the same folder name, layout and file names, new pixels.

`raereid translate` writes the source's images, translated into the target's style, under
OUT/<the source's folder name>/ with every relative path kept (so identities and cameras, which the
readers take from file names and list files, are kept too) and the layout's list files copied. The
copy is written to a hidden `.NAME.partial` folder and renamed when complete, so a half-written
dataset is never read as a whole one. Only the layouts with identity labels can be translated: a
translated source is meant for training.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

from PIL import Image

from raereid.atomic import write_json
from raereid.data.bbox_layout import has_bbox_layout, image_dirs
from raereid.data.files import is_image_name, list_images
from raereid.data.images import load_rgb
from raereid.data.records import ReidDataset
from raereid.data.registry import canonical_name, load_dataset
from raereid.errors import DatasetError

MANIFEST = "translate.json"
FIX = "pass --{role} NAME (market1501, dukemtmcreid, msmt17) with --data-root DIR, or the path of a dataset folder"
LABELLED_LAYOUTS = "Market-1501, DukeMTMC-reID or MSMT17 layout, or train.csv with person ids"


def load_domain(spec: str, root: str | None, role: str, labelled: bool) -> ReidDataset:
    """The source (`labelled`: a re-ID dataset with ids) or target of a translation, with one clear error when
    absent."""
    try:
        ds = load_dataset(spec, root)
    except DatasetError:
        if canonical_name(spec) is not None:
            raise
        candidates = ([Path(root).expanduser() / spec] if root else []) + [Path(spec).expanduser()]
        existing = next((p for p in candidates if p.exists()), None)
        if existing is None:
            raise DatasetError(f"{role} dataset {spec!r} not found", where=candidates[0],
                               fix=FIX.format(role=role)) from None
        if not existing.is_dir() or not list_images(existing, recursive=True):
            raise DatasetError(f"the {role} folder is not a dataset: no {LABELLED_LAYOUTS}, and no images",
                               where=existing, fix=FIX.format(role=role)) from None
        raise
    if labelled and (ds.layout == "image folder" or not ds.train_is_labeled):
        raise DatasetError(
            f"the {role} folder is not a re-ID dataset with identities ({ds.layout}): nothing says who is who",
            where=ds.root,
            fix=f"the {role} must have the {LABELLED_LAYOUTS}",
        )
    return ds


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def check_output(out: Path, source: ReidDataset, target: ReidDataset, resume: bool) -> Path:
    """Where the translated dataset goes (OUT/<source folder name>); refuses outputs that would touch the datasets."""
    if out.exists() and not out.is_dir():
        raise DatasetError("the output is an existing file, not a folder", where=out,
                           fix="pass --out a new or existing folder")
    out_r, dest = out.expanduser().resolve(), out / source.root.name
    dest_r = dest.expanduser().resolve()
    for role, ds in (("source", source), ("target", target)):
        root = ds.root.resolve()
        if _inside(out_r, root):
            raise DatasetError(f"the output is inside the {role} dataset folder {root}", where=out,
                               fix="pass --out a folder outside both datasets (e.g. next to the data root)")
        if _inside(root, dest_r):
            raise DatasetError(f"writing {dest} would overwrite the {role} dataset {root}", where=out,
                               fix="pass --out a folder that does not hold the datasets")
    if dest.exists():
        if not resume:
            raise DatasetError(f"the output already holds {source.root.name}", where=dest,
                               fix="pass another --out, delete the folder, or --resume to finish that translation")
        if not (out / MANIFEST).is_file():
            raise DatasetError(f"{dest} was not written by raereid translate ({MANIFEST} is missing)", where=dest,
                               fix="pass another --out, or delete that folder")
    return dest


def translated_files(ds: ReidDataset) -> list[Path]:
    """The images to translate, relative to the dataset folder: every image file of the Market/Duke split
    folders (junk ones too, so the copy mirrors the original), or every image the list files name."""
    if has_bbox_layout(ds.root):
        return sorted({p.relative_to(ds.root) for d in image_dirs(ds.root) for p in list_images(d)})
    root = ds.root.resolve()
    rels = set()
    for record in ds.images():
        path = Path(record.path)
        if root not in path.parents:
            raise DatasetError("an image lies outside the dataset folder (a symbolic link?)", where=path,
                               fix="copy the dataset so that its images are inside its folder")
        rels.add(path.relative_to(root))
    return sorted(rels)


def metadata_files(ds: ReidDataset) -> list[Path]:
    """Files at the top of the dataset folder that are not images (MSMT17's list_*.txt, train.csv ...), copied as
    they are."""
    return sorted(p for p in ds.root.iterdir()
                  if p.is_file() and not is_image_name(p.name) and not p.name.startswith("."))


def save_like(image: Image.Image, path: Path, quality: int) -> None:
    """Save in the format the file name says (JPEG at `quality`)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() in (".jpg", ".jpeg"):
        image.save(path, "JPEG", quality=quality)
    else:
        image.save(path)


def write_translated_dataset(
    ds: ReidDataset,
    out: Path,
    translate: Callable[[list[Image.Image]], list[Image.Image]],
    batch_size: int = 64,
    quality: int = 95,
    progress: Callable[[int], None] | None = None,
) -> Path:
    """Translate every image of `ds` into OUT/<its folder name>/ (same relative paths and sizes); returns that
    folder."""
    name = ds.root.name
    folder, partial = out / name, out / f".{name}.partial"
    if partial.exists():
        shutil.rmtree(partial)
    partial.mkdir(parents=True)
    for meta in metadata_files(ds):
        shutil.copy2(meta, partial / meta.name)
    files = translated_files(ds)
    for start in range(0, len(files), batch_size):
        chunk = files[start:start + batch_size]
        for rel, image in zip(chunk, translate([load_rgb(ds.root / rel) for rel in chunk])):
            save_like(image, partial / rel, quality)
        if progress is not None:
            progress(len(chunk))
    if folder.exists():
        shutil.rmtree(folder)  # a previous translation (check_output refuses anything else)
    partial.rename(folder)
    return folder


def write_manifest(out: Path, info: dict) -> Path:
    """OUT/translate.json: where the translation came from and how it was made (written atomically)."""
    return write_json(out / MANIFEST, info)
