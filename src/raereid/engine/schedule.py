"""The learning-rate schedule: linear warm-up, then x gamma every `lr_step` iterations (paper: x0.1 every 8,000).

A pure function of the iteration, so resuming needs nothing but the iteration number.
"""

from __future__ import annotations

import torch

from raereid.config.schema import OptimConfig


def lr_factor(iteration: int, cfg: OptimConfig) -> float:
    """Multiplier of the base learning rates at `iteration` (0-based)."""
    factor = cfg.lr_gamma ** (iteration // cfg.lr_step) if cfg.lr_step > 0 else 1.0
    if cfg.warmup_iters > 0 and iteration < cfg.warmup_iters:
        factor *= (iteration + 1) / cfg.warmup_iters
    return factor


def apply_lr(optimizers: list[torch.optim.Optimizer], iteration: int, cfg: OptimConfig) -> None:
    """Set every parameter group's learning rate to its base rate times `lr_factor(iteration)`."""
    factor = lr_factor(iteration, cfg)
    for opt in optimizers:
        for group in opt.param_groups:
            group["lr"] = group["base_lr"] * factor
