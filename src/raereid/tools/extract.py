"""Descriptors of a set of images saved with their paths and, where known, identities and cameras."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from raereid.data.records import ImageRecord
from raereid.errors import DatasetError
from raereid.inference.model_io import TrainedModel
from raereid.tools.inputs import describe


def extract_to_npz(trained: TrainedModel, records: Sequence[ImageRecord], out: str | Path,
                   batch_size: int | None = None) -> Path:
    """Write `out` (.npz): descriptors (N, D) float32 L2-normalised, paths (N,), pids and camids (N,) int64 (-1 =
    unknown), and the checkpoint, variant and iteration they come from."""
    if not records:
        raise DatasetError("no images to describe", where=out,
                           fix="pass a folder, list file or dataset split with images")
    feats = describe(trained, records, batch_size)
    out = Path(out)
    if out.suffix != ".npz":
        out = out.with_name(out.name + ".npz")  # np.savez would append it anyway; return the real name
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez(
        out,
        descriptors=feats,
        paths=np.array([r.path for r in records]),
        pids=np.array([r.pid for r in records], dtype=np.int64),
        camids=np.array([r.camid for r in records], dtype=np.int64),
        checkpoint=np.array(str(trained.path.resolve())),
        variant=np.array(trained.model.variant.name),
        iteration=np.array(trained.iteration, dtype=np.int64),
    )
    return out
