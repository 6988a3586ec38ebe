"""Checkpoints: atomic writes, safe loading, clear errors."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
import torch

from raereid.engine.checkpoint import load_checkpoint, load_module_state, save_checkpoint
from raereid.errors import CheckpointError


def test_round_trip_and_no_temporary_left(tmp_path: Path) -> None:
    path = save_checkpoint({"model": {"w": torch.ones(2)}, "iteration": 3}, tmp_path / "ck" / "last.pt")
    state = load_checkpoint(path)
    assert state["iteration"] == 3 and torch.equal(state["model"]["w"], torch.ones(2))
    assert [p.name for p in path.parent.iterdir()] == ["last.pt"]


class _Evil:
    def __reduce__(self):
        return (print, ("pwned",))


def test_malicious_pickle_refused(tmp_path: Path) -> None:
    path = tmp_path / "evil.pt"
    torch.save({"format": "raereid-checkpoint", "payload": _Evil()}, path)
    with pytest.raises(CheckpointError, match="refused to load") as info:
        load_checkpoint(path)
    assert str(path) == info.value.where
    raw = tmp_path / "raw.pkl"
    raw.write_bytes(pickle.dumps(_Evil()))
    with pytest.raises(CheckpointError):
        load_checkpoint(raw)


def test_truncated_and_foreign_files(tmp_path: Path) -> None:
    path = save_checkpoint({"model": {"w": torch.randn(1000)}}, tmp_path / "ok.pt")
    cut = tmp_path / "cut.pt"
    cut.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(CheckpointError, match="truncated or corrupt"):
        load_checkpoint(cut)
    other = tmp_path / "other.pt"
    torch.save({"state_dict": {}}, other)
    with pytest.raises(CheckpointError, match="not a raereid checkpoint"):
        load_checkpoint(other)
    with pytest.raises(CheckpointError, match="not found"):
        load_checkpoint(tmp_path / "missing.pt")


def test_failed_write_keeps_previous_checkpoint(tmp_path: Path) -> None:
    path = save_checkpoint({"iteration": 1}, tmp_path / "last.pt")

    class Unsaveable:
        def __reduce__(self):
            raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        save_checkpoint({"iteration": 2, "bad": Unsaveable()}, path)
    assert load_checkpoint(path)["iteration"] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["last.pt"]


def test_other_architecture_is_a_clear_error(tmp_path: Path) -> None:
    module = torch.nn.Linear(3, 2)
    with pytest.raises(CheckpointError, match="another architecture: 0 missing, 0 unexpected and 1 mis-shaped"):
        load_module_state(module, {"weight": torch.zeros(4, 3), "bias": torch.zeros(2)}, "model", tmp_path / "x.pt")


def test_a_checkpoint_of_an_older_format_is_refused_clearly(tmp_path: Path) -> None:
    """Format 1 (before the classifier learner owned its target classifiers) was never released: it is not read."""
    old = save_checkpoint({"version": 1, "model": {"w": torch.ones(2)}, "iteration": 7}, tmp_path / "old.pt")
    with pytest.raises(CheckpointError, match="checkpoint format 1 is older than this raereid reads") as info:
        load_checkpoint(old)
    assert info.value.where == str(old) and "train it again" in info.value.fix
