"""Search a gallery index (raereid index) with one or more query images: a table of rank, cosine similarity and
path per query, and optionally a picture of each query and its top-k results. The model is the one
recorded in the index, or --checkpoint; another model than the index's is refused.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from raereid.tools.ranking import RankedQuery


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--index", required=True, help="index folder written by raereid index")
    parser.add_argument("--query", required=True, nargs="+", help="query image(s)")
    from raereid.cli.common import add_checkpoint_argument, add_device_argument

    parser.add_argument("--topk", type=int, default=10, help="results per query")
    parser.add_argument("--picture", help="also write a .png of each query and its results")
    add_checkpoint_argument(parser, False,
                            "the model that built the index, if it moved (default: the path in the index)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    add_device_argument(parser)


def format_results(rows: Sequence[RankedQuery]) -> str:
    """A table per query: rank, similarity, path."""
    blocks = []
    for row in rows:
        lines = [f"query {row.query.path}", f"{'rank':>4}  {'similarity':>10}  path"]
        lines += [f"{i:>4}  {s:>10.4f}  {r.path}" for i, (r, s) in enumerate(zip(row.results, row.similarity), 1)]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from raereid.cli import paths
    from raereid.data.images import load_rgb
    from raereid.data.records import ImageRecord
    from raereid.errors import ConfigError, DatasetError
    from raereid.tools.index import index_checkpoint, open_index, search
    from raereid.tools.inputs import open_model
    from raereid.tools.ranking import draw_sheet

    if args.topk < 1:
        raise ConfigError("--topk must be at least 1", fix="pass a positive number of results")
    paths.input_folder(args.index, "--index", "index folder", "pass the folder written by raereid index --out")
    if args.checkpoint:
        paths.input_file(args.checkpoint, "--checkpoint")
    if args.picture:
        paths.output_file(args.picture, "--picture")
    queries = []
    for q in args.query:
        path = Path(q).expanduser()
        if not path.is_file():
            raise DatasetError("query image not found", where=path, fix="pass the path of an image file")
        load_rgb(path)  # a file that does not decode fails here, naming it
        queries.append(ImageRecord(str(path.resolve())))
    index = open_index(args.index)
    trained = open_model(index_checkpoint(index, args.checkpoint), args.device)
    rows = search(index, trained, queries, args.topk)
    if args.json:
        print(json.dumps([{"query": r.query.path,
                           "results": [{"rank": i, "similarity": s, "path": g.path}
                                       for i, (g, s) in enumerate(zip(r.results, r.similarity), 1)]}
                          for r in rows], indent=2))
    else:
        print(format_results(rows))
    if args.picture:
        title = f"top-{args.topk} of {index.meta['count']} gallery images by cosine similarity"
        print(f"picture: {draw_sheet(rows, args.picture, title)}", file=sys.stderr if args.json else sys.stdout)
    return 0
