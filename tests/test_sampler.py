"""PK sampler invariants."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from raereid.data.samplers import PKBatchSampler
from raereid.errors import ConfigError

LABELS = np.array([0] * 10 + [1] * 2 + [2] * 5 + [-1] * 7 + [3] * 4 + [4] * 1 + [5] * 6)


def _indices(batch: list[tuple[int, int]]) -> list[int]:
    return [i for i, _ in batch]


def test_p_identities_k_images_outliers_never_sampled() -> None:
    sampler = PKBatchSampler(LABELS, p=3, k=4, num_batches=20, seed=1)
    batches = [_indices(b) for b in sampler]
    assert len(batches) == 20
    for batch in batches:
        labels = LABELS[batch]
        assert len(batch) == 12 and (labels >= 0).all()
        counts = Counter(labels.tolist())
        assert len(counts) == 3 and set(counts.values()) == {4}
        assert labels.tolist() == sorted(labels.tolist(), key=lambda x: labels.tolist().index(x))  # identity-major


def test_small_identities_with_replacement_large_without() -> None:
    for batch in PKBatchSampler(LABELS, p=6, k=4, num_batches=5, seed=2):
        idx = np.array(_indices(batch))
        for label in (0, 2, 3, 5):
            chosen = idx[LABELS[idx] == label]
            assert len(set(chosen.tolist())) == 4  # enough images: no repeats
        assert len(idx[LABELS[idx] == 4]) == 4  # one image, drawn 4 times


def test_identities_visited_evenly() -> None:
    sampler = PKBatchSampler(LABELS, p=2, k=2, num_batches=60, seed=3)
    per_id = Counter(int(LABELS[i]) for b in sampler for i in _indices(b)[::2])
    assert set(per_id) == {0, 1, 2, 3, 4, 5} and max(per_id.values()) - min(per_id.values()) <= 2


def test_fewer_identities_than_p_uses_all() -> None:
    batch = _indices(next(iter(PKBatchSampler(np.array([0, 0, 1, 1]), p=18, k=4, num_batches=1))))
    assert len(batch) == 8


def test_deterministic_per_seed_and_epoch() -> None:
    a = PKBatchSampler(LABELS, 3, 4, 5, seed=7)
    b = PKBatchSampler(LABELS, 3, 4, 5, seed=7)
    assert list(a) == list(b)
    b.set_epoch(1)
    assert list(a) != list(b)
    assert list(PKBatchSampler(LABELS, 3, 4, 5, seed=8)) != list(a)


def test_start_skips_batches_exactly() -> None:
    full = list(PKBatchSampler(LABELS, 3, 4, 6, seed=4))
    assert list(PKBatchSampler(LABELS, 3, 4, 6, seed=4, start=4)) == full[4:]


def test_ranks_split_the_same_global_batch() -> None:
    single = list(PKBatchSampler(LABELS, 3, 4, 4, seed=5))
    shards = [list(PKBatchSampler(LABELS, 3, 4, 4, seed=5, rank=r, world_size=3)) for r in range(3)]
    for b, batch in enumerate(single):
        assert sum((shards[r][b] for r in range(3)), []) == batch


def test_errors() -> None:
    with pytest.raises(ConfigError, match="outliers"):
        PKBatchSampler(np.array([-1, -1]), 2, 2, 1)
    with pytest.raises(ConfigError, match="does not split evenly"):
        PKBatchSampler(LABELS, 3, 3, 1, world_size=2)
