"""The `raereid` command: one sub-command per job, each in its own module under `raereid.cli`."""

from __future__ import annotations

import argparse
import re
import sys
import traceback
import warnings
from collections.abc import Callable
from typing import Any

from raereid._version import __version__
from raereid.cli import (
    config,
    datasets,
    demo,
    evaluate,
    export,
    extract,
    gap,
    index,
    rank,
    reconstruct,
    report,
    search,
    select,
    synth,
    table,
    train,
    translate,
)
from raereid.cli.common import HelpFormatter
from raereid.errors import RaeReidError
from raereid.plugins import plugin_frame

# sub-command name -> (its module, defining add_arguments(parser) and run(args) -> int, importing nothing heavy at its
# top so that `raereid --help` stays fast; the help line)
COMMANDS = {
    "datasets": (datasets, "summarise every dataset found under a folder (Table I)"),
    "synth": (synth, "write the procedural cross-domain benchmark (synthetic Market/Duke-style datasets)"),
    "train": (train, "train a variant of RAE: the source stage, then adaptation (Algorithm 1)"),
    "config": (config, "every config key with its default, rule and meaning; a preset's resolved config"),
    "translate": (translate,
                  "translate the source into the target's style with CycleGAN (Table IV's pre-pixel transfer)"),
    "demo": (demo, "on the CPU: the synthetic benchmark, the source stage (direct transfer), then the clustering "
             "baseline and full RAE; results table, reconstructions, HTML report"),
    "evaluate": (evaluate, "mAP / mINP / rank-1/5/10 of a checkpoint on a dataset (optionally re-ranked)"),
    "extract": (extract, "descriptors of a folder, list file or dataset split into an .npz"),
    "rank": (rank, "pictures of ranked results (Fig. 4/5): query, top-k, green/red borders"),
    "reconstruct": (reconstruct, "picture of images next to their source-style reconstructions Dec(Enc(I))"),
    "export": (export, "export the inference pipeline (Algorithm 2) to ONNX, checked with onnxruntime"),
    "index": (index, "build a faiss search index over a gallery folder"),
    "search": (search, "query a gallery index with images: ranked table, optional picture"),
    "gap": (gap, "t-SNE picture of the domain gap before / after adaptation"),
    "report": (report, "one static HTML page of runs: metrics table, curves, ranked lists, pictures, configs"),
    "table": (table, "a results table from its rows file: trains the runs it lacks (one thread each), prints the "
              "table or writes it into a doc"),
    "select": (select, "rank finished runs, or the checkpoints along them, by a label-free score (no target labels)"),
}


IMPORT_HELP = ("import a plugin first (a module name or a .py file) whose @register_... decorators add learners, "
               "label generators, ...; repeatable; recorded in a trained model's config (custom_imports)")


def use_plugins(args: argparse.Namespace) -> None:
    """Import the --import modules now; commands that build a config (train, translate, demo) also record them
    there (`custom_imports.imports`), so the checkpoint imports them again wherever it is loaded."""
    from raereid.plugins import KEY, import_plugins

    given = [*args.imports, *getattr(args, "sub_imports", [])]
    if not given:
        return
    imported = import_plugins(given, "--import " + " --import ".join(given))
    if isinstance(getattr(args, "overrides", None), list):
        args.overrides.append(f"{KEY}={','.join(imported)}")


WORKFLOW = """\
the workflow on your data (DATA holds the datasets; `raereid COMMAND --help` for each):
  1. raereid datasets --data-root DATA                                   what is there (the paper's Table I)
  2. raereid train --config duke2market --data-root DATA --out runs/d2m  train (--list-presets; --print-config)
  3. raereid evaluate --checkpoint runs/d2m/model.pt                     mAP / rank-k on the target
  4. raereid rank --checkpoint runs/d2m/model.pt --out runs/d2m/ranked   ranked results (or: raereid report runs/d2m)
  5. raereid export --checkpoint runs/d2m/model.pt --out d2m.onnx        deploy (or: raereid index, raereid search)
on the CPU, without data: raereid demo"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="raereid", description="Unsupervised cross-dataset person re-ID with the Recurrent Auto-Encoder.",
        epilog=WORKFLOW, formatter_class=HelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"raereid {__version__}")
    parser.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
    parser.add_argument("--import", dest="imports", action="append", default=[], metavar="MODULE", help=IMPORT_HELP)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (mod, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=(mod.__doc__ or help_text).strip(),
                           formatter_class=HelpFormatter)
        p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="show full tracebacks on errors")
        p.add_argument("--import", dest="sub_imports", action="append", default=[], metavar="MODULE", help=IMPORT_HELP)
        mod.add_arguments(p)
        p.set_defaults(_run=mod.run)
    return parser


_WORKERS = re.compile(r"This DataLoader will create (\d+) worker processes in total\. Our suggested max number of "
                      r"worker in current system is (\d+)")


def readable_warning(message: str) -> str:
    """A library's warning as one line a user can act on (torch's DataLoader worker count names data.workers)."""
    workers = _WORKERS.search(message)
    if workers:
        many, cpus = workers.groups()
        return (f"data.workers asks for {many} data-loading processes but this process may use {cpus} CPUs: loading "
                f"can be slower than with --set data.workers={cpus}")
    return " ".join(message.split())


def _show_warnings_once(seen: set[str]) -> Callable[..., None]:
    """A `warnings.showwarning` that prints each warning once, as one `[raereid] WARNING ...` line (no source line)."""
    def show(message: Warning | str, category: type[Warning], filename: str, lineno: int, file: Any = None,
             line: str | None = None) -> None:
        text = readable_warning(str(message))
        if text not in seen:
            seen.add(text)
            print(f"[raereid] WARNING {text}", file=sys.stderr, flush=True)
    return show


def main(argv: list[str] | None = None) -> int:
    previous = warnings.showwarning
    warnings.showwarning = _show_warnings_once(set())
    try:
        return _main(argv)
    finally:
        warnings.showwarning = previous


def _main(argv: list[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    args._argv = list(sys.argv[1:] if argv is None else argv)  # what `raereid train` records in command.txt
    if not getattr(args, "command", None):
        parser.print_help()
        return 2
    try:
        use_plugins(args)
        return int(args._run(args) or 0)
    except RaeReidError as exc:
        if args.debug:
            traceback.print_exc()
        print(f"raereid {args.command}: error: {exc.message()}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"raereid {args.command}: interrupted", file=sys.stderr)
        return 130
    except OSError as exc:  # the machine's side: a full disk, a permission, a file removed while running
        if args.debug:
            traceback.print_exc()
        where = f"\n  where: {exc.filename}" if exc.filename else ""
        print(f"raereid {args.command}: error: {exc.strerror or exc}{where}\n  fix:   check the path, free space and "
              f"permissions (raereid --debug {args.command} ... shows the traceback)", file=sys.stderr)
        return 2
    except Exception as exc:  # noqa: BLE001 - a bug, or an input no check caught: one line, the traceback on request
        if args.debug:
            traceback.print_exc()
        in_plugin = plugin_frame(exc)
        if in_plugin is not None:  # the user's own code (--import, custom_imports): theirs to fix, named
            file, line, function = in_plugin
            print(f"raereid {args.command}: error in a plugin: {type(exc).__name__}: {exc}\n  where: {file}, line "
                  f"{line}, in {function}\n  fix:   fix the plugin's code (raereid --debug {args.command} ... shows "
                  "the traceback)", file=sys.stderr)
            return 2
        print(f"raereid {args.command}: unexpected error: {type(exc).__name__}: {exc}\n  this is a bug in raereid "
              f"or an unchecked input: run again as raereid --debug {args.command} ... and report the traceback",
              file=sys.stderr)
        return 1
