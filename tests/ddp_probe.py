"""A plugin for tests/test_distributed.py (`raereid --import tests/ddp_probe.py train ...`; torchrun's processes
import it again from the config's custom_imports): it records what every process of a run did, into the folder
named by $RAEREID_PROBE, without changing what it does.

- batches-rank{R}.jsonl: each batch this process's PK samplers yielded (the sampler's seed, epoch and batch index,
  and the process's share: (image index, augmentation seed) pairs);
- grads.pt (rank 0): the gradients of the first two optimiser steps (the generator's, then the discriminators'),
  read after the step, in the optimisers' parameter order (DDP has averaged them over the processes by then).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import torch
import torch.distributed as dist

from raereid.adapt.build import Optimizers
from raereid.data.samplers import PKBatchSampler

STEPS = 2
_sampled = PKBatchSampler.__iter__
_step = Optimizers.step
_grads: list[list[torch.Tensor]] = []


def _rank() -> int:
    return dist.get_rank() if dist.is_available() and dist.is_initialized() else 0


def _recording_iter(self: PKBatchSampler) -> Iterator[list[tuple[int, int]]]:
    folder = os.environ.get("RAEREID_PROBE")
    for b, share in enumerate(_sampled(self), start=self.start):
        if folder:
            record = {"seed": self.seed, "epoch": self.epoch, "batch": b, "share": share}
            with (Path(folder) / f"batches-rank{_rank()}.jsonl").open("a", encoding="utf-8") as fh:
                fh.write(json.dumps(record) + "\n")
        yield share


def _recording_step(self: Optimizers, loss: torch.Tensor, opts: list[torch.optim.Optimizer],
                    scaler: torch.amp.GradScaler) -> None:
    _step(self, loss, opts, scaler)
    folder = os.environ.get("RAEREID_PROBE")
    if folder and _rank() == 0 and len(_grads) < STEPS:
        _grads.append([torch.zeros_like(p) if p.grad is None else p.grad.detach().clone()
                       for opt in opts for group in opt.param_groups for p in group["params"]])
        torch.save(_grads, Path(folder) / "grads.pt")


PKBatchSampler.__iter__ = _recording_iter  # type: ignore[method-assign]
Optimizers.step = _recording_step  # type: ignore[method-assign]
