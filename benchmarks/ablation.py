"""Train ablation rows from one direct-transfer model, several seeds each, and print their table.

Every row is `raereid train --config synthetic` (or --config) of a variant plus overrides, started from
the same `train.init` for the same number of iterations, one thread per run (float results then do
not depend on machine load), `--jobs` runs at a time. A row whose metrics.json exists is not trained
again, so an interrupted ablation continues where it stopped. The table gives mAP per seed, the mean
and the spread (max - min), rank-1 and the pseudo-label ARI of the first and last clustering of the
first seed (from train.log; analysis only).

    python benchmarks/ablation.py --data DATA --init runs/direct/model.pt --out runs/ablation --seeds 0 1 \
        --row "classifier baseline=baseline" --row "memory full=full learner.name=memory"
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path


def parse_row(text: str) -> tuple[str, str, list[str]]:
    """'LABEL=VARIANT key=value ...' -> (label, variant, overrides)."""
    label, _, rest = text.partition("=")
    variant, *sets = rest.split()
    return label.strip(), variant, sets


def row_folder(args: argparse.Namespace, label: str) -> Path:
    """The folder of a row's runs (one seedN/ per seed), named after its label."""
    return Path(args.out) / re.sub(r"[^A-Za-z0-9+.-]+", "_", label)


def run_one(args: argparse.Namespace, label: str, variant: str, sets: list[str], seed: int) -> Path:
    out = row_folder(args, label) / f"seed{seed}"
    if (out / "metrics.json").is_file():
        return out
    cmd = [sys.executable, "-m", "raereid", "train", "--config", args.config, "--data-root", args.data, "--variant", variant,
           "--output", str(out), "--seed", str(seed), "--set", f"train.init={args.init}", "--set", f"optim.iterations={args.iterations}",
           "--set", "train.gap_picture=false", *[a for kv in [*args.set, *sets] for a in ("--set", kv)]]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    with open(out / "stderr.log", "w") as err:
        code = subprocess.call(cmd, env=env, stdout=subprocess.DEVNULL, stderr=err)
    print(f"[ablation] {label} seed {seed}: exit {code} after {time.perf_counter() - started:.0f} s", flush=True)
    return out


def ari_first_last(log: Path) -> str:
    """'first -> last' pseudo-label ARI of a run's clusterings, or '-'."""
    found = re.findall(r"ARI (-?[0-9.]+)", log.read_text()) if log.is_file() else []
    return f"{float(found[0]):.2f} -> {float(found[-1]):.2f}" if found else "-"


def table(args: argparse.Namespace, rows: list[tuple[str, str, list[str]]]) -> str:
    seeds = args.seeds
    head = ["row", *[f"mAP s{s}" for s in seeds], "mAP mean", "spread", *[f"R1 s{s}" for s in seeds], f"ARI s{seeds[0]}"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for label, _, _ in rows:
        base = row_folder(args, label)
        metrics = [json.loads((base / f"seed{s}" / "metrics.json").read_text()) if (base / f"seed{s}" / "metrics.json").is_file() else None
                   for s in seeds]
        maps = [m["mAP"] for m in metrics if m]
        cells = [label, *[f"{m['mAP']:.1f}" if m else "-" for m in metrics],
                 f"{sum(maps) / len(maps):.1f}" if maps else "-", f"{max(maps) - min(maps):.1f}" if len(maps) > 1 else "-",
                 *[f"{m['rank1']:.1f}" if m else "-" for m in metrics], ari_first_last(base / f"seed{seeds[0]}" / "train.log")]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="benchmark folder (raereid synth --out)")
    parser.add_argument("--init", required=True, help="direct-transfer model.pt every row starts from")
    parser.add_argument("--out", required=True, help="folder of the runs (one subfolder per row and seed)")
    parser.add_argument("--config", default="synthetic")
    parser.add_argument("--iterations", type=int, default=250)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--jobs", type=int, default=2, help="runs at a time (one thread each)")
    parser.add_argument("--row", action="append", required=True, help="'LABEL=VARIANT key=value ...'")
    parser.add_argument("--set", action="append", default=[], help="override for every row")
    parser.add_argument("--table-only", action="store_true", help="print the table of finished runs, train nothing")
    args = parser.parse_args()
    rows = [parse_row(r) for r in args.row]
    if not args.table_only:
        jobs = [(label, variant, sets, seed) for seed in args.seeds for label, variant, sets in rows]
        with ThreadPoolExecutor(max_workers=args.jobs) as pool:
            list(pool.map(lambda j: run_one(args, *j), jobs))
    print(table(args, rows))


if __name__ == "__main__":
    main()
