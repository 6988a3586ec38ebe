"""The demo: generate the synthetic cross-domain benchmark if absent, train direct transfer, the
clustering baseline and full RAE on the CPU, print a Table-IV-style table and save it with a picture
of target images next to their source-style reconstructions.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

VARIANTS = ("direct", "baseline", "full")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", default="demo_output", help="output folder (default: demo_output)")
    parser.add_argument("--data", default="demo_output/data", help="benchmark folder; generated there if absent")
    parser.add_argument("--scale", default="small", choices=("tiny", "small", "medium"), help="benchmark scale")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--variants", default=",".join(VARIANTS), help="comma-separated variants to train after direct")
    parser.add_argument("--adapt-iterations", type=int, default=250, help="iterations of each adapted variant (from direct)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override a key of the synthetic preset for every run")


def format_table(rows: list[dict]) -> str:
    """Rows of metrics.json as a plain-text table like the paper's Table IV."""
    lines = [f"{'variant':<10}{'R1':>7}{'R5':>7}{'R10':>7}{'mAP':>7}{'mINP':>7}{'iters':>7}{'time':>8}"]
    for r in rows:
        lines.append(
            f"{r['variant']:<10}{r['rank1']:>7.1f}{r['rank5']:>7.1f}{r['rank10']:>7.1f}{r['mAP']:>7.1f}"
            f"{r['mINP']:>7.1f}{r['iterations']:>7}{r['seconds']:>7.0f}s"
        )
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from raereid.cli import paths
    from raereid.config import load_config
    from raereid.data.registry import load_dataset
    from raereid.data.synth import generate
    from raereid.engine.model_io import load_model
    from raereid.engine.runtime import setup_runtime
    from raereid.cli.train import build_trainer
    from raereid.errors import ConfigError
    from raereid.tools.reconstruct import reconstruct, reconstruction_sheet

    started = time.perf_counter()
    if args.adapt_iterations < 1:
        raise ConfigError(f"--adapt-iterations must be at least 1, got {args.adapt_iterations}", fix="pass e.g. --adapt-iterations 250")
    paths.output_folder(args.data, "--data")
    paths.output_folder(args.out, "--out", paths.inputs(data_root=args.data))
    out, data = Path(args.out), Path(args.data).resolve()  # checkpoints record an absolute data root
    variants = ["direct"] + [v for v in args.variants.split(",") if v and v != "direct"]
    configs = {}
    for variant in variants:  # every run's config and output checked before anything is generated or trained
        overrides = [f"data.root={data}", f"train.variant={variant}", f"train.output={out / variant}", f"train.seed={args.seed}"]
        if variant != "direct":
            overrides += [f"train.init={out / 'direct' / 'model.pt'}", f"optim.iterations={args.adapt_iterations}"]
        configs[variant] = cfg = load_config("synthetic", overrides + list(args.overrides))
        paths.output_folder(cfg.train.output, "--out", entries=paths.RUN_ENTRIES)
    if not (data / "synth.json").is_file():
        print(f"[demo] generating the synthetic benchmark ({args.scale}) in {data}", flush=True)
        generate(data, seed=args.seed, scale=args.scale)
    else:
        print(f"[demo] reusing the synthetic benchmark in {data}", flush=True)
    runtime = setup_runtime("cpu")
    rows = []
    for variant, cfg in configs.items():
        print(f"[demo] training {variant} ({cfg.optim.iterations} iterations)", flush=True)
        rows.append(build_trainer(cfg, runtime).train())
        print(format_table(rows[-1:]).splitlines()[1], flush=True)
    table = format_table(rows)
    (out / "table.txt").write_text(table + "\n", encoding="utf-8")
    (out / "table.json").write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")
    last = variants[-1]
    trained = load_model(out / last / "model.pt")
    picture = None
    if trained.model.decoder is not None:
        src, tgt = (load_dataset(name, trained.cfg.data.root) for name in (trained.cfg.data.source, trained.cfg.data.target))
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
    from raereid.report.demo import demo_report

    print(f"[demo] report: {demo_report(out).resolve()}", flush=True)
    print(f"[demo] done in {time.perf_counter() - started:.0f} s")
    return 0
