"""A small training loop with hooks (the shape of fast-reid's `engine/train_loop.py`).

`TrainLoop.train` runs `run_step` until `max_iter`, counting iterations and epochs (an epoch is
`iters_per_epoch` iterations; Algorithm 1 reclusters at each); hooks do everything else: clustering,
logging, evaluation, checkpointing. A subclass implements `run_step` (and `state` for checkpoints).
"""

from __future__ import annotations

from pathlib import Path


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
