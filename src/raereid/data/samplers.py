"""PK identity sampling: every batch holds P identities x K images each.

The global batch is a function of (seed, epoch, batch index) only, so every process of a
distributed run builds the same one and keeps its own contiguous slice: the global batch, and
what the losses see once features are gathered, do not depend on the number of processes.
Each sampled image also carries its own augmentation seed, so random flips, crops and erasing
do not depend on which worker or process loads it, nor on where a resumed run restarts.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
from torch.utils.data import Sampler

from raereid.errors import ConfigError


class PKBatchSampler(Sampler[list[int]]):
    """Batches of P identities x K images; labels < 0 (outliers, unlabeled) are never sampled.

    Identities are visited in shuffled passes, so each is drawn about equally often; an identity
    with fewer than K images is sampled with replacement. With fewer than P identities, every
    batch holds all of them.
    """

    def __init__(
        self,
        labels: np.ndarray | list[int],
        p: int,
        k: int,
        num_batches: int,
        seed: int | Sequence[int] = 0,
        rank: int = 0,
        world_size: int = 1,
        start: int = 0,
    ):
        labels = np.asarray(labels, dtype=np.int64)
        if p < 1 or k < 1:
            raise ConfigError(f"PK sampling needs P >= 1 and K >= 1, got P={p}, K={k}", fix="set data.p and data.k")
        ids = np.unique(labels[labels >= 0])
        if len(ids) == 0:
            raise ConfigError("PK sampling needs at least one labelled image (all labels are outliers)")
        self.p = min(p, len(ids))
        self.k = k
        if (self.p * k) % world_size:
            raise ConfigError(
                f"the global batch of {self.p} x {k} = {self.p * k} images does not split evenly over {world_size} "
                "processes",
                fix="choose data.p * data.k divisible by the number of processes",
            )
        self.ids = ids
        order = np.argsort(labels, kind="stable")
        bounds = np.searchsorted(labels[order], ids, side="left"), np.searchsorted(labels[order], ids, side="right")
        self.members = [order[a:b] for a, b in zip(*bounds)]
        self.num_batches = num_batches
        self.seed = [seed] if isinstance(seed, int) else list(seed)
        self.start = start
        self.rank = rank
        self.world_size = world_size
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Choose the epoch whose batches the next iteration yields."""
        self.epoch = epoch

    def __len__(self) -> int:
        return self.num_batches - self.start

    def global_batches(self) -> Iterator[np.ndarray]:
        """The full (all-process) batches of the current epoch, identity-major (from batch 0)."""
        rng = np.random.default_rng([*self.seed, self.epoch])
        queue: list[int] = []
        for _ in range(self.num_batches):
            if len(queue) < self.p:
                pending = set(queue)
                rest = rng.permutation([i for i in range(len(self.ids)) if i not in pending])
                queue += [int(i) for i in rest]
            chosen, queue = queue[: self.p], queue[self.p :]
            parts = []
            for i in chosen:
                members = self.members[i]
                parts.append(rng.choice(members, size=self.k, replace=len(members) < self.k))
            yield np.concatenate(parts)

    def __iter__(self) -> Iterator[list[tuple[int, int]]]:
        """This process's share of each batch from `start` on, as (image index, augmentation seed) pairs."""
        share = self.p * self.k // self.world_size
        lo, hi = self.rank * share, (self.rank + 1) * share
        for b, batch in enumerate(self.global_batches()):
            if b < self.start:
                continue
            seeds = np.random.default_rng([*self.seed, self.epoch, b, 1]).integers(0, 2**62, size=len(batch))
            yield list(zip(batch[lo:hi].tolist(), seeds[lo:hi].tolist()))
