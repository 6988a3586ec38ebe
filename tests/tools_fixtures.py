"""Tiny trained models for the tools tests: one full and one direct model on the tiny synthetic benchmark.

Trained once per test session (a session fixture, registered for every test module by conftest.py's
pytest_plugins; the cache is keyed by pytest's base temp folder). Tests that alter files copy them first.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch

TINY = [
    "optim.iterations=4", "data.height=64", "data.width=32", "data.p=4", "data.k=2", "model.backbone=convnet_small",
    "model.last_stride=2", "model.pretrained=none", "train.eval_every=0", "data.verify_images=false",
    "cluster.min_samples=2", "data.workers=0", "model.flip_test=false", "train.gap_picture=false",
]


@dataclass(frozen=True)
class TinyRuns:
    data: Path  # holds Market-1501-v15.09.15/ (target) and DukeMTMC-reID/ (source)
    full: Path  # model.pt of the full variant
    direct: Path  # model.pt of direct transfer without a decoder (source.decoder=false: Enc alone)

    @property
    def market(self) -> Path:
        return self.data / "Market-1501-v15.09.15"


@functools.cache
def _train(base: str) -> TinyRuns:
    from raereid.adapt.trainer import Trainer
    from raereid.config import load_config
    from raereid.engine.runtime import setup_runtime
    from raereid.synth import generate

    torch.set_num_threads(1)
    root = Path(base) / "tools-runs"
    generate(root / "data", seed=0, scale="tiny")
    for variant in ("full", "direct"):
        cfg = load_config(
            "synthetic",
            [f"data.root={root / 'data'}", f"train.variant={variant}", f"train.output={root / variant}", *TINY,
             *(["source.decoder=false"] if variant == "direct" else [])],
        )
        Trainer(cfg, setup_runtime("cpu")).train()
    return TinyRuns(root / "data", root / "full" / "model.pt", root / "direct" / "model.pt")


@pytest.fixture(scope="session")
def tiny_runs(tmp_path_factory: pytest.TempPathFactory) -> TinyRuns:
    return _train(str(tmp_path_factory.getbasetemp()))
