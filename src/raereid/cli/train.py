"""Train a variant of RAE (a row of the paper's Table IV; `--help` lists them) from a preset or YAML config.

The paper's recipe in one command: the source stage (Enc on the source ids, Dec on source images) into
OUTPUT/source/, then adaptation (Algorithm 1) from it into OUTPUT; --resume continues in either stage.
--variant direct trains the source stage alone; --set train.init=MODEL adapts from that model instead.

Every config key can be overridden with --set section.key=value (e.g. --set optim.iterations=500; `raereid config
--list` shows them). OUTPUT/config.yaml holds the resolved config, with absolute paths (train again with --config
OUTPUT/config.yaml --out NEW); at the end OUTPUT/metrics.json holds the target's mAP / rank-1/5/10 / mINP in percent,
and model.pt the weights (checkpoints/last.pt, the resume state, is removed then unless --keep-last).

An OUTPUT that holds a run is never trained into again by accident: --resume continues it, --overwrite starts it
again from scratch, and without either the command stops (exit code 2) before writing anything. SIGINT / SIGTERM
(Ctrl-C, a scheduler's preemption, to the process or to its whole group) save a checkpoint and exit with code 130.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from typing import TYPE_CHECKING

from raereid.engine.run_folder import RunFolder

if TYPE_CHECKING:
    from collections.abc import Callable

    from raereid.config.schema import Config
    from raereid.engine.runtime import Runtime


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from raereid.cli import common
    from raereid.config.schema import Config
    from raereid.config.variants import VARIANTS

    paper = Config()
    scale = f"{paper.optim.iterations:,} iterations at {paper.data.height}x{paper.data.width}"
    common.add_config_arguments(parser, "train", f"a preset (see --list-presets) or a YAML file (e.g. a run's "
                                f"config.yaml); keys it leaves out take the paper's values ({scale}: GPU scale; on a "
                                f"CPU: --config synthetic)")
    common.add_data_root_argument(parser, "folder holding the datasets (data.root)")
    parser.add_argument("--source", help="labeled source dataset (data.source)")
    parser.add_argument("--target", help="unlabeled target dataset, a name or a folder of images (data.target)")
    parser.add_argument("--variant", help=f"{' | '.join(VARIANTS)} (train.variant)")
    common.add_output_argument(parser, f"run folder (train.output; default: the config's, {paper.train.output})")
    parser.add_argument("--seed", type=int, help="random seed (train.seed)")
    common.add_device_argument(parser, None, f"{common.DEVICE_HELP} (train.device; default: the config's, "
                               f"{paper.train.device})")
    parser.add_argument("--resume", action="store_true",
                        help="continue the run in OUTPUT where it stopped (refused when there is nothing to resume)")
    parser.add_argument("--overwrite", action="store_true",
                        help="train from scratch into an OUTPUT that holds a run: its files are deleted first "
                        "(without --resume or --overwrite, such a folder is refused)")
    parser.add_argument("--keep-last", action="store_true",
                        help="keep OUTPUT/checkpoints/last.pt (with the optimisers' state, about twice model.pt) once "
                        "the run has finished, so that --resume with more iterations can train it longer")
    parser.add_argument("--nproc", type=int, default=1,
                        help="train with N processes (DDP) on this machine via torchrun")


FLAGS = {"data.root": "data_root", "data.source": "source", "data.target": "target", "train.variant": "variant",
         "train.output": "out", "train.seed": "seed", "train.device": "device"}


def overrides_from_args(args: argparse.Namespace) -> list[str | tuple[str, str]]:
    """The explicit flags as (key=value, flag) overrides, before the --set ones (which win)."""
    from raereid.cli.common import flag_overrides

    return [*flag_overrides(args, FLAGS), *args.overrides]


def train(cfg: Config, runtime: Runtime, resume: bool = False, started: Callable[[], None] = lambda: None,
          keep_last: bool = False) -> dict:
    """`raereid train`'s run: the source stage, then adaptation (adapt/recipe.py); the last stage's metrics.
    `started` runs once the first stage's data and config (and the later stages' data checks) passed."""
    from raereid.adapt.recipe import train_stages

    return train_stages(cfg, runtime, resume=resume, started=started, keep_last=keep_last)


def _stop_on_sigterm(signum: int, frame: object) -> None:
    """SIGTERM outside a training loop (loading data, between the stages): stop as Ctrl-C does (exit code 130)."""
    raise KeyboardInterrupt


def closing_lines(output: str) -> str:
    """Where the model is and what to run next."""
    folder = RunFolder(output)
    return (f"raereid train: done; the model is {folder.model}\n"
            f"  next: raereid evaluate --checkpoint {folder.model}   (or: raereid report {folder.path} --out "
            f"{folder / 'report'})")


def run(args: argparse.Namespace) -> int:
    from raereid.cli.common import command_config, print_config, print_presets
    from raereid.cli.paths import run_folder_use, training_paths
    from raereid.errors import ConfigError

    if args.list_presets:
        return print_presets("train")
    if not args.config:
        raise ConfigError("no config given",
                          fix="pass --config PRESET_OR_FILE (raereid train --list-presets shows the presets)")
    if args.nproc < 1:
        raise ConfigError(f"--nproc must be at least 1, got {args.nproc}", fix="pass --nproc 1 or more")
    cfg = command_config(args, "train", FLAGS)  # type and range checks, before any process starts
    if args.print_config:
        return print_config(cfg)
    training_paths(cfg)
    run_folder_use(cfg.train.output, resume=args.resume, overwrite=args.overwrite)
    from raereid.engine.run_folder import COMMAND_ENV, record_command, shell_command

    command = os.environ.get(COMMAND_ENV) or shell_command(args._argv)
    if args.nproc > 1:
        from raereid.cli.launch import launch_torchrun

        os.environ[COMMAND_ENV] = command  # the processes torchrun starts record the user's command, not theirs
        try:
            return launch_torchrun(args.nproc, sys.argv[1:])
        finally:
            os.environ.pop(COMMAND_ENV, None)

    from raereid.engine.runtime import setup_runtime, shutdown
    from raereid.engine.train_loop import Interrupted

    runtime = setup_runtime(cfg.train.device)
    began: list[bool] = []
    finished = False
    previous = signal.signal(signal.SIGTERM, _stop_on_sigterm)
    try:
        def started() -> None:
            began.append(True)
            if runtime.is_main:
                if args.overwrite:
                    RunFolder(cfg.train.output).clear()
                record_command(cfg.train.output, command, append=args.resume)

        metrics = train(cfg, runtime, resume=args.resume, started=started, keep_last=args.keep_last)
        finished = True
    except Interrupted as stop:
        if runtime.is_main:
            print(f"raereid train: {stop}; continue with the same command plus --resume", file=sys.stderr)
        return 130
    finally:
        signal.signal(signal.SIGTERM, previous)
        shutdown(runtime, finished)
    if runtime.is_main:
        print(json.dumps(metrics, indent=2))
        if not began:
            print(f"raereid train: the run in {cfg.train.output} had already finished; nothing to train (its "
                  "metrics.json is above)", file=sys.stderr)
        print(closing_lines(cfg.train.output), file=sys.stderr)
    return 0
