"""The command that produced a run, kept in the run folder as `command.txt`.

`raereid train` records its own command line there. The demo, which trains in-process, records the
equivalent `raereid train` command of each run, rebuilt from the config saved in its checkpoint.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from pathlib import Path

from raereid.config.loader import config_to_dict, load_config

COMMAND_FILE = "command.txt"
COMMAND_ENV = "RAEREID_COMMAND"  # `raereid train --nproc N` passes the user's command to the processes it starts
FLAGS = {"train.variant": "--variant", "data.root": "--data-root", "train.output": "--output"}  # always written


def shell_command(argv: Sequence[str], cwd: str | Path | None = None) -> str:
    """`cd CWD && raereid ARGV...`, quoted for a POSIX shell, so it can be pasted and re-run as is."""
    cwd = Path.cwd() if cwd is None else Path(cwd)
    return f"cd {shlex.quote(str(cwd))} && raereid {shlex.join(argv)}"


def record_command(run_dir: str | Path, command: str, append: bool = False) -> Path:
    """Write (or, for a resumed run, append) `command` to RUN_DIR/command.txt."""
    path = Path(run_dir) / COMMAND_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a" if append else "w", encoding="utf-8") as fh:
        fh.write(command.rstrip("\n") + "\n")
    return path


def read_command(run_dir: str | Path) -> str | None:
    """The recorded command(s) of a run, or None when the run predates command.txt."""
    path = Path(run_dir) / COMMAND_FILE
    return path.read_text(encoding="utf-8").strip() if path.is_file() else None


def _as_override(value: object) -> str:
    """A config value written as `--set` parses it back."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (list, tuple)):
        return ",".join(map(str, value))
    return str(value)


def equivalent_train_command(config: dict, preset: str) -> list[str]:
    """`train --config PRESET ...` rebuilding `config`: the variant, data root and output as `raereid train`'s own
    flags, then a --set for each other key that differs from the preset."""
    base = config_to_dict(load_config(preset))
    argv = ["train", "--config", preset]
    for dotted, flag in FLAGS.items():
        section, key = dotted.split(".")
        argv += [flag, _as_override(config[section][key])]
    for section, values in config.items():
        for key, value in values.items():
            if f"{section}.{key}" not in FLAGS and base.get(section, {}).get(key) != value:
                argv += ["--set", f"{section}.{key}={_as_override(value)}"]
    return argv
