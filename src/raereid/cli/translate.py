"""Translate the source dataset into the target's style with CycleGAN (Table IV's pre-pixel transfer, P^T).

Trains the translator (progress bar, OUT/translator/checkpoints/last.pt and config.yaml, --resume like train), then
writes the translated source as a dataset in the source's own layout and file names under
OUT/<source folder>/ (every split, so `raereid datasets` counts it like the source), OUT/translations.png
and OUT/translate.json. Train on it with `raereid train --source OUT/<source folder> ...`.
"""

from __future__ import annotations

import argparse
import json
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from raereid.cli import common
    from raereid.config.schema import TranslateConfig

    paper = TranslateConfig()  # the defaults: paper scale
    scale = f"{paper.iterations:,} iterations at {paper.height}x{paper.width}"
    common.add_config_arguments(parser, "translate", f"a preset (translate-synthetic for CPUs, translate-paper for "
                                f"GPUs) or a YAML file; default: the translate section's defaults, which are paper "
                                f"scale ({scale}: hours on a GPU)")
    common.add_data_root_argument(parser, "folder holding the datasets (data.root)")
    parser.add_argument("--source", help="dataset to translate, a name or a folder (data.source)")
    parser.add_argument("--target",
                        help="dataset whose style to translate into, a name or a folder of images (data.target)")
    common.add_output_argument(parser, "folder to write OUT/<source folder>/, translations.png, translate.json and "
                               "translator/ (the translator's run folder, with its config.yaml) into")
    parser.add_argument("--seed", type=int, help="random seed (train.seed)")
    common.add_device_argument(parser, None, f"{common.DEVICE_HELP} (train.device; default: the config's, auto)")
    parser.add_argument("--resume", action="store_true",
                        help="continue from OUT/translator/checkpoints/last.pt if it exists")


FLAGS = {"data.root": "data_root", "data.source": "source", "data.target": "target", "train.seed": "seed",
         "train.device": "device"}


def run(args: argparse.Namespace) -> int:
    from raereid.cli.common import command_config, print_config, print_presets
    from raereid.errors import ConfigError

    if args.list_presets:
        return print_presets("translate")
    cfg = command_config(args, "translate", FLAGS)
    if args.print_config:
        return print_config(cfg)
    if not args.out:
        raise ConfigError("no output folder given",
                          fix="pass --out FOLDER (the translated dataset is written into it)")
    if not args.config:
        t = cfg.translate
        print(f"raereid translate: no --config, so the paper-scale defaults: {t.iterations:,} iterations at "
              f"{t.height}x{t.width} (on a CPU: --config translate-synthetic)", file=sys.stderr)
    from raereid.engine.train_loop import Interrupted
    from raereid.translator.apply import run_translation

    try:
        manifest = run_translation(cfg, args.out, resume=args.resume)
    except Interrupted as stop:
        print(f"raereid translate: {stop}; continue with the same command plus --resume", file=sys.stderr)
        return 130
    shown = ("dataset", "iterations", "seconds_train", "seconds_write", "picture", "stats")
    print(json.dumps({k: manifest[k] for k in shown}, indent=2))
    print(f"train on it with: raereid train --source {args.out.rstrip('/')}/{manifest['dataset']} ...",
          file=sys.stderr)
    return 0
