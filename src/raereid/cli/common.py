"""What the commands share: one spelling per flag (--out, --data-root, --device, --checkpoint, --config, --set),
the help format (defaults shown), the config keys each command reads, and the preamble of the commands that open a
trained model.

Light on purpose: `raereid --help` imports every command module, so torch is imported only inside functions.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from raereid.config.schema import Config
    from raereid.inference.model_io import TrainedModel

DEVICE_HELP = "auto | cpu | cuda | cuda:N"
CHECKPOINT_HELP = "model.pt or checkpoints/last.pt written by raereid train"


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Descriptions as written; every flag's default at the end of its help (unless None, False or empty, or the help
    already says it)."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        default = action.default
        if "default" in text or default is None or default is False or default == argparse.SUPPRESS or default == []:
            return text
        return f"{text} (default: %(default)s)"


def flag_of(dest: str) -> str:
    """The command-line flag that sets `dest` (`data_root` -> `--data-root`)."""
    return "--" + dest.replace("_", "-")


def add_checkpoint_argument(parser: argparse.ArgumentParser, required: bool = True,
                            help: str = CHECKPOINT_HELP) -> None:
    parser.add_argument("--checkpoint", required=required, help=help)


def add_device_argument(parser: argparse.ArgumentParser, default: str | None = "auto",
                        help: str = DEVICE_HELP) -> None:
    parser.add_argument("--device", default=default, help=help)


def add_model_arguments(parser: argparse.ArgumentParser, checkpoint_help: str = CHECKPOINT_HELP) -> None:
    """--checkpoint (required) and --device: the model a command runs."""
    add_checkpoint_argument(parser, help=checkpoint_help)
    add_device_argument(parser)


def add_output_argument(parser: argparse.ArgumentParser, help: str, required: bool = False,
                        default: str | None = None) -> None:
    """--out, the file or folder a command writes."""
    parser.add_argument("--out", dest="out", required=required, default=default, help=help)


def add_data_root_argument(parser: argparse.ArgumentParser, help: str = "folder holding the datasets (default: the "
                           "checkpoint's data.root)", required: bool = False, default: str | None = None) -> None:
    """--data-root, the folder holding the datasets."""
    parser.add_argument("--data-root", dest="data_root", required=required, default=default, help=help)


class SetAction(argparse.Action):
    """`--set KEY=VALUE` or `--set KEY VALUE` (the yacs / OpenUnReID habit), several after one --set; repeatable."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any):
        super().__init__(option_strings, dest, nargs="+", **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any,
                 option_string: str | None = None) -> None:
        items, tokens = list(getattr(namespace, self.dest, None) or []), list(values)
        while tokens:
            token = tokens.pop(0)
            if "=" in token:
                items.append(token)
            elif tokens:
                items.append(f"{token}={tokens.pop(0)}")
            else:
                parser.error(f"--set {token}: no value (write --set {token}=VALUE or --set {token} VALUE)")
        setattr(namespace, self.dest, items)


def add_set_argument(parser: argparse.ArgumentParser, what: str = "override a config key") -> None:
    parser.add_argument("--set", dest="overrides", action=SetAction, default=[], metavar="KEY=VALUE",
                        help=f"{what}: --set optim.iterations=500 or --set optim.iterations 500; repeatable "
                        "(raereid config --list shows every key)")


def add_config_arguments(parser: argparse.ArgumentParser, command: str, config_help: str) -> None:
    """--config, --list-presets, --set and --print-config of a command that builds a config."""
    parser.add_argument("--config", metavar="PRESET_OR_FILE", help=config_help)
    parser.add_argument("--list-presets", action="store_true", help=f"print the presets of raereid {command} and exit")
    add_set_argument(parser)
    parser.add_argument("--print-config", action="store_true",
                        help="print the resolved config (every key) as YAML and exit, without reading any data")


# ------------------------------------------------------------------ the config keys each command reads
@dataclass(frozen=True)
class Uses:
    """The config keys a command reads: `only` these sections / keys, or every section but `all_but`."""

    only: tuple[str, ...] = ()
    all_but: tuple[str, ...] = ()

    def reads(self, key: str) -> bool:
        section = key.split(".")[0]
        return key in self.only or section in self.only if self.only else section not in self.all_but

    def describe(self) -> str:
        if self.only:
            return ", ".join(k if "." in k else f"{k}.*" for k in self.only)
        return "every section but " + ", ".join(f"{s}.*" for s in self.all_but)


USES: dict[str, Uses] = {
    "train": Uses(all_but=("translate",)),
    "demo": Uses(all_but=("translate",)),  # its --set goes to every run it trains
    "translate": Uses(only=("data.root", "data.source", "data.target", "train.seed", "train.device", "translate",
                            "custom_imports")),
    "config": Uses(),  # raereid config --show: any key
}


def refuse_unused(command: str, overrides: Sequence[str | tuple[str, str]]) -> None:
    """A --set (or flag) of a key `command` does not read would change nothing: refuse it, naming the keys it reads.
    Unknown keys are left to `load_config`, which suggests the closest."""
    from raereid.config.loader import parse_override
    from raereid.config.schema import Config, flat_values
    from raereid.errors import ConfigError

    uses, known = USES[command], flat_values(Config())
    for item in overrides:
        text, where = (item, f"--set {item}") if isinstance(item, str) else item
        key = parse_override(text)[0]
        if key in known and not uses.reads(key):
            name = key.split(".")[1]
            alike = [k for k in known if k.split(".")[1] == name and uses.reads(k)]
            hint = f"; did you mean {' or '.join(alike)}?" if alike else ""
            raise ConfigError(f"raereid {command} does not use {key}, so {where} would change nothing{hint}",
                              where=where, fix=f"raereid {command} reads {uses.describe()}; drop this --set")


def flag_overrides(args: argparse.Namespace, flags: Mapping[str, str]) -> list[tuple[str, str]]:
    """The given flags of `flags` ({config key: dest}) as (key=value, how it was typed) overrides."""
    return [(f"{key}={getattr(args, dest)}", f"{flag_of(dest)} {getattr(args, dest)}")
            for key, dest in flags.items() if getattr(args, dest, None) is not None]


def command_config(args: argparse.Namespace, command: str, flags: Mapping[str, str]) -> Config:
    """The config of a command: --config, then its flags, then --set (which win); keys it does not read refused;
    checked (ranges, then the registries' names) before anything is read or written."""
    from raereid.adapt.checks import check_names
    from raereid.config import load_config

    overrides = [*flag_overrides(args, flags), *args.overrides]
    refuse_unused(command, overrides)
    return check_names(load_config(args.config, overrides))


def print_presets(command: str | None = None) -> int:
    from raereid.config.catalog import format_presets

    print(format_presets(command))
    return 0


def print_config(cfg: Config) -> int:
    from raereid.config.resolved import config_yaml

    sys.stdout.write(config_yaml(cfg))
    return 0


# ------------------------------------------------------------------ commands that open a trained model
def open_model_and_root(args: argparse.Namespace) -> tuple[TrainedModel, str | None]:
    """The preamble of a command reading a model and datasets: the model of --checkpoint on --device, the data root
    (--data-root, else the checkpoint's when it exists here), and --out (if any) checked to lie outside it."""
    from raereid.cli import paths
    from raereid.tools.inputs import data_root, open_model

    trained = open_model(args.checkpoint, args.device)
    root = data_root(args.data_root, trained)
    if getattr(args, "out", None):
        paths.outside(args.out, "--out", paths.inputs(data_root=root))
    return trained, root
