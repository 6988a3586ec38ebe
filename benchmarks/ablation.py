"""Regenerate a results table of the docs from its row-list file: train what is missing, print or write the table.

The rows file (benchmarks/tables/NAME.yaml; format in benchmarks/tables/README.md) lists the rows, their
source stages and seeds. Every row x seed x draw is a `raereid train` subprocess on one thread, --jobs at a
time; a source stage (`--variant direct`) is trained once per seed and draw and every adapted row of that
seed and draw starts from its model.pt. Runs already finished are not trained again; --table-only trains
nothing. --write FILE replaces the block between <!-- table:NAME --> and <!-- /table:NAME --> in FILE.

    python benchmarks/ablation.py benchmarks/tables/table4.yaml --draw A=DATA_A --draw B=DATA_B \
        --write docs/results-synthetic.md
"""

from __future__ import annotations

import argparse
import datetime
import re
import shlex
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from ablation_plan import plan
from ablation_run import check_fresh, failure_report, run_jobs, state
from ablation_spec import load_spec
from ablation_table import render, write_block

from raereid.errors import ConfigError, PathError, RaeReidError


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rows", help="the table's rows file, e.g. benchmarks/tables/table4.yaml")
    parser.add_argument("--draw", action="append", default=[], required=True, metavar="NAME=DATA_ROOT",
                        help="a benchmark draw (raereid synth --out folder); repeat for draws side by side")
    parser.add_argument("--out", help="folder of the runs (default: runs/tables/NAME)")
    parser.add_argument("--seeds", type=int, nargs="+", help="seeds of every row (default: the file's, else 0 1 2)")
    parser.add_argument("--split", choices=("test", "val"), default="test", help="the target split the table reports")
    parser.add_argument("--jobs", type=int, default=2, help="runs at a time, one thread each (default 2)")
    parser.add_argument("--table-only", action="store_true",
                        help="print the table of the runs there are, train nothing")
    parser.add_argument("--write", type=Path, metavar="FILE", help="replace the table's marked block in FILE")
    return parser.parse_args(argv)


def parse_draws(items: list[str], check_roots: bool) -> dict[str, str]:
    """NAME=DATA_ROOT flags -> {name: root}, names unique, roots existing folders when runs will train."""
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
    parts = ["python", "benchmarks/ablation.py", args.rows, *[a for d in args.draw for a in ("--draw", d)]]
    parts += [*(["--out", args.out] if args.out else []), *(["--seeds", *map(str, args.seeds)] if args.seeds else [])]
    parts += ["--split", args.split] if args.split != "test" else []
    parts += ["--write", str(args.write)] if args.write else []
    return shlex.join(parts)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        spec = load_spec(args.rows)
        draws = parse_draws(args.draw, check_roots=not args.table_only)
        if args.jobs < 1:
            raise ConfigError(f"--jobs must be at least 1, got {args.jobs}", fix="pass --jobs 1 or more")
        seeds = list(args.seeds or spec.seeds)
        if len(set(seeds)) != len(seeds):
            raise ConfigError(f"--seeds {' '.join(map(str, seeds))} repeats a seed", fix="list each seed once")
        if args.write:
            write_block(args.write, spec.name, None)  # the markers are there before hours of training
        out = Path(args.out or f"runs/tables/{spec.name}").absolute()
        jobs = plan(spec, draws, out, seeds)
        if not args.table_only:
            check_fresh(jobs, out)
            run_jobs(jobs, out, args.jobs, log=lambda line: print(line, file=sys.stderr, flush=True))
        states = {job.folder: state(job, out) for job in jobs}
        block = "\n".join([
            "<!-- made by benchmarks/ablation.py from its rows file: regenerate it, do not edit it by hand -->",
            render(spec, draws, seeds, out, args.split, states), "",
            f"regenerate with: `{regenerate_command(args)}` ({datetime.date.today().isoformat()})"])
        print(block)
        if args.write:
            write_block(args.write, spec.name, block)
            print(f"[ablation] wrote table {spec.name} into {args.write}", file=sys.stderr)
    except RaeReidError as exc:
        print(f"error: {exc.message()}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("[ablation] interrupted: run the same command again to continue", file=sys.stderr)
        return 130
    failures = failure_report(jobs, out)
    if failures:
        print(failures, file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
