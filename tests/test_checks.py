"""Checks against the data at training start (before any image is decoded), and a diverged model's NaN
descriptors reported as such."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from conftest import tiny_overrides, write_image

from raereid.adapt.checks import check_datasets
from raereid.cli.main import main
from raereid.config import load_config
from raereid.config.variants import get_variant
from raereid.data.records import ImageRecord, ReidDataset
from raereid.engine.runtime import Runtime
from raereid.errors import ConfigError, DatasetError, TrainingError
from raereid.inference.features import extract
from raereid.models.rae import RAE


def _dataset(name: str, pids: list[int]) -> ReidDataset:
    return ReidDataset(name, Path("/d") / name,
                       [ImageRecord(f"/d/{name}/{i}.jpg", pid, 1) for i, pid in enumerate(pids)])


def test_source_needs_two_identities() -> None:
    cfg = load_config("synthetic")
    with pytest.raises(DatasetError, match="has 1 training identity"):
        check_datasets(cfg, _dataset("src", [0, 0, 0]), _dataset("tgt", [-1] * 20), use_target=True)
    # P above the ids is allowed
    check_datasets(cfg, _dataset("src", [0, 1]), _dataset("tgt", [-1] * 20), use_target=True)


def test_kmeans_clusters_and_processes() -> None:
    cfg = load_config("synthetic", ["cluster.method=kmeans", "cluster.num_clusters=30"])
    with pytest.raises(ConfigError, match="num_clusters=30 is more than the target's 20") as info:
        check_datasets(cfg, _dataset("src", [0, 1]), _dataset("tgt", [-1] * 20), use_target=True)
    assert "--set cluster.num_clusters=30" in info.value.where
    check_datasets(cfg, _dataset("src", [0, 1]), _dataset("tgt", [-1] * 20), use_target=False)
    cfg = load_config("synthetic", ["data.p=3", "data.k=3"])
    with pytest.raises(ConfigError, match="does not split evenly over 2 processes"):
        check_datasets(cfg, _dataset("src", list(range(5))), _dataset("tgt", [-1] * 20), use_target=True, world_size=2)


def test_config_changed_in_code_is_checked_again() -> None:
    cfg = load_config("synthetic")
    cfg.optim.iterations = -5
    with pytest.raises(ConfigError, match="optim.iterations=-5"):
        check_datasets(cfg, _dataset("src", [0, 1]), _dataset("tgt", [-1] * 20), use_target=True)


def test_through_the_cli_before_any_image_is_read(capsys, tiny_bench: Path, tmp_path: Path) -> None:
    sets = [a for kv in tiny_overrides(tiny_bench, tmp_path / "out", "baseline", 2, "cluster.num_clusters=500",
                                       "data.verify_images=true") for a in ("--set", kv)]
    assert main(["train", "--config", "synthetic", *sets]) == 2
    assert "cluster.num_clusters=500 is more than the target's 47 training images" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_diverged_model_gives_a_clear_error(tmp_path: Path) -> None:
    cfg = load_config("synthetic", ["model.fusion_dim=8", "model.fusion_out=8"])
    model = RAE(cfg.model, get_variant("direct"), 3, (32, 16))
    with torch.no_grad():
        next(model.encoder.parameters()).fill_(float("inf"))
    records = [ImageRecord(str(write_image(tmp_path / f"{i}.jpg"))) for i in range(3)]
    with pytest.raises(TrainingError,
                       match="non-finite encoder descriptors for 3 of 3 images: its weights have diverged"):
        extract(model, records, 32, 16, Runtime(torch.device("cpu")), kinds=("encoder",), workers=0)


def test_domain_gap_of_identical_or_huge_descriptors() -> None:
    """sklearn's t-SNE crashes the process (SIGSEGV) on identical points, as a collapsed model gives; and
    float32 norms of descriptors of 1e20 (a barely trained random ResNet-50) overflow to zero vectors."""
    import numpy as np

    from raereid.inference.domain_gap import embed_2d
    from raereid.inference.features import l2_normalize

    assert not embed_2d(np.ones((40, 64), np.float32)).any()
    huge = np.random.default_rng(0).standard_normal((40, 64)).astype(np.float32) * 1e20
    unit = l2_normalize(huge.astype(np.float64))
    assert np.allclose(np.linalg.norm(unit, axis=1), 1.0)
    assert np.isfinite(embed_2d(unit.astype(np.float32))).all()
