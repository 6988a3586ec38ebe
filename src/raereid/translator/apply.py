"""`raereid translate` as a library call: train the CycleGAN translator, write the translated source as a
dataset in its own layout, a picture of images next to their translations, and OUT/translate.json."""

from __future__ import annotations

import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from raereid._version import __version__
from raereid.config.schema import Config
from raereid.data.images import load_rgb
from raereid.data.records import ReidDataset
from raereid.data.registry import load_dataset
from raereid.data.translated import (
    check_output,
    load_domain,
    translated_files,
    write_manifest,
    write_translated_dataset,
)
from raereid.data.unpaired import to_pil, translator_transform
from raereid.engine.run_folder import TRANSLATIONS, TRANSLATOR
from raereid.engine.runtime import Runtime, resolve_device
from raereid.errors import DatasetError
from raereid.progress import progress
from raereid.sheets import reconstruction_sheet
from raereid.translator.training import TranslatorTrainer

TRANSLATOR_DIR = "translator"  # OUT/translator/ is the translator's run folder
SHEET_HEIGHT = 128  # small inputs are enlarged to this height in the picture


def _samples(ds: ReidDataset, k: int) -> list[str]:
    """`k` training images spread evenly over the (sorted) training split: several identities and cameras."""
    paths = sorted(r.path for r in ds.train)
    return [paths[int(i)] for i in np.linspace(0, len(paths) - 1, num=min(k, len(paths)))]


def _display(images: list[Image.Image], height: int, width: int) -> list[np.ndarray]:
    scale = max(1, SHEET_HEIGHT // height)
    return [np.asarray(im.resize((width * scale, height * scale), Image.BICUBIC)) for im in images]


@torch.no_grad()
def translate_images(generator: torch.nn.Module, images: list[Image.Image], height: int, width: int,
                     device: torch.device | str = "cpu") -> list[Image.Image]:
    """Translate images at the generator's size and resize each back to its own size (bicubic)."""
    tf = translator_transform(height, width)
    was_training = generator.training
    generator.eval()
    try:
        out = generator(torch.stack([tf(im) for im in images]).to(device))
    finally:
        generator.train(was_training)
    return [im.resize(orig.size, Image.BICUBIC) if im.size != orig.size else im
            for im, orig in zip(to_pil(out), images)]


def translation_sheet(trainer: TranslatorTrainer, out: Path) -> Path:
    """Source images above their target-style translations, target images above their source-style ones."""
    t, dev = trainer.t, trainer.runtime.device
    rows = {}
    for name, ds, generator in (("source", trainer.source, trainer.nets.to_target),
                                ("target", trainer.target, trainer.nets.to_source)):
        originals = [load_rgb(p).resize((t.width, t.height), Image.BICUBIC) for p in _samples(ds, t.sample_images)]
        translated = translate_images(generator, originals, t.height, t.width, dev)
        rows[name] = (_display(originals, t.height, t.width), _display(translated, t.height, t.width))
    return reconstruction_sheet(rows, out, captions=("images", "translated"))


def run_translation(cfg: Config, output: str | Path, resume: bool = False, runtime: Runtime | None = None,
                    quiet: bool = False) -> dict:
    """Check the inputs, train (or resume) the translator, write OUT/<source folder>/, the picture and the manifest.

    Returns the manifest: paths, image counts per split (checked equal to the source's), seconds."""
    out = Path(output).expanduser()
    source = load_domain(cfg.data.source, cfg.data.root, "source", labelled=True)
    target = load_domain(cfg.data.target, cfg.data.root, "target", labelled=False)
    if source.root.resolve() == target.root.resolve():
        raise DatasetError("the source and the target are the same dataset", where=source.root,
                           fix="pass two different datasets")
    dest = check_output(out, source, target, resume)
    runtime = runtime or Runtime(resolve_device(cfg.train.device))
    trainer = TranslatorTrainer(cfg, runtime, out / TRANSLATOR_DIR, source, target, resume=resume)
    seconds_train = trainer.train()["seconds"]
    start = time.perf_counter()
    manifest = {
        "generator": f"raereid translate {__version__}",
        "source": str(source.root.resolve()),
        "target": str(target.root.resolve()),
        "dataset": dest.name,
        "translator": str((out / TRANSLATOR_DIR / TRANSLATOR).resolve()),
        "iterations": trainer.iteration,
        "seconds_train": round(seconds_train, 1),
        "translate": asdict(cfg.translate),
        "stats": source.stats(),
    }
    write_manifest(out, manifest)  # before the dataset: a --resume may then replace a half-finished copy
    bar = progress(len(translated_files(source)), "translate", unit="img", disable=quiet)
    try:
        folder = write_translated_dataset(
            source, out, lambda images: translate_images(trainer.nets.to_target, images, cfg.translate.height,
                                                         cfg.translate.width, runtime.device),
            batch_size=64, quality=cfg.translate.quality, progress=None if bar is None else bar.update,
        )
    finally:
        if bar is not None:
            bar.close()
    written = load_dataset(str(folder))
    if written.stats() != source.stats():
        raise DatasetError("the translated dataset does not read back with the source's counts", where=folder,
                           fix=f"source {source.stats()}, translated {written.stats()}; please report this")
    manifest["picture"] = str(translation_sheet(trainer, out / TRANSLATIONS))
    manifest["seconds_write"] = round(time.perf_counter() - start, 1)
    write_manifest(out, manifest)
    return manifest
