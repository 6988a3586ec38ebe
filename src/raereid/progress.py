"""Progress that suits where it is shown: a redrawn tqdm bar on a terminal, plain log lines elsewhere.

Written to a file or a pipe (a log, `nohup`, CI), a tqdm bar becomes hundreds of carriage-return
updates on one line; there `PlainProgress` prints a line like
`[raereid] train 120/600 (20%)  3.52 it/s  elapsed 0:34  ETA 2:16  ce_source 2.07 ...` every
`fraction` of the total or `seconds`, whichever comes first, and never redraws.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Mapping
from typing import IO, Any

PREFIX = "[raereid]"


def is_terminal(stream: IO[str] | None = None) -> bool:
    """Whether `stream` (default stderr) is an interactive terminal."""
    stream = sys.stderr if stream is None else stream
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


def _clock(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


def whole_run(left: int, after: int, rate: float) -> str:
    """The whole run's ETA, 'H:MM:SS+', when `after` iterations of later stages follow the `left` ones of this one
    ('' otherwise): all of them at this stage's `rate`, a lower bound (an adaptation step, with two batches and the
    clusterings, is slower than a source-stage step)."""
    return f"{_clock((left + after) / rate)}+" if after and rate > 0 else ""


class PlainProgress:
    """A counter that prints a plain line every `fraction` of `total` (None: never by count) or every `seconds`.

    Quacks like the part of tqdm raereid uses: `n`, `update`, `set_postfix`, `clear`, `refresh`, `close`.
    With `final`, `close` prints a last line when the end was not reported yet.
    """

    def __init__(self, total: int, desc: str, initial: int = 0, unit: str = "it", fraction: float | None = 0.1,
                 seconds: float = 30.0, final: bool = True, stream: IO[str] | None = None,
                 clock: Callable[[], float] = time.monotonic, after: int = 0):
        self.total, self.desc, self.unit, self.after = total, desc, unit, after
        self.n = self._start_n = self._reported = initial
        self.fraction, self.seconds, self.final = fraction, seconds, final
        self.stream = stream
        self.clock = clock
        self._t0 = self._last = clock()
        self.postfix: dict[str, str] = {}
        self.closed = False

    def _step(self) -> int:
        return max(1, int(self.total * self.fraction)) if self.fraction and self.total else 0

    def update(self, k: int = 1) -> None:
        """Count `k` more; print a line when a count step or the time interval has been crossed."""
        before, self.n = self.n, self.n + k
        step = self._step()
        crossed = bool(step) and (self.n // step > before // step or self.n == self.total)
        if crossed or self.clock() - self._last >= self.seconds:
            self.report()

    def set_postfix(self, values: Mapping[str, Any], refresh: bool = False) -> None:
        """Values shown after the counts (the losses), as tqdm's set_postfix."""
        self.postfix = {k: str(v) for k, v in values.items()}

    def line(self) -> str:
        """The current state as one line: count, percent, rate, elapsed, ETA, postfix."""
        now = self.clock()
        elapsed = now - self._t0
        done = self.n - self._start_n
        rate = done / elapsed if elapsed > 0 else 0.0
        parts = [f"{PREFIX} {self.desc} {self.n}/{self.total}" if self.total else f"{PREFIX} {self.desc} {self.n}"]
        if self.total:
            parts[0] += f" ({100 * self.n / self.total:.0f}%)"
        parts.append(f"{rate:.3g} {self.unit}/s" if rate >= 1 or rate == 0 else f"{1 / rate:.3g} s/{self.unit}")
        parts.append(f"elapsed {_clock(elapsed)}")
        if self.total and rate > 0 and self.n < self.total:
            whole = whole_run(self.total - self.n, self.after, rate)
            parts.append(f"ETA {_clock((self.total - self.n) / rate)}" + (f", whole run {whole}" if whole else ""))
        if self.postfix:
            parts.append(" ".join(f"{k} {v}" for k, v in self.postfix.items()))
        return "  ".join(parts)

    def report(self) -> None:
        """Print the current line now."""
        stream = sys.stderr if self.stream is None else self.stream
        print(self.line(), file=stream, flush=True)
        self._last, self._reported = self.clock(), self.n

    def clear(self) -> None:
        """Nothing to clear: lines are never redrawn."""

    def refresh(self) -> None:
        """Nothing to redraw."""

    def close(self) -> None:
        """Print the last line if the final count was not reported (and `final`)."""
        if not self.closed and self.final and self.n != self._reported:
            self.report()
        self.closed = True


def progress(total: int, desc: str, *, initial: int = 0, unit: str = "it", transient: bool = False,
             disable: bool = False, stream: IO[str] | None = None, after: int = 0) -> Any:
    """A tqdm bar on a terminal, else a PlainProgress; None when `disable`.

    `transient` progress (a short extraction inside a run) is a bar that disappears on a terminal and,
    elsewhere, prints only when it lasts longer than 30 s. `after` iterations of later stages add the whole run's
    ETA to the lines (`whole_run`)."""
    if disable:
        return None
    if is_terminal(stream):
        from tqdm import tqdm

        return tqdm(total=total, initial=initial, desc=desc, unit=unit, dynamic_ncols=True, leave=not transient,
                    file=sys.stderr if stream is None else stream)
    if transient:
        return PlainProgress(total, desc, initial, unit, fraction=None, final=False, stream=stream)
    return PlainProgress(total, desc, initial, unit, stream=stream, after=after)
