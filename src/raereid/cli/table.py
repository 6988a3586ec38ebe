"""Make a results table from its rows file: train the runs it still lacks, print the table or write it into a doc.

The rows file (benchmarks/tables/NAME.yaml for the docs' tables; its format in benchmarks/tables/README.md) lists
the rows, their source stages and seeds. Every row x seed x draw is a `raereid train` subprocess on one thread,
--jobs at a time; a source stage (`--variant direct`) is trained once per seed and draw and every adapted row of
that seed and draw starts from its model.pt. Runs already finished are not trained again; --table-only trains
nothing. --write FILE replaces the block between <!-- table:NAME --> and <!-- /table:NAME --> in FILE.

    raereid table benchmarks/tables/table4.yaml --draw A=DATA_A --draw B=DATA_B --write docs/results-synthetic.md
"""

from __future__ import annotations

import argparse
import re
import shlex
import sys
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from raereid.cli.common import add_output_argument

    parser.add_argument("rows", help="the table's rows file, e.g. benchmarks/tables/table4.yaml")
    parser.add_argument("--draw", action="append", default=[], required=True, metavar="NAME=DATA_ROOT",
                        help="a benchmark draw (raereid synth --out folder); repeat for draws side by side")
    add_output_argument(parser, "folder of the runs (default: runs/tables/NAME)")
    parser.add_argument("--seeds", type=int, nargs="+", help="seeds of every row (default: the file's, else 0 1 2)")
    parser.add_argument("--split", choices=("test", "val"), default="test", help="the target split the table reports")
    parser.add_argument("--jobs", type=int, default=2, help="runs at a time, one thread each")
    parser.add_argument("--reuse", type=Path, action="append", default=[], metavar="FOLDER",
                        help="copy finished runs from another table's folder (e.g. runs/tables/table4) when their "
                             "config is the one a missing run would have, instead of training it; repeatable")
    parser.add_argument("--table-only", action="store_true",
                        help="print the table of the runs there are, train nothing")
    parser.add_argument("--write", type=Path, metavar="FILE", help="replace the table's marked block in FILE")


def parse_draws(items: list[str], check_roots: bool) -> dict[str, str]:
    """NAME=DATA_ROOT flags -> {name: root}, names unique, roots existing folders when runs will train."""
    from raereid.errors import ConfigError, PathError

    draws: dict[str, str] = {}
    for item in items:
        name, eq, root = item.partition("=")
        if not eq or not re.fullmatch(r"[A-Za-z0-9_-]+", name) or not root:
            raise ConfigError(f"--draw {item!r} is not NAME=DATA_ROOT", fix="write e.g. --draw A=/data/synth-seed0")
        if name in draws:
            raise ConfigError(f"--draw {name} is given twice", fix="give every draw its own name")
        if check_roots and not Path(root).is_dir():
            raise PathError(f"--draw {name}: {root} is not a folder", where=root,
                            fix="pass the folder `raereid synth --out` wrote")
        draws[name] = root
    return draws


def regenerate_command(args: argparse.Namespace) -> str:
    """The command line that remakes this table (without --jobs and --table-only)."""
    parts = ["raereid", "table", args.rows, *[a for d in args.draw for a in ("--draw", d)]]
    parts += [*(["--out", args.out] if args.out else []), *(["--seeds", *map(str, args.seeds)] if args.seeds else [])]
    parts += ["--split", args.split] if args.split != "test" else []
    parts += ["--write", str(args.write)] if args.write else []
    return shlex.join(parts)


def run(args: argparse.Namespace) -> int:
    import datetime

    from raereid.errors import ConfigError, PathError
    from raereid.experiments.plan import plan
    from raereid.experiments.reuse import reuse_runs
    from raereid.experiments.run import failure_report, run_jobs
    from raereid.experiments.spec import load_spec
    from raereid.experiments.state import check_fresh, state
    from raereid.experiments.table import render, write_block

    spec = load_spec(args.rows)
    draws = parse_draws(args.draw, check_roots=not args.table_only)
    if args.jobs < 1:
        raise ConfigError(f"--jobs must be at least 1, got {args.jobs}", fix="pass --jobs 1 or more")
    if args.reuse and args.table_only:
        raise ConfigError("--reuse copies runs into the table's folders, --table-only touches none",
                          fix="drop --table-only to copy (and train what is still missing), or drop --reuse")
    for folder in args.reuse:
        if not folder.is_dir():
            raise PathError(f"--reuse {folder} is not a folder", where=folder,
                            fix="pass the --out folder of another table's runs")
    seeds = list(args.seeds or spec.seeds)
    if len(set(seeds)) != len(seeds):
        raise ConfigError(f"--seeds {' '.join(map(str, seeds))} repeats a seed", fix="list each seed once")
    if args.write:
        write_block(args.write, spec.name, None)  # the markers are there before hours of training
    out = Path(args.out or f"runs/tables/{spec.name}").absolute()
    jobs = plan(spec, draws, out, seeds)
    if not args.table_only:
        check_fresh(jobs, out)
        try:
            if args.reuse:
                reuse_runs(jobs, out, args.reuse, log=lambda line: print(line, file=sys.stderr, flush=True))
            run_jobs(jobs, out, args.jobs, log=lambda line: print(line, file=sys.stderr, flush=True))
        except KeyboardInterrupt:
            print("[table] interrupted: run the same command again to continue", file=sys.stderr)
            return 130
    states = {job.folder: state(job, out) for job in jobs}
    block = "\n".join([
        "<!-- made by raereid table from its rows file: regenerate it, do not edit it by hand -->",
        render(spec, draws, seeds, out, args.split, states), "",
        f"regenerate with: `{regenerate_command(args)}` ({datetime.date.today().isoformat()})"])
    print(block)
    if args.write:
        write_block(args.write, spec.name, block)
        print(f"[table] wrote table {spec.name} into {args.write}", file=sys.stderr)
    failures = failure_report(jobs, out)
    if failures:
        print(failures, file=sys.stderr)
    return 1 if failures else 0
