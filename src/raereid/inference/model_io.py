"""Rebuild a trained RAE network from a checkpoint (its config travels inside it)."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import torch

from raereid.config.loader import config_from_dict
from raereid.config.schema import Config
from raereid.config.variants import run_variant
from raereid.engine.checkpoint import ModelRecord, load_checkpoint, load_module_state
from raereid.errors import CheckpointError, ConfigError
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
    record = ModelRecord.from_state(load_checkpoint(path), path)
    cfg = config_from_dict(record.config, where=str(path))
    cfg.model.pretrained = "none"  # the weights come from the checkpoint, never from a download
    variant = run_variant(record.variant, source_decoder=any(k.startswith("decoder.") for k in record.model))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RandomWeightsWarning)
        try:
            model = RAE(cfg.model, variant, record.num_source_ids, record.input_size)
        except ConfigError as exc:  # e.g. a backbone no module registered: a plugin the checkpoint names is missing
            raise CheckpointError(f"the network of this checkpoint cannot be built: {exc.what}", where=str(path),
                                  fix=exc.fix or "load it where the plugins it was trained with are importable"
                                  ) from exc
    load_module_state(model, record.model, "model", path)
    model.to(device).eval()
    return TrainedModel(model, cfg, path, record.iteration)
