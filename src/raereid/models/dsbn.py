"""Domain-specific batch norm (DSBN, Chang et al. 2019; as SpCL and OpenUnReID use it).

Each batch norm of the converted modules keeps two copies, one per domain: separate running
statistics and affine parameters for the source and the target. In training, a batch whose first
`split` rows are source images and the rest target images (the layout of every RAE step) is
normalised part by part (`domain_split`); at inference every image goes through the target copy,
unless `bn_domain(model, "source")` asks for the source one (extracting source descriptors).
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

DOMAINS = ("source", "target")


class DomainSpecificBN(nn.Module):
    """A pair of batch norms (`source`, `target`) built as copies of one."""

    def __init__(self, bn: _BatchNorm):
        super().__init__()
        self.source = copy.deepcopy(bn)
        self.target = copy.deepcopy(bn)
        self.split: int | None = None  # rows [:split] are source images, the rest target (training steps)
        self.domain = "target"  # which copy normalises a batch that is not split

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.split is None:
            return getattr(self, self.domain)(x)
        parts = []
        if self.split > 0:
            parts.append(self.source(x[: self.split]))
        if self.split < x.shape[0]:
            parts.append(self.target(x[self.split :]))
        return torch.cat(parts)


def convert_dsbn(module: nn.Module) -> nn.Module:
    """Replace every batch norm inside `module` by a DomainSpecificBN initialised from it."""
    if isinstance(module, _BatchNorm):
        return DomainSpecificBN(module)
    for name, child in module.named_children():
        setattr(module, name, convert_dsbn(child))
    return module


def _dsbn_layers(module: nn.Module) -> list[DomainSpecificBN]:
    return [m for m in module.modules() if isinstance(m, DomainSpecificBN)]


@contextmanager
def domain_split(module: nn.Module, num_source: int) -> Iterator[None]:
    """Within the block, batches through `module` hold `num_source` source rows, then target rows."""
    layers = _dsbn_layers(module)
    for m in layers:
        m.split = num_source
    try:
        yield
    finally:
        for m in layers:
            m.split = None


@contextmanager
def bn_domain(module: nn.Module, domain: str) -> Iterator[None]:
    """Within the block, unsplit batches use the `domain` copy ("source" or "target") of every DSBN."""
    if domain not in DOMAINS:
        raise ValueError(f"domain must be one of {DOMAINS}, got {domain!r}")
    layers = _dsbn_layers(module)
    saved = [m.domain for m in layers]
    for m in layers:
        m.domain = domain
    try:
        yield
    finally:
        for m, d in zip(layers, saved):
            m.domain = d


def match_bn_layout(state: dict[str, torch.Tensor], own_keys: set[str]) -> dict[str, torch.Tensor]:
    """A state dict mapped onto a network whose batch norms are domain-specific where the saved ones were not, or the
    reverse.

    A plain batch norm's `x.weight` fills both `x.source.weight` and `x.target.weight` (a direct-transfer
    model, trained on the source only, starts both domains from its statistics); a network without DSBN
    loaded from one with DSBN takes the target copy (the one used at test time)."""
    out = dict(state)
    for key in own_keys - state.keys():
        for domain in DOMAINS:
            if f".{domain}." in key and key.replace(f".{domain}.", ".", 1) in state:
                out[key] = state[key.replace(f".{domain}.", ".", 1)]
        head, _, leaf = key.rpartition(".")
        if f"{head}.target.{leaf}" in state:
            out[key] = state[f"{head}.target.{leaf}"]
    return out
