"""Write one static HTML page (plus its pictures) for one or more runs: the metrics table (sortable), training
curves from TensorBoard, ranked lists of the same queries for every run and of each run's best and worst
queries (the evaluator's protocol, filterable by person id and camera), the domain-gap picture and
reconstructions, and each run's config and command. It opens from disk: no server, no network.

A RUN_DIR is a `raereid train --output` folder, or a folder of runs such as the demo's output (then every
run inside it, in the order they finished). Runs evaluated on different targets are refused unless
--allow-mixed-targets.
"""

from __future__ import annotations

import argparse
import sys
import time


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("runs", nargs="+", metavar="RUN_DIR", help="run folders (raereid train --output), or folders of runs")
    parser.add_argument("--out", default="report", help="output folder; the page is OUT/index.html (default: report)")
    parser.add_argument("--topk", type=int, default=10, help="gallery images per ranked list (default: 10)")
    parser.add_argument("--queries", type=int, default=8, help="queries ranked by every run (default: 8)")
    parser.add_argument("--extremes", type=int, default=5, help="best and worst queries per run (default: 5)")
    parser.add_argument("--data-root", help="folder holding the datasets (default: each checkpoint's data.root)")
    parser.add_argument("--allow-mixed-targets", action="store_true", help="write one page for runs of different targets, labelled")
    parser.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N (default: auto)")


def run(args: argparse.Namespace) -> int:
    from raereid.report.build import write_report

    started = time.perf_counter()
    page = write_report(
        args.runs, args.out, topk=args.topk, queries=args.queries, extremes=args.extremes, device=args.device,
        data_root=args.data_root, allow_mixed_targets=args.allow_mixed_targets,
        log=lambda message: print(f"[report] {message}", file=sys.stderr, flush=True),
    )
    print(f"report: {page.resolve()} ({time.perf_counter() - started:.1f} s)")
    return 0
