"""Reconstructions Dec(Enc(I)) of images: the source-style images RAE is built on (their picture: `raereid.sheets`)."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from raereid.config.variants import variant_names
from raereid.data.images import load_rgb
from raereid.data.transforms import test_transform
from raereid.errors import ConfigError
from raereid.models.rae import RAE
from raereid.pixels import to_unit_range


def _to_uint8(batch: torch.Tensor) -> list[np.ndarray]:
    """[-1, 1] images (N, 3, H, W) -> list of HxWx3 uint8 arrays."""
    arr = ((batch.clamp(-1, 1) + 1) * 127.5).round().byte().permute(0, 2, 3, 1).cpu().numpy()
    return list(arr)


@torch.no_grad()
def reconstruct(model: RAE, paths: list[str], height: int, width: int,
                device: torch.device | str = "cpu") -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Originals and reconstructions (both at the network's input size) as uint8 arrays."""
    if model.decoder is None:
        raise ConfigError(
            f"the {model.variant.name!r} model has no decoder, so there is nothing to reconstruct",
            fix=f"use a checkpoint of a variant with a decoder ({variant_names(has_decoder=True)})",
        )
    tf = test_transform(height, width)
    images = torch.stack([tf(load_rgb(p)) for p in paths]).to(device)
    was_training = model.training
    model.eval()
    try:
        recon = model.reconstruct(model.encoder(images))
    finally:
        model.train(was_training)
    recon = F.interpolate(recon, size=(height, width), mode="bilinear", align_corners=False)
    return _to_uint8(to_unit_range(images)), _to_uint8(recon)
