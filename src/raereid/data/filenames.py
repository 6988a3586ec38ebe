"""Parsers for the file-name conventions of the public re-ID datasets.

Each parser returns (pid, zero-based camera id) or None when the name does not follow it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from raereid.errors import DatasetError

NameParser = Callable[[str], "tuple[int, int] | None"]

# Market-1501: 0002_c1s1_000451_03.jpg  (pid, camera 1-6, sequence, frame, box); -1 = junk, 0 = distractor.
_MARKET = re.compile(r"^(-?\d+)_c(\d+)s(\d+)_(\d+)_(\d+)\.[A-Za-z]+$")
# DukeMTMC-reID: 0001_c2_f0046182.jpg  (pid, camera 1-8, frame).
_DUKE = re.compile(r"^(-?\d+)_c(\d+)_f(\d+)\.[A-Za-z]+$")
# MSMT17: 0000_000_01_0303morning_0015_0.jpg  (pid, index, camera 1-15, date+time, frame, box).
_MSMT = re.compile(r"^(\d+)_(\d+)_(\d+)_([0-9A-Za-z]+)_(\d+)_(\d+)\.[A-Za-z]+$")


def parse_market1501(name: str) -> tuple[int, int] | None:
    m = _MARKET.match(name)
    if m is None or int(m.group(2)) < 1:
        return None
    return int(m.group(1)), int(m.group(2)) - 1


def parse_dukemtmc(name: str) -> tuple[int, int] | None:
    m = _DUKE.match(name)
    if m is None or int(m.group(2)) < 1:
        return None
    return int(m.group(1)), int(m.group(2)) - 1


def parse_msmt17(name: str) -> tuple[int, int] | None:
    """pid here is the one in the file name; MSMT17 readers take the pid from the list file."""
    m = _MSMT.match(name)
    if m is None or int(m.group(3)) < 1:
        return None
    return int(m.group(1)), int(m.group(3)) - 1


def parse_all(paths: list[Path], parser: NameParser, convention: str, example: str) -> list[tuple[int, int]]:
    """Parse every file name, or raise one error listing the names that do not parse."""
    parsed = [parser(p.name) for p in paths]
    bad = [p for p, r in zip(paths, parsed) if r is None]
    if bad:
        shown = "\n    ".join(str(p) for p in bad[:5])
        raise DatasetError(
            f"{len(bad)} of {len(paths)} file name(s) do not follow the {convention} convention "
            f"(expected names like {example}), for example:\n    {shown}",
            where=bad[0].parent,
            fix=f"rename or remove these files; every image in this folder must be named like {example}",
        )
    return parsed  # type: ignore[return-value]
