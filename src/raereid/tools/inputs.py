"""What the tools read: a checkpoint's model, image records from a folder / list file / dataset, descriptors.

Every tool describes images the way the evaluator does (Algorithm 2, the checkpoint's input size and
flip setting, L2-normalised), so a score, a ranking, an index and an export all agree.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from raereid.data.custom import LIST_FORMAT, read_list_file
from raereid.data.filenames import parse_dukemtmc, parse_market1501
from raereid.data.files import is_image_name, list_images
from raereid.data.image_folder import read_image_folder
from raereid.data.records import ImageRecord, ReidDataset
from raereid.data.registry import canonical_name, load_dataset, names_below, read_folder
from raereid.engine.runtime import Runtime, resolve_device
from raereid.errors import DatasetError
from raereid.inference.features import extract, l2_normalize
from raereid.inference.model_io import TrainedModel, load_model

SPLITS = ("all", "train", "query", "gallery", "test")


def open_model(checkpoint: str | Path, device: str = "cpu") -> TrainedModel:
    """The trained network of `checkpoint` on `device` (auto, cpu, cuda, cuda:N), in eval mode."""
    return load_model(checkpoint, resolve_device(device))


def data_root(given: str | None, trained: TrainedModel) -> str | None:
    """The data root to read datasets from: the one given, else the checkpoint's when it exists here."""
    if given:
        return given
    return trained.cfg.data.root if Path(trained.cfg.data.root).expanduser().is_dir() else None


def dataset_name(spec: str) -> str:
    """The name a dataset spec from a config reads as (an alias's canonical name, else the folder name)."""
    return canonical_name(spec) or Path(spec).name or spec


def split_records(dataset: ReidDataset, split: str) -> list[ImageRecord]:
    """Records of one split: train, query, gallery, test (query + gallery) or all (train + query + gallery)."""
    parts = {
        "train": dataset.train,
        "query": dataset.query,
        "gallery": dataset.gallery,
        "test": dataset.query + dataset.gallery,
        "all": dataset.train + dataset.query + dataset.gallery,
    }
    if split not in parts:
        raise DatasetError(f"unknown split {split!r}", fix=f"use one of {', '.join(SPLITS)}")
    records = parts[split]
    if not records:
        raise DatasetError(
            f"dataset {dataset.name!r} has no {split} images",
            where=dataset.root,
            fix="choose another --split (an unlabeled image folder only has train images)",
        )
    return records


def _labelled_by_name(paths: list[Path]) -> list[ImageRecord] | None:
    """Records with ids from the file names when every name follows the Market-1501 or DukeMTMC convention."""
    for parser in (parse_market1501, parse_dukemtmc):
        parsed = [parser(p.name) for p in paths]
        if all(r is not None for r in parsed):
            return [ImageRecord(str(p.resolve()), pid, cam)  # type: ignore[misc]
                    for p, (pid, cam) in zip(paths, parsed)]
    return None


def image_folder_records(folder: Path, what: str = "image folder") -> list[ImageRecord]:
    """Every image below `folder`; ids and cameras from Market/Duke-style names, else cameras from camN/ folders."""
    paths = list_images(folder, recursive=True)
    if not paths:
        raise DatasetError(f"no images in the {what}", where=folder,
                           fix="point at a folder holding .jpg/.png images (searched recursively)")
    return _labelled_by_name(paths) or read_image_folder(folder).train


def resolve_images(spec: str | Path, data_root: str | Path | None = None, split: str = "all") -> list[ImageRecord]:
    """Records for an image file, a folder of images, a list file (path,pid,camid), a dataset folder or a
    dataset name under `data_root` (then `split` picks train / query / gallery / test / all)."""
    path = Path(spec).expanduser()
    if path.is_file():
        if is_image_name(path.name):
            return [ImageRecord(str(path.resolve()))]
        return read_list_file(path, path.parent, need_pid=False)
    if path.is_dir():
        dataset = read_folder(path)
        if dataset is not None:
            return split_records(dataset, split)
        names = names_below(path)
        if names:
            raise DatasetError(
                f"this folder holds datasets ({names}) below it, not one set of images",
                where=path,
                fix=f"pass a dataset name ({names}) with --data-root {path} and a --split, or one dataset's folder",
            )
        return image_folder_records(path)
    if data_root is not None or canonical_name(str(spec)) is not None:
        return split_records(load_dataset(str(spec), data_root), split)
    raise DatasetError(
        "no such image, folder, list file or dataset",
        where=path,
        fix=f"pass an image, a folder of images, a list file ({LIST_FORMAT}), or a dataset name with --data-root",
    )


def pick_evenly(items: Sequence, n: int) -> list:
    """`n` items spread evenly over `items` (all of them when there are fewer), in order."""
    if n >= len(items):
        return list(items)
    return [items[int(i)] for i in np.linspace(0, len(items) - 1, n).round().astype(int)]


def describe(
    trained: TrainedModel, records: Sequence[ImageRecord], batch_size: int | None = None, desc: str = "extract"
) -> np.ndarray:
    """L2-normalised Algorithm-2 descriptors (N, D) float32 of `records`, as the evaluator computes them."""
    cfg = trained.cfg
    device = next(trained.model.parameters()).device
    feats = extract(
        trained.model,
        records,
        cfg.data.height,
        cfg.data.width,
        Runtime(torch.device(device)),
        kinds=("final",),
        batch_size=batch_size or cfg.data.test_batch_size,
        workers=min(cfg.data.workers, 2),
        flip=cfg.model.flip_test,
        amp=cfg.train.amp,
        desc=desc,
    )["final"]
    return l2_normalize(feats)
