"""Find every dataset under a folder and print its identities / images / cameras per split (the paper's Table I),
with the validation split (val_query / val_gallery) of datasets that have one."""

from __future__ import annotations

import argparse
import json

from raereid.data.records import EVAL_SPLITS
from raereid.data.registry import discover
from raereid.errors import DatasetError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from raereid.cli.common import add_data_root_argument

    add_data_root_argument(parser, "folder holding the datasets (or a dataset folder itself)", required=True)
    parser.add_argument("--json", action="store_true", help="print one JSON object keyed by dataset name")
    parser.add_argument("--verify", action="store_true", help="also decode every image and report corrupt files")


def format_table(stats: dict[str, dict[str, dict[str, int]]]) -> str:
    """A plain-text table: one row per dataset, ids / images / cameras per split; the validation split's
    columns appear when a dataset has one ('-' for those without)."""
    splits = ["train", "query", "gallery"] + [s for s in EVAL_SPLITS["val"] if any(s in d for d in stats.values())]
    header = f"{'dataset':<16}" + "".join(f"{split + ' (ids/imgs/cams)':>30}" for split in splits)
    lines = [header, "-" * len(header)]
    for name, counts in stats.items():
        cells = "".join(
            f"{c['ids']:>10,} /{c['images']:>9,} /{c['cameras']:>4}" if c else f"{'-':>30}"
            for c in (counts.get(split) for split in splits)
        )
        lines.append(f"{name:<16}{cells}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    datasets = discover(args.data_root)
    if not datasets:
        raise DatasetError(
            "no dataset found",
            where=args.data_root,
            fix="expected Market-1501-v15.09.15/, DukeMTMC-reID/, MSMT17_V1/ or MSMT17_V2/ (or a folder with "
            "train.csv) at this folder or up to two levels below it",
        )
    if args.verify:
        from raereid.data.images import verify_images

        for ds in datasets.values():
            verify_images([r.path for r in ds.images()])
    stats = {name: ds.stats() for name, ds in datasets.items()}
    if args.json:
        print(json.dumps(stats, indent=2))
    else:
        print(format_table(stats))
    return 0
