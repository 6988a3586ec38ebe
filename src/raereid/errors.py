"""User-facing errors: what went wrong, where, and how to fix it.

The CLI turns any `RaeReidError` into a short message and exit code 2 (no traceback unless
`--debug`); library users catch it like any exception.
"""

from __future__ import annotations

from pathlib import Path


class RaeReidError(Exception):
    """An error caused by the user's input, with the place it happened and the fix.

    Raised in a DataLoader worker (an image that does not decode), it reaches the main process rebuilt by torch as
    `cls(message=TRACEBACK_TEXT)`: the what / where / fix are read back from that text, so the user sees the same
    message as in the main process."""

    def __init__(self, what: str = "", where: str | Path | None = None, fix: str | None = None, *,
                 message: str | None = None):
        if message is not None:
            what, where, fix = _from_traceback(message, type(self).__name__)
        self.what = what
        self.where = None if where is None else str(where)
        self.fix = fix
        super().__init__(self.message())

    def message(self) -> str:
        parts = [self.what]
        if self.where:
            parts.append(f"  where: {self.where}")
        if self.fix:
            parts.append(f"  fix:   {self.fix}")
        return "\n".join(parts)


def _from_traceback(text: str, name: str) -> tuple[str, str | None, str | None]:
    """(what, where, fix) of the error `name` at the end of a formatted traceback (`message()`'s layout)."""
    what = text.rsplit(f"{name}: ", 1)[-1].rstrip("\n")
    where = fix = None
    if "\n  fix:   " in what:
        what, fix = what.split("\n  fix:   ", 1)
    if "\n  where: " in what:
        what, where = what.split("\n  where: ", 1)
    return what, where, fix


class DatasetError(RaeReidError):
    """A dataset folder, list file or image that does not match the expected layout."""


class ConfigError(RaeReidError):
    """An unknown config key, preset or variant, or a value of the wrong type."""


class CheckpointError(RaeReidError):
    """A checkpoint that is missing, truncated, untrusted or of another architecture."""


class PathError(RaeReidError):
    """An output path that cannot or must not be written, or an input path of the wrong kind."""


class TrainingError(RaeReidError):
    """Training cannot continue (for example a NaN loss); the last good checkpoint is kept."""


class InputError(RaeReidError, ValueError):
    """Arrays passed to a numeric kernel with the wrong shape, dtype or values (NaN features)."""
