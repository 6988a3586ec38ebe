"""Rebuild a trained RAE network from a checkpoint (its config travels inside it)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from raereid.config.loader import config_from_dict
from raereid.config.schema import Config
from raereid.config.variants import get_variant
from raereid.engine.checkpoint import load_checkpoint, load_module_state
from raereid.errors import CheckpointError
from raereid.learners.classifier import FORMER_MODEL_PREFIXES
from raereid.models.rae import RAE


@dataclass
class TrainedModel:
    model: RAE
    cfg: Config
    path: Path
    iteration: int


def load_model(path: str | Path, device: torch.device | str = "cpu") -> TrainedModel:
    """The network saved in a checkpoint (model.pt or checkpoints/last.pt), in eval mode on `device`."""
    path = Path(path).expanduser()
    state = load_checkpoint(path)
    try:
        cfg = config_from_dict(state["config"], where=str(path))
        cfg.model.pretrained = "none"  # the weights come from the checkpoint, never from a download
        model = RAE(cfg.model, get_variant(state["variant"]), int(state["num_source_ids"]), tuple(state["input_size"]))
        weights = {k: v for k, v in state["model"].items() if not k.startswith(FORMER_MODEL_PREFIXES)}
    except KeyError as exc:
        raise CheckpointError(f"checkpoint lacks {exc}", where=path, fix="pass a checkpoint written by raereid train") from None
    load_module_state(model, weights, "model", path)
    model.to(device).eval()
    return TrainedModel(model, cfg, path, int(state.get("iteration", 0)))
