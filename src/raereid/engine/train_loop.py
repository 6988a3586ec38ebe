"""A small training loop with hooks (the shape of fast-reid's `engine/train_loop.py`), and the checkpointed
loop both trainers build on.

`TrainLoop.train_loop` runs `run_step` until `max_iter`, counting iterations and epochs (an epoch is
`iters_per_epoch` iterations; Algorithm 1 reclusters at each); hooks do everything else: relabelling,
logging, evaluation, checkpointing. `CheckpointedLoop` adds what a run folder needs: the monitor, elapsed
time, RNG state, atomic checkpoints of `state()`, finite checks, the final file, and `run()` (config.yaml and
the start lines, then the loop). It is the protocol the shared hooks (engine/hooks.py) rely on.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from raereid.config.resolved import differences, write_config
from raereid.config.schema import Config
from raereid.engine import checkpoint as ckpt
from raereid.engine.monitor import Monitor
from raereid.engine.run_folder import RunFolder
from raereid.errors import TrainingError


class Interrupted(Exception):
    """SIGINT/SIGTERM arrived; a checkpoint was saved at `iteration`."""

    def __init__(self, iteration: int, path: Path):
        self.iteration, self.path = iteration, path
        super().__init__(f"interrupted at iteration {iteration}; checkpoint saved to {path}")


class Hook:
    """A callback of the loop; `self.loop` is the loop it is registered with. Override what you need."""

    loop: TrainLoop

    def before_train(self) -> None:
        """Once, before the first step of this call to `train` (also after a resume)."""

    def before_step(self) -> None:
        """Before every step; `loop.iteration` is the step about to run (0-based)."""

    def after_step(self) -> None:
        """After every step; `loop.iteration` counts the steps done and `loop.terms` holds the step's values."""

    def after_train(self) -> None:
        """Once, after the last step, when training ended normally."""

    def close(self) -> None:
        """Always, at the very end, also after an exception: release files, handlers."""


class TrainLoop:
    """Iteration and epoch counters, the hooks, and the loop that calls them around `run_step`."""

    def __init__(self, iters_per_epoch: int):
        self.iters_per_epoch = max(1, iters_per_epoch)
        self.hooks: list[Hook] = []
        self.iteration = 0
        self.epoch = 0
        self.max_iter = 0
        self.terms: dict[str, float] = {}

    @property
    def epoch_start(self) -> int:
        """The iteration at which the current epoch began."""
        return self.epoch * self.iters_per_epoch

    def register_hooks(self, *hooks: Hook) -> None:
        """Append hooks; they run in registration order."""
        for hook in hooks:
            hook.loop = self
            self.hooks.append(hook)

    def _call(self, stage: str) -> None:
        for hook in self.hooks:
            getattr(hook, stage)()

    def run_step(self) -> dict[str, float]:
        """One iteration; returns the values to log (losses, learning rates)."""
        raise NotImplementedError

    def train_loop(self, max_iter: int) -> None:
        """Run steps from the current iteration to `max_iter`, calling the hooks."""
        self.max_iter = max_iter
        try:
            self._call("before_train")
            while self.iteration < max_iter:
                if self.iteration >= self.epoch_start + self.iters_per_epoch:
                    self.epoch = self.iteration // self.iters_per_epoch
                self._call("before_step")
                self.terms = self.run_step()
                self.iteration += 1
                self._call("after_step")
            self._call("after_train")
        finally:
            self._call("close")


class CheckpointedLoop(TrainLoop, ABC):
    """A TrainLoop writing one run folder `out`: checkpoints/last.pt (everything to resume), train.log and
    TensorBoard through `monitor`, and at the end `final_name` (the checkpoint without `resume_only` keys).

    A subclass implements `state()`, `finite_modules()`, `describe()` (the first log line), `result()` (what
    `run` returns) and `run_step()`; it merges `progress_state()` into its state and, when resuming, calls
    `restore_progress()`; it sets `cfg`, which `run` writes to config.yaml. Only the main process (`is_main`)
    writes."""

    cfg: Config | None = None  # the run's config, set by the subclass
    recorded: Config | None = None  # what config.yaml holds, when not `cfg` (the recipe's adaptation stage)
    resume_only: tuple[str, ...] = ("optimizers", "rng")  # state keys left out of the final file
    subject = "the"  # whose loss / weights the finite checks name, e.g. "the translator's"
    diverged_fix = "lower the learning rates"
    stage = "train"  # the progress lines' name: `source 120/600`, `adapt 20/250`
    later = 0  # iterations of the stages the command trains after this one (the whole command's ETA counts them)
    keep_last = True  # keep checkpoints/last.pt (the resume state, optimisers included) once the run has finished
    stop_requested = False  # SIGINT/SIGTERM arrived (maybe after the last step): the caller stops before its next stage
    # The iterator over the current loaders (a subclass's run_step draws from it). Dropped when the loop ends, which
    # stops their worker processes then: they ignore SIGTERM, so they must not wait for the interpreter's exit.
    _batches: Iterator | None = None

    def __init__(self, iters_per_epoch: int, out: str | Path, final_name: str, is_main: bool = True):
        super().__init__(iters_per_epoch)
        self.folder = RunFolder(Path(out))
        self.out, self.ckpt_path, self.final_path = self.folder.path, self.folder.last, self.folder / final_name
        self.is_main = is_main
        self.seconds, self._t0, self.start_note = 0.0, time.perf_counter(), ""
        self.monitor = Monitor(self.out, enabled=False, total=0)  # silent until run()

    @abstractmethod
    def state(self) -> dict[str, Any]:
        """Everything needed to resume exactly (including `progress_state()`)."""

    @abstractmethod
    def finite_modules(self) -> list[nn.Module]:
        """The modules whose weights must stay finite to be checkpointed."""

    @abstractmethod
    def describe(self) -> str:
        """The first log line of `run`: what is trained on what."""

    @abstractmethod
    def result(self) -> dict[str, Any]:
        """What `run` returns once the loop ended (after the final file is written)."""

    def evaluate(self) -> dict | None:
        """Scores now (the RAE trainer's target metrics); None for a loop that has nothing to evaluate."""
        return None

    def elapsed(self) -> float:
        """Wall-clock seconds of training so far, summed over resumed runs."""
        return self.seconds + time.perf_counter() - self._t0

    def progress_state(self) -> dict[str, Any]:
        """Where the run is: RNG states, iteration, epoch and seconds."""
        cuda = torch.cuda.get_rng_state_all() if torch.cuda.is_available() else []
        return {"rng": {"torch": torch.get_rng_state(), "cuda": cuda}, "iteration": self.iteration, "epoch": self.epoch,
                "seconds": self.elapsed()}

    def restore_progress(self, state: Mapping[str, Any]) -> None:
        """Continue from `progress_state()` of a checkpoint (call last: building modules draws random numbers)."""
        torch.set_rng_state(state["rng"]["torch"])
        if state["rng"]["cuda"] and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state["rng"]["cuda"])
        self.iteration, self.epoch, self.seconds = int(state["iteration"]), int(state["epoch"]), float(state["seconds"])
        self.start_note = f"resumed from {self.ckpt_path} at iteration {self.iteration}"

    def _kept(self) -> str:
        if self.ckpt_path.is_file():
            return f"the last good checkpoint is {self.ckpt_path}"
        return "no checkpoint was written yet"

    def check_finite(self, loss: torch.Tensor, terms: Mapping[str, torch.Tensor]) -> None:
        """Stop on a non-finite loss, naming the terms that are, before it reaches the weights."""
        if torch.isfinite(loss).item():
            return
        bad = ", ".join(f"{k}={float(v.detach()):.4g}" for k, v in terms.items() if not torch.isfinite(v).item())
        bad = bad or f"total={float(loss.detach())}"
        raise TrainingError(
            f"{self.subject} loss became non-finite at iteration {self.iteration + 1} ({bad}); "
            f"training stopped and {self._kept()}",
            where=self.out, fix=f"{self.diverged_fix}; then resume with --resume or start again",
        )

    def check_weights_finite(self) -> None:
        """A finite loss can still leave non-finite weights (a huge step); never checkpoint those."""
        norms = [p.detach().norm() for m in self.finite_modules() for p in m.parameters()]
        if norms and not bool(torch.isfinite(torch.stack(norms)).all()):
            raise TrainingError(
                f"{self.subject} weights became non-finite by iteration {self.iteration} although the loss was finite; "
                f"training stopped and {self._kept()}",
                where=self.out, fix=self.diverged_fix,
            )

    def save(self) -> Path | None:
        """Checkpoint `state()` to checkpoints/last.pt (main process); the path, or None elsewhere."""
        self.check_weights_finite()
        return ckpt.save_checkpoint(self.state(), self.ckpt_path) if self.is_main else None

    def finish(self) -> None:
        """After the last step: the last checkpoint, and the final file without the `resume_only` keys."""
        self.save()
        if self.is_main:
            ckpt.save_checkpoint({k: v for k, v in self.state().items() if k not in self.resume_only}, self.final_path)

    def drop_resume_state(self) -> None:
        """After a finished run: remove checkpoints/last.pt (the optimisers' state makes it about twice model.pt's size;
        model.pt holds the weights), unless `keep_last`."""
        if self.keep_last or not self.is_main or not self.ckpt_path.is_file():
            return
        self.ckpt_path.unlink()
        ckpt.remove_stale_temporaries(self.ckpt_path)
        if not any(self.ckpt_path.parent.iterdir()):
            self.ckpt_path.parent.rmdir()
        self.monitor.info(f"removed {self.ckpt_path}: the run is finished, {self.final_path} holds the weights "
                          "(raereid train --keep-last keeps it, to train the run longer with --resume)")

    def _record_config(self) -> None:
        """OUT/config.yaml (the resolved config, every key) and, in the log, where it departs from the defaults."""
        if self.cfg is None or not self.is_main:
            return
        path = write_config(self.recorded or self.cfg, self.folder.config)
        changed = differences(self.cfg)
        self.monitor.info(f"config: {path}" + (", set apart from the defaults (schema.py) by:" if changed else
                                                 " (the defaults of schema.py)"))
        for line in changed:
            self.monitor.info(line)

    def run(self, iterations: int) -> dict[str, Any]:
        """Train to `iterations` (hooks and all), with the log open; returns `result()`."""
        self._t0 = time.perf_counter()
        self.monitor = Monitor(self.out, self.is_main, iterations, self.iteration, desc=self.stage, after=self.later)
        try:
            self.monitor.info(self.describe())
            self._record_config()
            if self.is_main:  # partial checkpoints of a killed earlier run in this folder (never read; only disk space)
                for path in (self.ckpt_path, self.final_path):
                    for stale in ckpt.remove_stale_temporaries(path):
                        self.monitor.info(f"removed {stale}, a partial checkpoint left by a killed run")
            if self.start_note:
                self.monitor.info(self.start_note)
            self.train_loop(iterations)
            result = self.result()
            self.drop_resume_state()
            return result
        finally:
            self._batches = None
            self.monitor.close()
