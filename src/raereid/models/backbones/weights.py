"""What every torchvision-style backbone shares: loading a local weights file, and the last stride at 1."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from raereid.errors import CheckpointError, ConfigError

HEAD_PREFIXES = ("fc.", "classifier.")  # the ImageNet classifier of a weights file: expected, and ignored


def read_state_dict(path: Path, name: str) -> dict[str, torch.Tensor]:
    """The state dict in a .pth file (plain, or under "state_dict"), read with weights_only=True."""
    if not path.is_file():
        raise ConfigError("pretrained weights file not found", where=path,
                          fix="model.pretrained takes imagenet, none, or a path to a .pth state dict")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unpickling failure means the file is not usable
        raise CheckpointError(f"cannot read pretrained weights ({exc})", where=path,
                              fix="use a state dict saved with torch.save") from None
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise CheckpointError("pretrained weights file does not hold a state dict", where=path,
                              fix=f"save {name}().state_dict()")
    return state


def load_weights(model: nn.Module, state: dict[str, torch.Tensor], name: str, where: str | Path,
                 source: str = "torchvision's") -> None:
    """Load `state` into `model`, every tensor except the classifier's, or a CheckpointError that counts
    what is missing, unexpected or mis-shaped (batch norms' num_batches_tracked may be absent: old files)."""
    own = model.state_dict()
    body = {k: v for k, v in state.items() if k in own and not k.startswith(HEAD_PREFIXES)}
    wrong = [k for k, v in body.items() if v.shape != own[k].shape]
    optional = "num_batches_tracked"  # absent from files saved before torch 0.4.1
    missing = [k for k in own if not k.startswith(HEAD_PREFIXES) and k not in body and not k.endswith(optional)]
    unexpected = [k for k in state if k not in own and not k.startswith(HEAD_PREFIXES)]
    if wrong or missing or unexpected:
        raise CheckpointError(
            f"pretrained weights do not fit {name}: {len(missing)} missing, {len(unexpected)} unexpected and "
            f"{len(wrong)} mis-shaped tensors (e.g. {(missing or unexpected or wrong)[0]})",
            where=where,
            fix=f"use weights of {source} {name}, or set model.backbone to the architecture they belong to",
        )
    model.load_state_dict(body, strict=False)


def load_local_weights(model: nn.Module, path: str | Path, name: str, source: str = "torchvision's") -> None:
    """Load the weights file at `path` (model.pretrained=PATH) into the uncut network `model`."""
    path = Path(path).expanduser()
    load_weights(model, read_state_dict(path, name), name, path, source)


def set_last_stride_one(stage: nn.Module) -> None:
    """Make the last stage keep its input resolution (a 256x128 image then gives a 16x8 map)."""
    for module in stage.modules():
        if isinstance(module, nn.Conv2d) and module.stride == (2, 2):
            module.stride = (1, 1)
