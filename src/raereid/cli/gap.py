"""A picture of the domain gap: t-SNE of source and target descriptors coloured by domain, one panel for the
checkpoint and, with --before (e.g. the direct-transfer model), one for the model before adaptation.
Each panel also reports how mixed the domains are (the share of nearest neighbours from the other
domain); the figures are saved next to the picture as .json.
"""

from __future__ import annotations

import argparse
import json

SPLITS = ("train", "query", "gallery", "test", "all")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from raereid.cli.common import add_data_root_argument, add_model_arguments, add_output_argument

    add_model_arguments(parser, "the adapted model (model.pt or checkpoints/last.pt)")
    parser.add_argument("--before", help="a checkpoint before adaptation, e.g. the direct-transfer run's model.pt")
    add_data_root_argument(parser)
    parser.add_argument("--split", default="train", choices=SPLITS, help="images of each domain to show")
    parser.add_argument("--per-domain", type=int, default=500, help="images drawn from each domain")
    parser.add_argument("--seed", type=int, default=0, help="seed of the subsample and of t-SNE")
    add_output_argument(parser, "output .png file", required=True)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from raereid.cli import paths
    from raereid.cli.common import open_model_and_root
    from raereid.data.registry import load_dataset
    from raereid.errors import ConfigError
    from raereid.inference.domain_gap import domain_gap_picture
    from raereid.tools.inputs import open_model, split_records

    if args.per_domain < 2:
        raise ConfigError("--per-domain must be at least 2", fix="pass e.g. --per-domain 500")
    paths.input_file(args.checkpoint, "--checkpoint")
    if args.before:
        paths.input_file(args.before, "--before")
    for out in (Path(args.out), Path(args.out).with_suffix(".json")):
        paths.output_file(out, "--out", paths.inputs(data_root=args.data_root))
    after, root = open_model_and_root(args)
    models = {}
    if args.before:
        before = open_model(args.before, args.device)
        models[f"before: {before.model.variant.name} ({before.iteration} iterations)"] = before.model
    models[f"{'after: ' if args.before else ''}{after.model.variant.name} ({after.iteration} iterations)"] = after.model
    source = load_dataset(after.cfg.data.source, root)
    target = load_dataset(after.cfg.data.target, root)
    out = domain_gap_picture(
        models, split_records(source, args.split), split_records(target, args.split), after.cfg, args.out,
        per_domain=args.per_domain, seed=args.seed, names=(source.name, target.name),
    )
    summary = json.loads(out.with_suffix(".json").read_text(encoding="utf-8"))
    for title, stats in summary["models"].items():
        print(f"{title}: {stats['k']}-NN from the other domain {stats['cross_domain_share']:.3f} "
              f"(fully mixed: {stats['expected_if_mixed']:.3f})")
    print(f"picture: {out}")
    return 0
