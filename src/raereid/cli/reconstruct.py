"""A picture of images next to their reconstructions Dec(Enc(I)): the source-style images RAE is built on.

With --images (repeatable: an image, a folder, a list file or a dataset name), one pair of rows per
argument; without it, a few query images of the checkpoint's target and source datasets under
--data-root (default: the checkpoint's). Needs a model with a decoder: a variant with pixel transfer or fusion,
or the source stage of `raereid train` (OUTPUT/source/model.pt, which trains one unless source.decoder is false).
"""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from raereid.cli.common import add_data_root_argument, add_model_arguments, add_output_argument

    add_model_arguments(parser)
    parser.add_argument("--images", action="append", default=[],
                        help="images to reconstruct (repeatable, one group each)")
    add_data_root_argument(parser)
    parser.add_argument("--num", type=int, default=8, help="images per group, spread over it")
    add_output_argument(parser, "output .png file", required=True)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from raereid.cli import paths
    from raereid.cli.common import open_model_and_root
    from raereid.config.variants import variant_names
    from raereid.data.registry import load_dataset
    from raereid.errors import ConfigError, DatasetError
    from raereid.sheets import reconstruction_sheet
    from raereid.tools.inputs import pick_evenly, resolve_images
    from raereid.tools.reconstruct import reconstruct

    if args.num < 1:
        raise ConfigError("--num must be at least 1", fix="pass a positive number of images per group")
    paths.input_file(args.checkpoint, "--checkpoint")
    paths.output_file(args.out, "--out", paths.inputs(*args.images, data_root=args.data_root))
    trained, root = open_model_and_root(args)
    model, cfg = trained.model, trained.cfg
    if model.decoder is None:
        raise ConfigError(
            f"the {model.variant.name!r} model has no decoder, so there is nothing to reconstruct",
            where=trained.path,
            fix=f"use a checkpoint of a variant with a decoder ({variant_names(has_decoder=True)})",
        )
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
