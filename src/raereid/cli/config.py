"""The config keys and the presets, without running anything.

  raereid config --list [SECTION_OR_WORD]     every key: its default, its meaning and the values it accepts
  raereid config --show [PRESET_OR_FILE] [--set KEY=VALUE ...]
                                              the resolved config as YAML (every key), as `train --print-config`
  raereid config --list-presets               the presets, by the command that uses them
"""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from raereid.cli.common import add_set_argument

    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--list", nargs="?", const="", metavar="SECTION_OR_WORD",
                      help="list every key (of a section, or whose name, meaning or rule holds the word)")
    what.add_argument("--show", nargs="?", const="", metavar="PRESET_OR_FILE",
                      help="print the resolved config of a preset or YAML file (without one: the defaults)")
    what.add_argument("--list-presets", action="store_true", help="print the presets and exit")
    add_set_argument(parser, "with --show: override a config key")


def run(args: argparse.Namespace) -> int:
    from raereid.adapt.checks import name_rules
    from raereid.cli.common import command_config, print_config, print_presets
    from raereid.config.keys import format_key_table, key_table
    from raereid.errors import ConfigError

    if args.list_presets:
        return print_presets()
    if args.show is None:
        if args.overrides:
            raise ConfigError("--set needs --show", fix="raereid config --show PRESET_OR_FILE --set KEY=VALUE")
        rows = key_table(args.list, name_rules())
        if not rows:
            raise ConfigError(f"no config key matches {args.list!r}", fix="raereid config --list shows every key")
        print(format_key_table(rows))
        return 0
    args.config = args.show or None
    return print_config(command_config(args, "config", {}))
