"""The resolved config as a reader sees it: YAML with every key (OUTPUT/config.yaml, `--print-config`,
`raereid config --show`), loadable again with `--config`, and the lines saying where it departs from the defaults.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import yaml

from raereid.atomic import write_text
from raereid.config.loader import config_to_dict
from raereid.config.schema import Config, flat_values
from raereid.config.validation import origins_of

HEADER = ("# The resolved config: every key, whatever set it (preset, file, flags, --set).\n"
          "# Load it again with --config {path} (and another --out to train into a new folder);\n"
          "# `raereid config --list` says what each key means.\n")


class _Dumper(yaml.SafeDumper):
    """Sections block-style, lists of values on one line ([64, 32])."""


_Dumper.add_representer(list, lambda dumper, data: dumper.represent_sequence("tag:yaml.org,2002:seq", data,
                                                                            flow_style=True))


def config_yaml(cfg: Config, header: str = "") -> str:
    """Every section and key of `cfg`, in schema order, as YAML that `load_config` reads back to the same values."""
    return header + yaml.dump(config_to_dict(cfg), Dumper=_Dumper, sort_keys=False, width=120)


def write_config(cfg: Config, path: str | Path) -> Path:
    """Write `config_yaml(cfg)` with a header naming the file, atomically (a killed run never leaves half a file)."""
    path = Path(path)
    return write_text(path, config_yaml(cfg, HEADER.format(path=path)))


def _shown(value: object) -> str:
    return ",".join(map(str, value)) if isinstance(value, list) else str(value)


def differences(cfg: Config, width: int = 116) -> list[str]:
    """Where `cfg` departs from the defaults, grouped by where each value came from: one wrapped line per preset or
    file (its keys), one per command-line flag or --set. Keys set on the command line are listed even when the value
    is the default's."""
    origins = origins_of(cfg)
    defaults = flat_values(Config())
    groups: dict[str, list[str]] = {}
    for key, value in flat_values(cfg).items():
        where = origins.get(key, "set by the caller")
        if value == defaults[key] and not where.startswith("--"):
            continue
        groups.setdefault(where, []).append(f"{key}={_shown(value)}")
    lines = []
    for where, items in groups.items():
        if where.startswith("--"):
            lines.append(f"  {where}" + ("" if where.startswith("--set") else f" ({', '.join(items)})"))
        else:
            lines += textwrap.wrap(", ".join(items), width, initial_indent=f"  {where}: ", subsequent_indent="    ")
    return lines
