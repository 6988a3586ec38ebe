"""The rule library of config validation: what a value of one key may be (`Rule`) and the constructors
the `RULES` table of `validation.py` is written with (at_least, probability, choice, registered,
registry_name, ...), plus `CrossRule`, a check of several keys together.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from raereid.config.schema import Config


@dataclass(frozen=True)
class Rule:
    """What a value of one key must be: `ok(value)`, the same in words, and values it refuses.

    `bad` are values as typed after `--set KEY=` that this rule refuses; the table-driven test feeds
    each of them through `raereid train`. `stage` is "load" for checks made by `load_config`, "names" for names
    from the registries of the packages config configures (backbones, learners, label generators: checked right
    after loading by `raereid.adapt.checks.check_names`, which reads those registries) and "start" for those that
    need the filesystem, made when a command starts (`raereid.cli.paths`).
    """

    ok: Callable[[Any], bool]
    expected: str
    bad: tuple[str, ...]
    hint: str = ""
    stage: str = "load"
    noun: str = ""  # for names from a registry: the message reads "unknown NOUN 'value'" and lists `names()`
    names: Callable[[], Iterable[str]] | None = None

    def expectation(self) -> str:
        """`expected`, with the names a registry holds now."""
        return f"{self.expected}: {', '.join(self.names())}" if self.names is not None else self.expected


def is_int(v: Any) -> bool:
    """An int that is not a bool (YAML and --set give bools for true/false)."""
    return isinstance(v, int) and not isinstance(v, bool)


def is_number(v: Any) -> bool:
    """A finite int or float, not a bool."""
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def at_least(low: int, hint: str = "") -> Rule:
    """An integer >= low."""
    return Rule(lambda v: is_int(v) and v >= low, f"an integer >= {low}", (str(low - 1), str(low - 10)), hint)


def positive_int(hint: str = "") -> Rule:
    """An integer >= 1 (counts, sizes, periods)."""
    return at_least(1, hint)


def nonneg_int(hint: str = "") -> Rule:
    """An integer >= 0 (0 usually switches something off)."""
    return at_least(0, hint)


def interval(low: float, high: float, low_open: bool = False, high_open: bool = False, hint: str = "") -> Rule:
    """A finite number in [low, high], with either end open."""

    def ok(v: Any) -> bool:
        return is_number(v) and (v > low if low_open else v >= low) and (v < high if high_open else v <= high)

    text = f"a number in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
    bad = [f"{low - 0.5:g}", f"{high + 0.5:g}", "nan"]
    bad += ([f"{low:g}"] if low_open else []) + ([f"{high:g}"] if high_open else [])
    return Rule(ok, text, tuple(bad), hint)


def probability(hint: str = "") -> Rule:
    """A probability, in [0, 1]."""
    return interval(0.0, 1.0, hint=hint)


def positive(hint: str = "") -> Rule:
    """A finite number > 0."""
    return Rule(lambda v: is_number(v) and v > 0, "a finite number > 0", ("0", "-1", "inf", "nan"), hint)


def nonneg(hint: str = "") -> Rule:
    """A finite number >= 0 (0 switches the term off)."""
    return Rule(lambda v: is_number(v) and v >= 0, "a finite number >= 0", ("-0.1", "inf", "nan"), hint)


def choice(*values: str, hint: str = "") -> Rule:
    """One of fixed words."""
    return Rule(lambda v: v in values, f"one of {', '.join(values)}", ("no-such-choice",), hint)


def int_choice(*values: int, hint: str = "") -> Rule:
    """One of fixed integers."""
    return Rule(lambda v: is_int(v) and v in values, f"one of {', '.join(map(str, values))}", (str(max(values) + 1),),
                hint)


def registered(names: Callable[[], Iterable[str]], noun: str, hint: str = "", any_case: bool = False) -> Rule:
    """A name from a registry read when the value is checked (backbones, label generators, variants)."""

    def ok(v: Any) -> bool:
        return isinstance(v, str) and (v.lower() if any_case else v) in set(names())

    return Rule(ok, f"one of the registered {noun}s", ("no-such-name",), hint, noun=noun, names=names)


def registry_name(noun: str, hint: str = "", bad: tuple[str, ...] = ("no-such-name",)) -> Rule:
    """A name from a registry of a package above config (backbones, learners, label generators): the "names" stage
    checks it, with that registry's names (`raereid.adapt.checks.check_names`)."""
    return Rule(text().ok, f"one of the registered {noun}s", bad, hint, stage="names", noun=noun)


def text(hint: str = "") -> Rule:
    """A non-empty string."""
    return Rule(lambda v: isinstance(v, str) and bool(v.strip()), "a non-empty string", ("",), hint)


def flag(hint: str = "") -> Rule:
    """true or false (the type check refuses anything else)."""
    return Rule(lambda v: isinstance(v, bool), "true or false", ("maybe",), hint)


def file_or_empty(missing: str, hint: str = "") -> Rule:
    """A path to a file, or empty; the file is checked when a command starts (`missing` is a bad example)."""
    return Rule(lambda v: isinstance(v, str), "empty or the path of a file", (missing,), hint, stage="start")


def weights(hint: str = "") -> Rule:
    """imagenet, none, or the path of a weights file (its existence is checked when training starts)."""
    return Rule(text().ok, "imagenet, none or the path of a weights file", ("", "/nonexistent/raereid-weights.pth"),
                hint)


def int_list(length: int, hint: str = "") -> Rule:
    """Exactly `length` integers >= 1."""
    return Rule(
        lambda v: isinstance(v, list) and len(v) == length and all(is_int(x) and x >= 1 for x in v),
        f"{length} integers >= 1",
        (",".join(["8"] * (length + 1)), ",".join(["8"] * (length - 1) + ["0"])),
        hint,
    )


def nonempty_int_list(hint: str = "") -> Rule:
    """One or more integers >= 1."""
    return Rule(lambda v: isinstance(v, list) and len(v) >= 1 and all(is_int(x) and x >= 1 for x in v),
                "one or more integers >= 1", ("", "8,0"), hint)


def eps_or_auto(hint: str = "") -> Rule:
    """A DBSCAN radius on the Jaccard distance, in (0, 1), or auto (the rho rule)."""
    return Rule(lambda v: v == "auto" or (is_number(v) and 0 < v < 1), "a number in (0, 1) or auto",
                ("0", "1", "1.5", "wide"), hint)


def color_jitter(hint: str = "") -> Rule:
    """torchvision's (brightness, contrast, saturation, hue): four numbers >= 0, hue <= 0.5."""
    return Rule(
        lambda v: isinstance(v, list) and len(v) == 4 and all(is_number(x) and x >= 0 for x in v) and v[3] <= 0.5,
        "4 numbers >= 0 (brightness, contrast, saturation, hue <= 0.5)",
        ("0.4,0.4,0.4", "0.4,-0.1,0.4,0.1", "0.4,0.4,0.4,0.7"),
        hint,
    )


def device(hint: str = "") -> Rule:
    """auto, cpu, cuda, cuda:N or mps (whether CUDA is present is checked when training starts)."""
    return Rule(lambda v: isinstance(v, str) and re.fullmatch(r"auto|cpu|cuda(:\d+)?|mps", v) is not None,
                "auto, cpu, cuda, cuda:N or mps", ("gpu", "cuda:x"), hint)


@dataclass(frozen=True)
class CrossRule:
    """A check of several keys together: `problem(cfg)` is None or what is wrong; `fix` says how to resolve it."""

    keys: tuple[str, ...]
    problem: Callable[[Config], str | None]
    fix: str
