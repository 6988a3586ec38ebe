"""Rebuild a trained RAE network from a checkpoint (its config travels inside it)."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import torch

from raereid.config.loader import config_from_dict
from raereid.config.schema import Config
from raereid.config.variants import get_variant
from raereid.engine.checkpoint import load_checkpoint, load_module_state
from raereid.errors import CheckpointError
from raereid.models.backbones import RandomWeightsWarning
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
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RandomWeightsWarning)
            variant, input_size = get_variant(state["variant"]), tuple(state["input_size"])
            model = RAE(cfg.model, variant, int(state["num_source_ids"]), input_size)
        classes = state["target_classes"]
    except KeyError as exc:
        raise CheckpointError(f"checkpoint lacks {exc}", where=path, fix="pass a checkpoint written by raereid train") from None
    model.set_target_classes(torch.zeros(classes[0], model.encoder.out_channels), torch.zeros(classes[-1], cfg.model.fusion_out))
    load_module_state(model, state["model"], "model", path)
    model.to(device).eval()
    return TrainedModel(model, cfg, path, int(state.get("iteration", 0)))
