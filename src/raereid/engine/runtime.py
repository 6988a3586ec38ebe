"""Where training runs: device choice, seeding, and the process group of a distributed run.

A run started by `torchrun` (RANK / WORLD_SIZE / LOCAL_RANK in the environment) joins a process
group: NCCL on CUDA, gloo on the CPU. Everything else sees a `Runtime` and does not care.
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.distributed as dist

from raereid.errors import ConfigError


@dataclass
class Runtime:
    device: torch.device
    rank: int = 0
    world_size: int = 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    def gather(self, x: torch.Tensor) -> torch.Tensor:
        """Concatenate `x` from every process in rank order; differentiable (identity in one process)."""
        if not self.distributed:
            return x
        import torch.distributed.nn.functional as dist_fn

        return torch.cat(dist_fn.all_gather(x.contiguous()))

    def gather_numpy(self, x: np.ndarray) -> np.ndarray:
        """Concatenate arrays of possibly different lengths from every process, in rank order."""
        if not self.distributed:
            return x
        parts: list[Any] = [None] * self.world_size
        dist.all_gather_object(parts, x)
        return np.concatenate(parts)

    def broadcast(self, obj: Any) -> Any:
        """`obj` as rank 0 has it, on every process."""
        if not self.distributed:
            return obj
        box = [obj]
        dist.broadcast_object_list(box, src=0)
        return box[0]

    def barrier(self) -> None:
        if self.distributed:
            dist.barrier()

    def all_reduce_max(self, value: float) -> float:
        if not self.distributed:
            return value
        t = torch.tensor([value], dtype=torch.float64, device=self.device if self.device.type == "cuda" else "cpu")
        dist.all_reduce(t, op=dist.ReduceOp.MAX)
        return float(t.item())


def resolve_device(name: str, local_rank: int = 0) -> torch.device:
    """`auto` picks CUDA when available; `cuda` under torchrun means this process's GPU."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"train.device={name} but CUDA is not available", fix="use --set train.device=cpu (or auto)")
    if name == "cuda":
        return torch.device("cuda", local_rank)
    try:
        return torch.device(name)
    except RuntimeError:
        raise ConfigError(f"unknown device {name!r}", fix="train.device is auto, cpu, cuda or cuda:N") from None


def setup_runtime(device: str = "auto") -> Runtime:
    """A Runtime for this process; joins the torchrun process group when launched by torchrun."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size <= 1:
        return Runtime(resolve_device(device))
    rank, local_rank = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    dev = resolve_device(device, local_rank)
    if dev.type == "cuda":
        torch.cuda.set_device(dev)
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if dev.type == "cuda" else "gloo")
    return Runtime(dev, rank, world_size)


def shutdown(runtime: Runtime, finished: bool = False) -> None:
    """Leave the process group; after a finished run, every process first waits for the others (a barrier), so that
    none tears gloo down while another still talks to it (an abort at exit otherwise, now and then)."""
    if runtime.distributed and dist.is_initialized():
        if finished:
            dist.barrier()
        dist.destroy_process_group()


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (all devices) so that a CPU run is reproducible."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
