"""Write one static HTML page (plus its pictures) for one or more runs: the metrics table (sortable), training
curves from TensorBoard, ranked lists of the same queries for every run and of each run's best and worst
queries (the evaluator's protocol, filterable by person id and camera), the domain-gap picture and
reconstructions, and each run's config and command. It opens from disk: no server, no network.

A RUN_DIR is a `raereid train --out` folder, or a folder of runs such as the demo's output (then every
run inside it, in the order they finished). Runs evaluated on different targets are refused unless
--allow-mixed-targets.
"""

from __future__ import annotations

import argparse
import sys
import time


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from raereid.cli.common import add_data_root_argument, add_device_argument, add_output_argument

    parser.add_argument("runs", nargs="+", metavar="RUN_DIR",
                        help="run folders (raereid train --out), or folders of runs")
    add_output_argument(parser, "output folder; the page is OUT/index.html", default="report")
    parser.add_argument("--topk", type=int, default=10, help="gallery images per ranked list")
    parser.add_argument("--num-queries", type=int, default=8, help="queries ranked by every run")
    parser.add_argument("--extremes", type=int, default=5, help="best and worst queries per run")
    add_data_root_argument(parser, "folder holding the datasets (default: each checkpoint's data.root)")
    parser.add_argument("--allow-mixed-targets", action="store_true",
                        help="write one page for runs of different targets, labelled")
    add_device_argument(parser)


def run(args: argparse.Namespace) -> int:
    from raereid.report.build import write_report

    started = time.perf_counter()
    page = write_report(
        args.runs, args.out, topk=args.topk, queries=args.num_queries, extremes=args.extremes, device=args.device,
        data_root=args.data_root, allow_mixed_targets=args.allow_mixed_targets,
        log=lambda message: print(f"[report] {message}", file=sys.stderr, flush=True),
    )
    print(f"report: {page.resolve()} ({time.perf_counter() - started:.1f} s)")
    return 0
