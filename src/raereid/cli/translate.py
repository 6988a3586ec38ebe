"""Translate the source dataset into the target's style with CycleGAN (Table IV's pre-pixel transfer, P^T).

Trains the translator (progress bar, OUT/translator/checkpoints/last.pt, --resume like train), then
writes the translated source as a dataset in the source's own layout and file names under
OUT/<source folder>/ (every split, so `raereid datasets` counts it like the source), OUT/translations.png
and OUT/translate.json. Train on it with `raereid train --source OUT/<source folder> ...`.
"""

from __future__ import annotations

import argparse
import json
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", help="a preset (translate-synthetic for CPUs, translate-paper for GPUs) or a YAML file; "
                        "default: the paper-scale values of the translate section")
    parser.add_argument("--data-root", help="folder holding the datasets (data.root)")
    parser.add_argument("--source", help="dataset to translate, a name or a folder (data.source)")
    parser.add_argument("--target", help="dataset whose style to translate into, a name or a folder of images (data.target)")
    parser.add_argument("--output", required=True, help="folder to write OUT/<source folder>/, translations.png, translate.json and translator/ into")
    parser.add_argument("--seed", type=int, help="random seed (train.seed)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override a config key, e.g. --set translate.iterations=400")
    parser.add_argument("--resume", action="store_true", help="continue from OUT/translator/checkpoints/last.pt if it exists")


def run(args: argparse.Namespace) -> int:
    from raereid.config import load_config
    from raereid.engine.train_loop import Interrupted
    from raereid.tools.translate import run_translation

    flags = {"data.root": args.data_root, "data.source": args.source, "data.target": args.target, "train.seed": args.seed}
    cfg = load_config(args.config, [f"{k}={v}" for k, v in flags.items() if v is not None] + list(args.overrides))
    try:
        manifest = run_translation(cfg, args.output, resume=args.resume)
    except Interrupted as stop:
        print(f"raereid translate: {stop}; continue with the same command plus --resume", file=sys.stderr)
        return 130
    print(json.dumps({k: manifest[k] for k in ("dataset", "iterations", "seconds_train", "seconds_write", "picture", "stats")}, indent=2))
    print(f"train on it with: raereid train --source {args.output.rstrip('/')}/{manifest['dataset']} ...", file=sys.stderr)
    return 0
