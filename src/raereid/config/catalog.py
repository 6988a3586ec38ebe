"""The shipped presets as a list a reader can choose from: each preset's command and a one-line description.

A preset's description is the first clause of its header comment (parentheses left out); a preset is a
`translate` preset when the sections it sets (with the presets it builds on) are the translator's.
"""

from __future__ import annotations

import re
from importlib import resources

import yaml

from raereid.config.loader import PRESET_PACKAGE, list_presets

TRANSLATE_SECTIONS = {"translate", "data", "train", "custom_imports"}  # what a translate preset may set


def _text(name: str) -> str:
    return (resources.files(PRESET_PACKAGE) / f"{name}.yaml").read_text(encoding="utf-8")


def preset_description(name: str) -> str:
    """The first clause of the preset's header comment, without parenthesised asides."""
    header = []
    for line in _text(name).splitlines():
        if not line.startswith("#"):
            break
        header.append(line.lstrip("#").strip())
    text, depth, out = " ".join(header), 0, []
    for i, ch in enumerate(text):
        depth += (ch == "(") - (ch == ")")
        if depth == 0 and ch in ".:;" and text[i + 1:i + 2] in (" ", ""):
            break
        if depth == 0 and ch != ")":
            out.append(ch)
    return re.sub(r"\s+", " ", "".join(out)).replace(" ,", ",").strip()


def _sections(name: str, seen: tuple[str, ...] = ()) -> set[str]:
    data = yaml.safe_load(_text(name)) or {}
    base = data.pop("base", None)
    inherited = _sections(base, (*seen, name)) if isinstance(base, str) and base not in seen else set()
    return inherited | set(data)


def preset_command(name: str) -> str:
    """`translate` for a preset of the translator, `train` for the others."""
    sections = _sections(name)
    return "translate" if "translate" in sections and sections <= TRANSLATE_SECTIONS else "train"


def format_presets(command: str | None = None) -> str:
    """One line per preset (name, description), grouped by the command that uses it; only `command`'s if given."""
    groups: dict[str, list[str]] = {}
    for name in list_presets():
        groups.setdefault(preset_command(name), []).append(name)
    width = max(len(n) for n in list_presets())
    blocks = []
    for cmd in ("train", "translate"):
        if groups.get(cmd) and command in (None, cmd):
            lines = [f"  {name:<{width}}  {preset_description(name)}" for name in groups[cmd]]
            blocks.append(f"raereid {cmd} --config PRESET:\n" + "\n".join(lines))
    return "\n\n".join(blocks)
