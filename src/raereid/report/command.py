"""The `raereid train` command equivalent to a run's saved config (what the demo, which trains in-process,
records in each run's command.txt; engine/run_folder.py writes and reads that file)."""

from __future__ import annotations

from raereid.config.loader import config_to_dict, load_config
from raereid.config.schema import flat_values

FLAGS = {"train.variant": "--variant", "data.root": "--data-root", "train.output": "--out"}  # always written


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
    base, flat = flat_values(config_to_dict(load_config(preset))), flat_values(config)
    argv = ["train", "--config", preset]
    argv += [arg for dotted, flag in FLAGS.items() for arg in (flag, _as_override(flat[dotted]))]
    for dotted, value in flat.items():
        if dotted not in FLAGS and base.get(dotted) != value:
            argv += ["--set", f"{dotted}={_as_override(value)}"]
    return argv
