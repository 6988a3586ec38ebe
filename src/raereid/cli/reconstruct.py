"""A picture of images next to their reconstructions Dec(Enc(I)): the source-style images RAE is built on.

With --images (repeatable: an image, a folder, a list file or a dataset name), one pair of rows per
argument; without it, a few query images of the checkpoint's target and source datasets under
--data-root (default: the checkpoint's). Needs a variant with a decoder (`variant_names(has_decoder=True)`).
"""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--checkpoint", required=True, help="model.pt or checkpoints/last.pt written by raereid train")
    parser.add_argument("--images", action="append", default=[], help="images to reconstruct (repeatable, one group each)")
    parser.add_argument("--data-root", help="folder holding the datasets (default: the checkpoint's data.root)")
    parser.add_argument("--num", type=int, default=8, help="images per group, spread over it (default: 8)")
    parser.add_argument("--out", required=True, help="output .png file")
    parser.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N (default: auto)")


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from raereid.cli import paths
    from raereid.config.variants import variant_names
    from raereid.data.registry import load_dataset
    from raereid.errors import ConfigError, DatasetError
    from raereid.tools.inputs import data_root, open_model, pick_evenly, resolve_images
    from raereid.tools.reconstruct import reconstruct, reconstruction_sheet

    if args.num < 1:
        raise ConfigError("--num must be at least 1", fix="pass a positive number of images per group")
    paths.input_file(args.checkpoint, "--checkpoint")
    paths.output_file(args.out, "--out", paths.inputs(*args.images, data_root=args.data_root))
    trained = open_model(args.checkpoint, args.device)
    model, cfg = trained.model, trained.cfg
    if model.decoder is None:
        raise ConfigError(
            f"the {model.variant.name!r} model has no decoder, so there is nothing to reconstruct",
            where=trained.path,
            fix=f"use a checkpoint of a variant with a decoder ({variant_names(has_decoder=True)})",
        )
    root = data_root(args.data_root, trained)
    paths.outside(args.out, "--out", paths.inputs(data_root=root))
    groups: dict[str, list[str]] = {}
    if args.images:
        for spec in args.images:
            groups[Path(spec).name or spec] = [r.path for r in pick_evenly(resolve_images(spec, root), args.num)]
    else:
        for role, spec in (("target", cfg.data.target), ("source", cfg.data.source)):
            ds = load_dataset(spec, root)
            records = ds.query or ds.train
            if not records:
                raise DatasetError(f"the {role} dataset has no images", where=ds.root, fix="pass --images")
            groups[f"{role}\n({ds.name})"] = [r.path for r in pick_evenly(records, args.num)]
    rows = {name: reconstruct(model, files, cfg.data.height, cfg.data.width, next(model.parameters()).device)
            for name, files in groups.items()}
    out = reconstruction_sheet(rows, args.out)
    print(f"{sum(len(p) for p in groups.values())} images and their reconstructions -> {out}")
    return 0
