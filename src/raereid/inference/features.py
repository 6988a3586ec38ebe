"""Batched descriptor extraction (Algorithm 2), sharded over the processes of a distributed run."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from raereid.data.loaders import ImageDataset, test_loader
from raereid.data.records import ImageRecord
from raereid.data.transforms import test_transform
from raereid.engine.runtime import Runtime
from raereid.errors import TrainingError
from raereid.models.rae import RAE
from raereid.progress import progress


def _autocast(device: torch.device, enabled: bool) -> torch.autocast:
    return torch.autocast(device_type=device.type, dtype=torch.float16, enabled=enabled and device.type == "cuda")


@torch.no_grad()
def extract(
    model: RAE,
    records: Sequence[ImageRecord],
    height: int,
    width: int,
    runtime: Runtime,
    kinds: Sequence[str] = ("final",),
    batch_size: int = 128,
    workers: int = 2,
    flip: bool = False,
    amp: bool = False,
    desc: str = "extract",
    cache: bool = False,
) -> dict[str, np.ndarray]:
    """Descriptors of `records` in order, one float32 array (N, D) per kind ('encoder', 'final').

    Each process extracts a contiguous share and the shares are gathered, so every process gets all
    descriptors. With `flip`, the descriptor of an image is averaged with that of its mirror image.
    With `cache`, decoded images stay in memory at the input size (`data.cache_images`).
    """
    n = len(records)
    lo, hi = runtime.rank * n // runtime.world_size, (runtime.rank + 1) * n // runtime.world_size
    loader = test_loader(ImageDataset(records[lo:hi], test_transform(height, width),
                                      cache=(height, width) if cache else None), batch_size, workers, runtime.device)
    was_training = model.training
    model.eval()
    parts: dict[str, list[np.ndarray]] = {k: [] for k in kinds}
    bar = progress(len(loader), desc, transient=True, disable=not runtime.is_main or len(loader) < 4)
    try:
        for images, *_ in loader:
            images = images.to(runtime.device, non_blocking=True)
            with _autocast(runtime.device, amp):
                out = model.descriptors(images)
                if flip:
                    mirrored = model.descriptors(torch.flip(images, dims=[3]))
                    out = {k: (v + mirrored[k]) / 2 for k, v in out.items()}
            for k in kinds:
                parts[k].append(out[k].float().cpu().numpy())
            if bar is not None:
                bar.update(1)
    finally:
        model.train(was_training)
        if bar is not None:
            bar.close()
    result = {}
    for k in kinds:
        local = np.concatenate(parts[k]) if parts[k] else np.zeros((0, 0), np.float32)
        result[k] = runtime.gather_numpy(local).astype(np.float32, copy=False)
    _check_finite(result, records)
    return result


def _check_finite(descriptors: dict[str, np.ndarray], records: Sequence[ImageRecord]) -> None:
    """A diverged model (huge weights that overflow in the forward pass) gives NaN descriptors: say so here,
    rather than let clustering or the evaluator report NaN features with no cause."""
    for kind, feats in descriptors.items():
        bad = np.flatnonzero(~np.isfinite(feats).all(axis=1)) if feats.size else []
        if len(bad):
            raise TrainingError(
                f"the model gives non-finite {kind} descriptors for {len(bad)} of {len(feats)} images: its weights "
                "have diverged (they overflow in the forward pass)",
                where=records[int(bad[0])].path,
                fix="in training, lower the learning rates (optim.lr_*), set optim.grad_clip (e.g. 5), start from "
                "pretrained weights or use a larger batch; for a saved model, use an earlier checkpoint",
            )


def l2_normalize(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero)."""
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.maximum(norms, 1e-12)
