"""What a run reports: a log file and console lines, TensorBoard scalars, progress with the losses.

Progress is a redrawn bar on a terminal and a plain line every 10% or 30 s when stderr is a file or a
pipe (`raereid.progress`). Only the main process of a distributed run reports; the others get a
silent monitor.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from raereid.engine.run_folder import LOG, TENSORBOARD
from raereid.progress import progress, whole_run

LOGGER_NAME = "raereid"


def get_logger() -> logging.Logger:
    return logging.getLogger(LOGGER_NAME)


class Monitor:
    """The log (train.log and stderr), TensorBoard and the progress named `desc` (`source`, `adapt`) of one run;
    `after` iterations of later stages count in the whole run's ETA."""

    def __init__(self, out_dir: Path, enabled: bool, total: int, start: int = 0, tensorboard: bool = True,
                 desc: str = "train", after: int = 0):
        self.enabled, self.after = enabled, after
        self.logger = get_logger()
        self.writer = None
        self.bar = None
        self._handlers: list[logging.Handler] = []
        if not enabled:
            return
        out_dir.mkdir(parents=True, exist_ok=True)
        self.logger.setLevel(logging.INFO)
        self.logger.propagate = False
        file_handler = logging.FileHandler(out_dir / LOG, encoding="utf-8")
        file_handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        console = logging.StreamHandler(sys.stderr)
        console.setFormatter(logging.Formatter("[raereid] %(levelname)s %(message)s"))
        for handler in (file_handler, console):
            self.logger.addHandler(handler)
            self._handlers.append(handler)
        if tensorboard:
            from torch.utils.tensorboard import SummaryWriter

            self.writer = SummaryWriter(str(out_dir / TENSORBOARD), purge_step=start if start else None)
        self.bar = progress(total, desc, initial=start, after=after)

    def info(self, message: str) -> None:
        if self.enabled:
            self._write(logging.INFO, message)

    def warning(self, message: str) -> None:
        if self.enabled:
            self._write(logging.WARNING, message)

    def _write(self, level: int, message: str) -> None:
        if self.bar is not None:
            self.bar.clear()
        self.logger.log(level, message)
        if self.bar is not None:
            self.bar.refresh()

    def scalars(self, prefix: str, values: dict[str, float], step: int) -> None:
        if self.writer is not None:
            for name, value in values.items():
                self.writer.add_scalar(f"{prefix}/{name}", value, step)

    def advance(self, postfix: dict[str, float] | None = None) -> None:
        if self.bar is not None:
            self.bar.update(1)
            shown = {k: f"{v:.3g}" for k, v in (postfix or {}).items()}
            rate = getattr(self.bar, "format_dict", {}).get("rate")  # a terminal's tqdm bar: the run's ETA goes first
            if self.after and rate:
                shown = {"whole run": whole_run(self.bar.total - self.bar.n, self.after, rate), **shown}
            if shown:
                self.bar.set_postfix(shown, refresh=False)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
        if self.writer is not None:
            self.writer.close()
        for handler in self._handlers:
            self.logger.removeHandler(handler)
            handler.close()
        self._handlers = []
