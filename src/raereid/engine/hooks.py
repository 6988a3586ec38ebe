"""The hooks every training loop shares: progress and logging, evaluation, checkpoints and signals,
and the discriminator-collapse watch. They work with any `CheckpointedLoop` (engine/train_loop.py: its
`monitor`, `terms`, `save()`, `check_weights_finite()` and `evaluate()`), i.e. the RAE trainer and the
image translator."""

from __future__ import annotations

import signal
import statistics
from collections import deque
from collections.abc import Callable
from typing import Any

from raereid.engine.train_loop import CheckpointedLoop, Hook, Interrupted

COLLAPSE_WINDOW = 50
COLLAPSE_LOSS = 0.02


class ProgressHook(Hook):
    """Advance the progress bar with the step's losses; every `log_every` iterations check the weights are
    finite and write the losses and learning rates (keys starting with "lr") to TensorBoard."""

    loop: CheckpointedLoop

    def __init__(self, log_every: int):
        self.log_every = max(1, log_every)

    def after_step(self) -> None:
        loop = self.loop
        losses = {k: v for k, v in loop.terms.items() if not k.startswith("lr")}
        loop.monitor.advance(losses)
        if loop.iteration % self.log_every == 0 or loop.iteration == loop.max_iter:
            loop.check_weights_finite()
            loop.monitor.scalars("loss", losses, loop.iteration)
            loop.monitor.scalars("lr", {k: v for k, v in loop.terms.items() if k.startswith("lr")}, loop.iteration)


class DiscriminatorWatch(Hook):
    """Report a discriminator that wins outright: its loss stays near 0, so its generator term gives no useful
    gradient."""

    loop: CheckpointedLoop

    def __init__(self, names: tuple[str, ...] = ("dis_feat", "dis_pix"), window: int = COLLAPSE_WINDOW,
                 threshold: float = COLLAPSE_LOSS):
        self.names, self.window, self.threshold = names, window, threshold
        self.history: dict[str, deque] = {}

    def after_step(self) -> None:
        for name in self.names:
            if name not in self.loop.terms:
                continue
            hist = self.history.setdefault(name, deque(maxlen=self.window))
            hist.append(self.loop.terms[name])
            # The median, not the maximum: a collapsed discriminator can still spike now and then.
            if len(hist) == self.window and statistics.median(hist) < self.threshold:
                self.loop.monitor.warning(
                    f"iteration {self.loop.iteration}: discriminator collapse: {name} was below {self.threshold} "
                    f"for most of the last {self.window} iterations (it separates real from fake perfectly, its "
                    "generator term gives no useful gradient); consider a lower optim.lr_discriminator or "
                    "loss.lambda_gan_*"
                )
                hist.clear()


class EvalHook(Hook):
    """Evaluate every `every` iterations (0: never here; the trainer evaluates at the end)."""

    loop: CheckpointedLoop

    def __init__(self, every: int):
        self.every = every

    def after_step(self) -> None:
        loop = self.loop
        if self.every and loop.iteration % self.every == 0 and loop.iteration < loop.max_iter:
            loop.evaluate()


class CheckpointHook(Hook):
    """Save every `every` iterations; on SIGINT/SIGTERM save at the end of the current step and stop
    with `Interrupted` (the CLI turns it into exit code 130 and a --resume hint)."""

    loop: CheckpointedLoop

    def __init__(self, every: int):
        self.every = every
        self.stop_signal: int | None = None
        self._previous: dict[int, Any] = {}

    def _handle(self, signum: int, frame: Any) -> None:
        self.stop_signal = signum
        self.loop.stop_requested = True  # seen by the caller when the signal came after the last step

    def before_train(self) -> None:
        self._previous = {s: signal.signal(s, self._handle) for s in (signal.SIGINT, signal.SIGTERM)}

    def after_step(self) -> None:
        loop = self.loop
        if self.stop_signal is not None:
            path = loop.save()
            raise Interrupted(loop.iteration, path or loop.ckpt_path)
        if self.every and loop.iteration % self.every == 0:
            loop.save()

    def close(self) -> None:
        for s, handler in self._previous.items():
            signal.signal(s, handler)
        self._previous = {}


class CallbackHook(Hook):
    """A hook from plain functions, e.g. `CallbackHook(after_train=lambda: ...)`."""

    def __init__(self, **stages: Callable[[], None]):
        for stage, fn in stages.items():
            if not hasattr(Hook, stage):
                raise ValueError(f"unknown hook stage {stage!r}")
            setattr(self, stage, fn)
