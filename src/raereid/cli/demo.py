"""The demo: generate the synthetic cross-domain benchmark if absent, train direct transfer (the recipe's source
stage: Enc on the source ids, Dec on source images), then the adapted runs, all from the direct model, on the CPU;
print a Table-IV-style table and save it with a picture of target and source images next to their reconstructions
by full RAE, and an HTML report of every run.

Direct transfer trains in this process; the adapted runs are `raereid train` processes on one thread
each, `--jobs` at a time: on a 2-core machine two one-thread runs finish sooner than two two-thread
runs in a row, and a one-thread run gives the same numbers whatever else the machine is doing.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

BASE_PRESET = "synthetic"
# Each run: VARIANT or VARIANT@PRESET (a preset building on the synthetic one, e.g. with another learner);
# the default: the clustering baseline and full RAE (the learner table is docs/results-synthetic.md's).
RUNS = ("direct", "baseline", "full")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from raereid.cli.common import add_data_root_argument, add_output_argument, add_set_argument

    add_output_argument(parser, "output folder", default="demo_output")
    add_data_root_argument(parser, "benchmark folder (a data root); generated there if absent",
                           default="demo_output/data")
    parser.add_argument("--scale", default="small", choices=("tiny", "small", "medium"), help="benchmark scale")
    parser.add_argument("--seed", type=int, default=0, help="random seed of the benchmark and of every run")
    parser.add_argument("--runs", default=",".join(RUNS[1:]),
                        help="comma-separated VARIANT or VARIANT@PRESET to train after direct, e.g. "
                        "baseline,full,full@synthetic-memory")
    parser.add_argument("--adapt-iterations", type=int, default=150,
                        help="iterations of each adapted run, from direct (150 so that the demo fits 15 minutes on 2 "
                        "cores; the results tables of docs/results-synthetic.md use 250)")
    parser.add_argument("--jobs", type=int, default=2, help="adapted runs trained at a time, one thread each")
    add_set_argument(parser, "override a key of the presets for every run")


def parse_runs(text: str) -> list[tuple[str, str, str]]:
    """'baseline,full@synthetic-memory' -> [(run name, variant, preset)], direct first; a run's folder is its name."""
    runs = [("direct", "direct", BASE_PRESET)]
    for item in filter(None, (t.strip() for t in text.split(","))):
        variant, _, preset = item.partition("@")
        preset = preset or BASE_PRESET
        name = variant if preset == BASE_PRESET else f"{variant}-{preset.removeprefix(BASE_PRESET + '-')}"
        if variant != "direct" and name not in {r[0] for r in runs}:
            runs.append((name, variant, preset))
    return runs


def train_process(name: str, preset: str, overrides: list[str], output: Path) -> dict:
    """`raereid train --config PRESET --set ...` on one thread, writing to `output`; its progress and warnings are
    printed prefixed with `name`. Returns its metrics.json (read as a MetricsRecord)."""
    from raereid.errors import TrainingError

    cmd = [sys.executable, "-m", "raereid", "train", "--config", preset,
           *[a for kv in overrides for a in ("--set", kv)]]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1)
    tail: list[str] = []
    assert proc.stdout is not None
    for line in proc.stdout:
        tail = (tail + [line.rstrip()])[-20:]
        if line.startswith(("[raereid] source ", "[raereid] adapt ", "[raereid] WARNING", "raereid train:")):
            print(f"[{name}] {line.rstrip()}", flush=True)
    if proc.wait() == 130:
        raise KeyboardInterrupt
    if proc.returncode != 0:
        raise TrainingError(f"the {name} run failed (exit {proc.returncode}):\n" + "\n".join(tail),
                            fix="see its train.log")
    from raereid.engine.run_folder import RunFolder
    from raereid.inference.metrics import MetricsRecord

    return MetricsRecord.read(RunFolder(output).metrics).to_json()


def format_table(rows: list[dict]) -> str:
    """Rows of metrics.json (with the run's name) as a plain-text table like the paper's Table IV; PSNR is that of
    the source's test images reconstructed by Dec(Enc(I)) (dB; "-" without a decoder)."""
    lines = [f"{'run':<16}{'learner':<12}{'R1':>7}{'R5':>7}{'R10':>7}{'mAP':>7}{'mINP':>7}{'PSNR':>7}{'iters':>7}"
             f"{'time':>8}"]
    for r in rows:
        psnr = f"{r['psnr_source']:>7.1f}" if r.get("psnr_source") is not None else f"{'-':>7}"
        lines.append(
            f"{r.get('run', r['variant']):<16}{r.get('learner', 'classifier'):<12}{r['rank1']:>7.1f}{r['rank5']:>7.1f}"
            f"{r['rank10']:>7.1f}{r['mAP']:>7.1f}{r['mINP']:>7.1f}{psnr}{r['iterations']:>7}{r['seconds']:>7.0f}s"
        )
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from raereid.adapt.checks import check_names
    from raereid.cli import paths
    from raereid.cli.common import refuse_unused
    from raereid.cli.train import train
    from raereid.config import config_to_dict, load_config
    from raereid.data.registry import load_dataset
    from raereid.engine.run_folder import RunFolder, record_command, shell_command
    from raereid.engine.runtime import setup_runtime
    from raereid.errors import ConfigError
    from raereid.inference.model_io import load_model
    from raereid.report.build import write_report
    from raereid.report.command import equivalent_train_command
    from raereid.sheets import reconstruction_sheet
    from raereid.synth import generate
    from raereid.tools.reconstruct import reconstruct

    started = time.perf_counter()
    if args.adapt_iterations < 1:
        raise ConfigError(f"--adapt-iterations must be at least 1, got {args.adapt_iterations}",
                          fix="pass e.g. --adapt-iterations 250")
    refuse_unused("demo", args.overrides)
    paths.output_folder(args.data_root, "--data-root")
    paths.output_folder(args.out, "--out", paths.inputs(data_root=args.data_root))
    out, data = Path(args.out), Path(args.data_root).resolve()  # checkpoints record an absolute data root
    runs = parse_runs(args.runs)
    if args.jobs < 1:
        raise ConfigError(f"--jobs must be at least 1, got {args.jobs}", fix="pass e.g. --jobs 2")
    configs, overrides_of = {}, {}
    for name, variant, preset in runs:  # every run's config and output checked before anything is generated or trained
        overrides = [f"data.root={data}", f"train.variant={variant}", f"train.output={(out / name).resolve()}",
                     f"train.seed={args.seed}"]
        if variant != "direct":
            overrides += [f"train.init={RunFolder(out / 'direct').model.resolve()}",
                          f"optim.iterations={args.adapt_iterations}"]
        overrides_of[name] = overrides + list(args.overrides)
        configs[name] = cfg = check_names(load_config(preset, overrides_of[name]))
        paths.output_folder(cfg.train.output, "--out", entries=paths.RUN_ENTRIES)
    previous = [name for name, _, _ in runs if RunFolder(configs[name].train.output).run_entries()]
    if previous:  # the demo trains its runs again from scratch: the ones of an earlier demo are replaced
        print(f"[demo] replacing the runs of an earlier demo in {out}: {', '.join(previous)}", flush=True)
        for name in previous:
            RunFolder(configs[name].train.output).clear()
    if not (data / "synth.json").is_file():
        print(f"[demo] generating the synthetic benchmark ({args.scale}) in {data}", flush=True)
        generate(data, seed=args.seed, scale=args.scale)
    else:
        print(f"[demo] reusing the synthetic benchmark in {data}", flush=True)
    direct = configs["direct"]
    print(f"[demo] training direct, the source stage ({direct.source.iterations} iterations)", flush=True)
    rows = {"direct": {"run": "direct", **train(direct, setup_runtime("cpu"))}}
    record_command(direct.train.output, shell_command(equivalent_train_command(config_to_dict(direct), "synthetic")))
    print(format_table([rows["direct"]]).splitlines()[1], flush=True)
    adapted = sorted(runs[1:], key=lambda r: r[1] != "full")  # the longest runs first
    print(f"[demo] training {', '.join(r[0] for r in adapted)}: {args.jobs} at a time, one thread each", flush=True)
    lock = threading.Lock()

    def adapt(run: tuple[str, str, str]) -> None:
        name, _, preset = run
        result = {"run": name, **train_process(name, preset, overrides_of[name], Path(configs[name].train.output))}
        with lock:
            rows[name] = result
            print(format_table([result]).splitlines()[1], flush=True)

    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        list(pool.map(adapt, adapted))
    rows = [rows[name] for name, _, _ in runs]
    table = format_table(rows)
    (out / "table.txt").write_text(table + "\n", encoding="utf-8")
    (out / "table.json").write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")
    pictured = next((n for n, v, p in runs if v == "full" and p == BASE_PRESET), runs[-1][0])
    trained = load_model(RunFolder(out / pictured).model)
    picture = None
    if trained.model.decoder is not None:
        src, tgt = (load_dataset(name, trained.cfg.data.root)
                    for name in (trained.cfg.data.source, trained.cfg.data.target))
        h, w = trained.cfg.data.height, trained.cfg.data.width
        picture = reconstruction_sheet(
            {
                f"target\n({tgt.name})": reconstruct(trained.model, [r.path for r in tgt.query[:10]], h, w),
                f"source\n({src.name})": reconstruct(trained.model, [r.path for r in src.query[:10]], h, w),
            },
            out / "reconstructions.png",
        )
    print(f"\nsynthetic {rows[0]['source']} -> {rows[0]['target']}, target query/gallery (percent):\n{table}")
    print(f"\n[demo] table: {out / 'table.txt'}" + (f"; reconstructions: {picture}" if picture else ""))
    report = write_report([out / name for name, _, _ in runs], out / "report", device="cpu")
    print(f"[demo] report: {report.resolve()}", flush=True)
    print(f"[demo] done in {time.perf_counter() - started:.0f} s")
    return 0
