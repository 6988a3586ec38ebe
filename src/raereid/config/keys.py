"""Every config key with its default, its rule and its meaning (`raereid config --list`).

The meaning is the comment after the field in `schema.py`, or the comment lines right above it when it is too
long for the field's line (read from its source, so the schema stays the one place it is written), or, for a
field without one, the hint of its rule in `validation.py`'s `RULES`.
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
import io
import tokenize
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from raereid.config import schema
from raereid.config.schema import Config, flat_values

if TYPE_CHECKING:
    from raereid.config.rules import Rule


@dataclass(frozen=True)
class KeyInfo:
    """One `section.key`: its default, what the validation rule accepts, and what it means."""

    key: str
    default: Any
    rule: str
    meaning: str


def _section_classes() -> dict[str, str]:
    """Class name -> section name, from the fields of `Config`."""
    hints = typing.get_type_hints(Config)
    return {hints[f.name].__name__: f.name for f in dataclasses.fields(Config)}


@lru_cache(maxsize=1)
def schema_comments() -> dict[str, str]:
    """{"section.key": the comment on its line in schema.py, else the comment lines right above it} for the fields
    that have one."""
    source = inspect.getsource(schema)
    tokens = [tok for tok in tokenize.generate_tokens(io.StringIO(source).readline) if tok.type == tokenize.COMMENT]
    comments = {tok.start[0]: tok.string.lstrip("#").strip() for tok in tokens}
    alone = {tok.start[0] for tok in tokens if tok.line.lstrip().startswith("#")}  # comment-only lines
    sections = _section_classes()
    found = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.ClassDef) and node.name in sections:
            for item in node.body:
                if isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
                    line = item.end_lineno or item.lineno
                    above = []
                    while item.lineno - len(above) - 1 in alone:
                        above.insert(0, comments[item.lineno - len(above) - 1])
                    text = comments[line] if line in comments else " ".join(above)
                    if text:
                        found[f"{sections[node.name]}.{item.target.id}"] = text
    return found


def meaning(key: str) -> str:
    """What `key` means: its comment in schema.py, else its rule's hint, else ''."""
    from raereid.config.validation import RULES

    rule = RULES.get(key)
    return schema_comments().get(key) or (rule.hint if rule is not None else "")


def key_table(pattern: str = "", rules: Mapping[str, Rule] | None = None) -> list[KeyInfo]:
    """Every key (in schema order) whose section is `pattern` or whose name, rule or meaning contains it; its rule from
    `rules` (default: RULES; `raereid config --list` adds the registries' names, `raereid.adapt.checks.name_rules`)."""
    from raereid.config.validation import RULES

    rules = RULES if rules is None else {**RULES, **rules}
    rows = []
    for key, default in flat_values(Config()).items():
        rule = rules.get(key)
        info = KeyInfo(key, default, rule.expectation() if rule is not None else "", meaning(key))
        text = " ".join((info.key, info.rule, info.meaning)).lower()
        if not pattern or key.split(".")[0] == pattern or pattern.lower() in text:
            rows.append(info)
    return rows


def format_key_table(rows: list[KeyInfo]) -> str:
    """Per key: `section.key = default`, then its meaning and its rule, indented; a blank line between sections."""
    lines: list[str] = []
    section = None
    for row in rows:
        if section is not None and row.key.split(".")[0] != section:
            lines.append("")
        section = row.key.split(".")[0]
        default = ",".join(map(str, row.default)) if isinstance(row.default, list) else str(row.default)
        lines.append(f"{row.key} = {default or repr(default)}")
        lines.append(f"    {row.meaning or '(no description)'}" + (f" [{row.rule}]" if row.rule else ""))
    return "\n".join(lines)
