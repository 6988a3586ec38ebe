"""Find every dataset under a folder and print its identities / images / cameras per split (the paper's Table I),
with the validation split (val_query / val_gallery) of datasets that have one. Plain folders of images (your own
cameras, read as unlabelled targets) are counted too; a folder of images may be the data root itself.

--verify decodes every image and lists every one that does not decode, once each (in the JSON output too); a long
list is also written to a file (--bad-list FILE, default ./undecodable-images.txt beyond 20 files).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from raereid.data.records import EVAL_SPLITS
from raereid.errors import DatasetError

LIST_IN_FILE = 20  # more undecodable images than this are also written to a file
DEFAULT_BAD_LIST = "undecodable-images.txt"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from raereid.cli.common import add_data_root_argument

    add_data_root_argument(parser, "folder holding the datasets (or a dataset folder, or a folder of images, itself)",
                           required=True)
    parser.add_argument("--json", action="store_true", help="print one JSON object keyed by dataset name")
    parser.add_argument("--verify", action="store_true",
                        help="also decode every image and list every one that does not decode")
    parser.add_argument("--bad-list", metavar="FILE",
                        help=f"with --verify: write the undecodable images there, one path per line (default: "
                        f"{DEFAULT_BAD_LIST} in the current folder when there are more than {LIST_IN_FILE})")


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


def _nothing_found(root: Path) -> DatasetError:
    if root.is_dir() and not any(p.is_file() for p in root.rglob("*")):
        return DatasetError("the folder is empty: no dataset and no images", where=root,
                            fix="pass the folder holding your datasets or your camera crops (--data-root DIR)")
    return DatasetError(
        "no dataset and no images found", where=root,
        fix="expected Market-1501-v15.09.15/, DukeMTMC-reID/, MSMT17_V1/ or MSMT17_V2/, a folder with train.csv, or "
        "a folder of images (.jpg/.png) at this folder or up to two levels below it",
    )


def _bad_list_file(args: argparse.Namespace, bad: list[tuple[str, str]]) -> Path | None:
    """Write every undecodable path to --bad-list (or, beyond LIST_IN_FILE of them, to the default file)."""
    if not args.bad_list and len(bad) <= LIST_IN_FILE:
        return None
    from raereid.cli import paths

    path = paths.output_file(args.bad_list or DEFAULT_BAD_LIST, "--bad-list",
                             paths.inputs(data_root=args.data_root))
    path.write_text("".join(f"{p}\t{what}\n" for p, what in bad), encoding="utf-8")
    return path


def run(args: argparse.Namespace) -> int:
    from raereid.data.images import undecodable, undecodable_error
    from raereid.data.registry import discover

    if args.bad_list and not args.verify:
        raise DatasetError("--bad-list lists what --verify finds", fix="add --verify, or drop --bad-list")
    datasets = discover(args.data_root)
    if not datasets:
        raise _nothing_found(Path(args.data_root).expanduser())
    stats: dict = {name: ds.stats() for name, ds in datasets.items()}
    bad: list[tuple[str, str]] = []
    total = 0
    if args.verify:
        for name, ds in datasets.items():
            paths = [r.path for r in ds.images()]
            found = undecodable(paths)
            stats[name]["undecodable"] = [{"path": p, "error": what} for p, what in found]
            bad, total = bad + found, total + len(set(paths))
    if args.json:
        print(json.dumps(stats, indent=2))
    else:
        print(format_table({n: {k: v for k, v in s.items() if k != "undecodable"} for n, s in stats.items()}))
    if bad:
        raise undecodable_error(bad, total, shown=None, listed_in=_bad_list_file(args, bad))
    return 0
