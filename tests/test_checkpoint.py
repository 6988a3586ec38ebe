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


def _format_1_checkpoint(path: Path, cfg) -> dict[str, torch.Tensor]:
    """A checkpoint as raereid wrote it before the classifier learner owned its target classifiers (format 1):
    random weights, with the target classifiers inside "model" and their sizes in "target_classes"."""
    from raereid.config import config_to_dict
    from raereid.config.variants import get_variant
    from raereid.models import RAE

    g = torch.Generator().manual_seed(0)
    model = RAE(cfg.model, get_variant("full"), 3, (cfg.data.height, cfg.data.width))
    weights = {k: torch.randn(v.shape, generator=g) if v.is_floating_point() else v
               for k, v in model.state_dict().items()}
    heads = {"target_head.fc.weight": torch.randn(5, model.encoder.out_channels, generator=g),
             "target_head.fc.bias": torch.zeros(5),
             "fused_target_head.fc.weight": torch.randn(5, cfg.model.fusion_out, generator=g),
             "fused_target_head.fc.bias": torch.zeros(5)}
    save_checkpoint({"version": 1, "config": config_to_dict(cfg), "variant": "full", "num_source_ids": 3,
                     "input_size": [cfg.data.height, cfg.data.width], "target_classes": [5, 5],
                     "model": {**weights, **heads}, "discriminators": {}, "learner": {},
                     "optimizers": {"main": {}, "disc": None, "target": {}}, "scalers": {}, "iteration": 7, "epoch": 1,
                     "seconds": 1.0, "pseudo_labels": None, "label_generator": {}, "history": []}, path)
    return weights


def test_a_format_1_checkpoint_loads_for_inference_and_init_not_resume(tiny_bench: Path, tmp_path: Path) -> None:
    from conftest import tiny_overrides

    from raereid.config import load_config
    from raereid.engine.model_io import load_model
    from raereid.engine.runtime import setup_runtime
    from raereid.engine.state import init_from
    from raereid.engine.trainer import Trainer
    from raereid.models import RAE, Discriminators

    cfg = load_config("synthetic", tiny_overrides(tiny_bench, tmp_path / "run", "full", 4, "train.gap_picture=false"))
    old = tmp_path / "run" / "checkpoints" / "last.pt"
    weights = _format_1_checkpoint(old, cfg)
    assert load_checkpoint(old)["version"] == 1
    trained = load_model(old)  # the target classifiers are dropped: inference never used them
    assert trained.iteration == 7 and trained.model.state_dict().keys() == weights.keys()
    assert all(torch.equal(v, weights[k]) for k, v in trained.model.state_dict().items())
    fresh = RAE(cfg.model, trained.model.variant, 3, (cfg.data.height, cfg.data.width))
    note, fusion = init_from(fresh, Discriminators(fresh), str(old), cfg.model.backbone)
    assert fusion and note.startswith(f"initialised {len(weights)} tensors")
    assert torch.equal(fresh.encoder.state_dict()["body.0.0.weight"], weights["encoder.body.0.0.weight"])
    with pytest.raises(CheckpointError, match="checkpoint format 1") as info:
        Trainer(cfg, setup_runtime("cpu"), resume=True)
    assert "train.init=" in info.value.fix and str(old) == info.value.where
