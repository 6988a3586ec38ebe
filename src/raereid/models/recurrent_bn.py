"""Batch norm in the recurrent pass Enc(Dec(F)) (`model.recurrent_bn`): reconstructions go through the same encoder
as real images, but their statistics differ, so each mode says which statistics normalise them, in training and at
inference (and when target descriptors are extracted for clustering)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext

from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

MODES = ("running", "own", "batch", "shared")
RECURRENT_STATS = ("running_mean", "running_var", "num_batches_tracked")


def _encoder_norms(module: nn.Module) -> list[_BatchNorm]:
    return [m for m in module.modules() if isinstance(m, _BatchNorm) and m.track_running_stats]


@contextmanager
def running_stats_frozen(module: nn.Module) -> Iterator[None]:
    """Batch norms inside normalise with the batch's own statistics (in training) but leave their
    running statistics, which real images must keep at inference, untouched."""
    norms = [m for m in _encoder_norms(module) if m.training]
    saved = [(m, m.momentum, m.num_batches_tracked.clone()) for m in norms]
    for m in norms:
        m.momentum = 0.0
    try:
        yield
    finally:
        for m, momentum, tracked in saved:
            m.momentum = momentum
            m.num_batches_tracked.copy_(tracked)


@contextmanager
def running_stats_used(module: nn.Module) -> Iterator[None]:
    """Batch norms inside normalise with their running statistics (those of real images), in training as at
    inference, and leave them untouched; gradients still flow through their affine parameters."""
    norms = [m for m in _encoder_norms(module) if m.training]
    for m in norms:
        m.train(False)
    try:
        yield
    finally:
        for m in norms:
            m.train(True)


def add_recurrent_stats(module: nn.Module) -> None:
    """Give every batch norm inside a second set of running statistics (`recurrent_running_mean`, ...), for the
    reconstructions of the recurrent pass, starting as copies of the real images' ones."""
    for m in _encoder_norms(module):
        for name in RECURRENT_STATS:
            m.register_buffer(f"recurrent_{name}", getattr(m, name).clone())


def copy_recurrent_stats(module: nn.Module) -> None:
    """Start the reconstructions' statistics from the real images' ones (a checkpoint that had none)."""
    for m in _encoder_norms(module):
        for name in RECURRENT_STATS:
            getattr(m, f"recurrent_{name}").copy_(getattr(m, name))


@contextmanager
def recurrent_stats_swapped(module: nn.Module) -> Iterator[None]:
    """Within the block, batch norms inside use (and, in training, update) the reconstructions' running statistics
    (`add_recurrent_stats`) in place of the real images' ones."""
    norms = _encoder_norms(module)

    def swap() -> None:
        for m in norms:
            for name in RECURRENT_STATS:
                other = f"recurrent_{name}"
                m._buffers[name], m._buffers[other] = m._buffers[other], m._buffers[name]

    swap()
    try:
        yield
    finally:
        swap()


def has_recurrent_stats(module: nn.Module) -> bool:
    """Whether `add_recurrent_stats` gave the batch norms inside statistics of their own for reconstructions."""
    return any(hasattr(m, "recurrent_running_mean") for m in _encoder_norms(module))


def recurrent_bn_context(encoder: nn.Module, mode: str) -> AbstractContextManager:
    """The context the recurrent pass runs `encoder` in: `running` (real images' running statistics, in training as
    at inference), `own` (batch statistics in training, kept in the reconstructions' own running statistics for
    inference), `batch` (batch statistics in training, real images' at inference, not moved) or `shared` (as batch,
    but moving the real images' statistics)."""
    if mode == "running":
        return running_stats_used(encoder)
    if mode == "own":
        return recurrent_stats_swapped(encoder)
    if mode == "batch":
        return running_stats_frozen(encoder)
    if mode == "shared":
        return nullcontext()
    raise ValueError(f"unknown model.recurrent_bn {mode!r}: one of {', '.join(MODES)}")
