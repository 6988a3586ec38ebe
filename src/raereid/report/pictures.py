"""A run's pictures for the report: the domain-gap t-SNE drawn by training, and reconstructions Dec(Enc(I))
of target and source images when the model has a decoder."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from raereid.data.records import ReidDataset
from raereid.engine.run_folder import RunFolder
from raereid.inference.model_io import TrainedModel
from raereid.sheets import reconstruction_sheet
from raereid.tools.inputs import pick_evenly
from raereid.tools.reconstruct import reconstruct


@dataclass
class Picture:
    """An image file of the report with what it shows."""

    title: str
    file: Path
    caption: str


def domain_gap(run_dir: Path, out: Path) -> Picture | None:
    """The run's domain_gap.png copied to `out`, captioned with the mixing figures of domain_gap.json; None if
    absent."""
    png = RunFolder(run_dir).gap_picture
    if not png.is_file():
        return None
    out.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(png, out)
    caption = "t-SNE of source and target descriptors, coloured by domain."
    stats = RunFolder(run_dir).gap_stats
    try:
        models = json.loads(stats.read_text(encoding="utf-8"))["models"]
        shares = ", ".join(f"{name} {m['cross_domain_share']:.3f}" for name, m in models.items())
        k, mixed = next(iter(models.values()))["k"], next(iter(models.values()))["expected_if_mixed"]
        caption += (f" Share of each image's {k} nearest neighbours from the other domain: {shares} "
                    f"(fully mixed: {mixed:.3f}).")
    except (OSError, ValueError, KeyError, TypeError, StopIteration):
        caption += " (domain_gap.json with the mixing figures is missing or unreadable.)"
    return Picture("Domain gap", out, caption)


def reconstructions(trained: TrainedModel, datasets: dict[str, ReidDataset], out: Path, num: int = 8) -> Picture | None:
    """Images of each named dataset (e.g. target, source) above their reconstructions; None without a decoder."""
    model = trained.model
    if model.decoder is None:
        return None
    device = next(model.parameters()).device
    height, width = trained.cfg.data.height, trained.cfg.data.width
    rows = {}
    for role, dataset in datasets.items():
        records = pick_evenly(dataset.query or dataset.train, num)
        rows[f"{role}\n({dataset.name})"] = reconstruct(model, [r.path for r in records], height, width, device)
    reconstruction_sheet(rows, out)
    names = " and ".join(datasets)
    return Picture("Reconstructions", out,
                   f"{names.capitalize()} images above their source-style reconstructions Dec(Enc(I)).")
