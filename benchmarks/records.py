"""Keep the records of a table's finished runs in the repository, and put them back into a run folder.

A results table costs hours of CPU; a machine that is replaced loses its run folders, and with them the runs a
table still needs and the evidence behind its figures. What a table and benchmarks/selection_quality.py read of a
run is small: job.json (the command), config.yaml, metrics.json and train.log, a few kB against the 16 MB of its
checkpoints. `save` copies those four files of every finished run (a folder with metrics.json) below RUNS into
benchmarks/records/NAME/, keeping the folder layout; `restore` copies them back below RUNS, where `raereid table`
counts each such run as done and trains only what is missing. Paths below the folder that holds RUNS (where the
table ran, beside its DATA_A / DATA_B) are kept as `{base}/...` and put back below the folder that holds the RUNS
restored into, so records move between machines and folders. Checkpoints are not kept: a source stage that a
missing row starts from is trained again first (experiments/run.py). Translated data sets (translated-DRAW/) are not
kept either: the table script translates again when a row needs them. `save` also keeps a digest of each draw the runs
read (draws.json: the files' bytes and names); `restore` says so when the draw beside RUNS is another one, since runs
trained on it will not match the kept ones.

    python benchmarks/records.py save RUNS learners       # RUNS/**/metrics.json -> benchmarks/records/learners/
    python benchmarks/records.py restore learners RUNS    # and back, before `raereid table ... --out RUNS`
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import sys
from pathlib import Path

from raereid.atomic import write_text
from raereid.engine.run_folder import CONFIG, LOG, METRICS
from raereid.experiments.plan import translate_folder
from raereid.experiments.state import RECORD

RECORDS = Path(__file__).resolve().parent / "records"
KEPT = (RECORD, CONFIG, METRICS, LOG)
TRANSLATED = translate_folder(Path(), "").name  # the prefix of a translated data set's folder
BASE = "{base}/"  # the folder that held RUNS, in the kept files
DRAWS = "draws.json"  # beside the kept runs: {draw folder name: digest of its files}


def draw_digest(root: Path) -> str:
    """SHA-256 over every file below `root` (its path relative to root and its bytes' SHA-256), in path order."""
    root = root.resolve()
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        digest.update(f"{path.relative_to(root).as_posix()}\0{hashlib.sha256(path.read_bytes()).hexdigest()}\n".encode())
    return digest.hexdigest()


def draws_read(kept: Path, base: Path, runs: Path) -> dict[str, str]:
    """The digest of each folder beside RUNS that the kept configs read as their data root (`data.root:
    {base}/NAME`, the draws). Other folders they name -- the run folders a table reused (`train.init`), its own
    output -- are runs, not draws, and change as runs are added."""
    text = "".join(p.read_text(encoding="utf-8") for p in kept.rglob(CONFIG))
    names = sorted(set(re.findall(r"^  root: " + re.escape(BASE) + r"([^/\s'\"]+)/?\s*$", text, re.MULTILINE))
                   - {runs.name})
    return {name: draw_digest(base / name) for name in names if (base / name).is_dir()}


def check_draws(kept: Path, base: Path, runs: Path, saving: bool) -> int:
    """Saving: add the draws' digests to draws.json, refusing one that differs from the kept digest. Restoring:
    compare the draws beside RUNS with the kept digests. Prints each mismatch; returns 1 on one, else 0."""
    path = kept / DRAWS
    known = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    now = draws_read(kept, base, runs) if saving else {
        name: draw_digest(base / name) for name in known if (base / name).is_dir()}
    differ = sorted(name for name in now if name in known and known[name] != now[name])
    for name in differ:
        print(f"error: the draw {base / name} is not the one the kept runs ran on ({DRAWS}: {known[name][:12]}..., "
              f"here: {now[name][:12]}...): runs trained on it will not match the kept ones; "
              + ("save these runs under another NAME" if saving else
                 "make the draw again with the raereid synth version and seed named in its synth.json, or keep "
                 "this table's new runs apart"), file=sys.stderr)
    if saving and now.keys() - known.keys():
        write_text(path, json.dumps({**now, **known}, indent=2, sort_keys=True) + "\n")
    return 1 if differ else 0


def finished_runs(runs: Path) -> list[Path]:
    """The folders below `runs` that hold a finished run (metrics.json), translated data sets left out."""
    return sorted(p.parent for p in runs.rglob(METRICS)
                  if not any(part.startswith(TRANSLATED) for part in p.relative_to(runs).parts))


def copy_records(src_root: Path, dst_root: Path, folders: list[Path], old: str | None = None,
                 new: str | None = None) -> tuple[int, list[str]]:
    """Copy KEPT of each folder (relative to src_root) to the same place below dst_root, with the text `old` replaced
    by `new` when given; a file that already exists there with other content is left alone and named in the
    returned conflicts."""
    copied, conflicts = 0, []
    for folder in folders:
        rel = folder.relative_to(src_root)
        for name in KEPT:
            src, dst = folder / name, dst_root / rel / name
            if not src.is_file():
                continue
            text = src.read_text(encoding="utf-8")
            if old is not None and new is not None:
                text = text.replace(old, new)
            if dst.is_file():
                if dst.read_text(encoding="utf-8") != text:
                    conflicts.append(str(dst))
                continue
            write_text(dst, text)
            copied += 1
    return copied, conflicts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="action", required=True)
    save = sub.add_parser("save", help="copy the records of RUNS's finished runs to benchmarks/records/NAME")
    save.add_argument("runs", type=Path)
    save.add_argument("name")
    restore = sub.add_parser("restore", help="copy benchmarks/records/NAME's records back below RUNS")
    restore.add_argument("name")
    restore.add_argument("runs", type=Path)
    args = parser.parse_args(argv)
    kept = RECORDS / args.name
    src, dst = (args.runs, kept) if args.action == "save" else (kept, args.runs)
    if not src.is_dir():
        print(f"error: {src} is not a folder: give the --out folder of `raereid table` (save) or the name of a "
              f"folder in {RECORDS} (restore)", file=sys.stderr)
        return 2
    base = os.path.dirname(os.path.abspath(args.runs)) + "/"  # the folder the table ran from, beside its draws
    folders = finished_runs(src)
    old, new = (base, BASE) if args.action == "save" else (BASE, base)
    copied, conflicts = copy_records(src, dst, folders, old, new)
    print(f"{args.action}: {len(folders)} finished runs, {copied} files copied from {src} to {dst}")
    for path in conflicts:
        print(f"error: {path} exists with other content; not replaced (remove it to take the other copy)",
              file=sys.stderr)
    other_draw = check_draws(kept, Path(base), args.runs.resolve(), saving=args.action == "save")
    return 1 if conflicts or other_draw else 0


if __name__ == "__main__":
    sys.exit(main())
