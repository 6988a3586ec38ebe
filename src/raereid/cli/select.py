"""Rank finished runs -- or, with --checkpoints, every checkpoint kept along them (select.snapshots) -- by the
label-free score, computed from what an unlabelled target gives: cluster sizes and outliers, cross-camera coverage,
pseudo-label stability, cluster separation and the agreement of the two descriptors (docs/selection.md). No label is
read; where the target has labels, the runs' labelled mAP is shown beside the score for the record.

A RUN_DIR is a `raereid train --out` folder, or a folder of runs (every run directly inside it). Runs adapted to
different targets are refused. Choosing DBSCAN's eps on a new camera network: train short runs at a few values and
rank them here (docs/selection.md).
"""

from __future__ import annotations

import argparse
import json


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from raereid.selection.score import DEFAULT_SPEC, SPECS

    parser.add_argument("runs", nargs="+", metavar="RUN_DIR",
                        help="run folders (raereid train --out), or folders of runs")
    parser.add_argument("--checkpoints", action="store_true",
                        help="rank every kept snapshot and final model of each run (the checkpoint choice), not only "
                        "the final models")
    parser.add_argument("--score", default=DEFAULT_SPEC, choices=list(SPECS),
                        help="the fixed score to rank by (docs/selection.md)")
    parser.add_argument("--json", action="store_true",
                        help="print the ranking as JSON (records with run, checkpoint, score, rank, terms, ...)")


def run(args: argparse.Namespace) -> int:
    from raereid.tools.select import format_ranking, rank_runs, ranking_json, read_runs

    runs = read_runs(args.runs)
    ranking = rank_runs(runs, checkpoints=args.checkpoints, score=args.score)
    if args.json:
        print(json.dumps(ranking_json(ranking, runs, args.checkpoints), indent=2))
    else:
        print(format_ranking(ranking, len(runs), args.checkpoints))
    return 0
