"""A searchable gallery: faiss inner-product index over L2-normalised descriptors (cosine similarity).

An index is a folder: `gallery.faiss` (faiss.write_index of an exact IndexFlatIP) and `index.json`
(gallery paths and ids, the checkpoint path, a fingerprint of the model's weights, descriptor
size). Searching with another model than the one that built the index is refused: its
descriptors live in another space and the results would be silently meaningless.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from raereid.data.records import ImageRecord
from raereid.errors import CheckpointError, DatasetError
from raereid.inference.model_io import TrainedModel
from raereid.tools.inputs import describe
from raereid.tools.ranking import RankedQuery

FORMAT = "raereid-index"
VERSION = 1
INDEX_FILE = "gallery.faiss"
META_FILE = "index.json"


def model_fingerprint(model: nn.Module) -> str:
    """SHA-256 of the model's weights and buffers (names, dtypes, shapes, bytes): equal models, equal prints."""
    digest = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        t = tensor.detach().cpu().contiguous()
        digest.update(f"{name}|{t.dtype}|{tuple(t.shape)}|".encode())
        digest.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


@dataclass
class GalleryIndex:
    folder: Path
    index: Any  # a faiss.Index (faiss is imported lazily)
    records: list[ImageRecord]
    meta: dict

    @property
    def dim(self) -> int:
        return int(self.index.d)

    def search(self, queries: np.ndarray, topk: int) -> tuple[np.ndarray, np.ndarray]:
        """(similarities, gallery indices), each (num_queries, min(topk, gallery size)), best first."""
        k = min(topk, self.index.ntotal)
        return self.index.search(np.ascontiguousarray(queries, dtype=np.float32), k)


def build_index(trained: TrainedModel, records: Sequence[ImageRecord], out: str | Path,
                batch_size: int | None = None) -> GalleryIndex:
    """Describe every gallery record with `trained` and write the index folder `out`."""
    import faiss

    if not records:
        raise DatasetError("the gallery is empty", where=out, fix="index a folder or list file holding gallery images")
    feats = describe(trained, records, batch_size, desc="index")
    index = faiss.IndexFlatIP(feats.shape[1])
    index.add(feats)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    faiss.write_index(index, str(out / INDEX_FILE))
    meta = {
        "format": FORMAT,
        "version": VERSION,
        "checkpoint": str(trained.path.resolve()),
        "model_sha256": model_fingerprint(trained.model),
        "variant": trained.model.variant.name,
        "input_size": list(trained.model.input_size),
        "dim": int(feats.shape[1]),
        "count": len(records),
        "similarity": "cosine (inner product of L2-normalised descriptors)",
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "paths": [r.path for r in records],
        "pids": [r.pid for r in records],
        "camids": [r.camid for r in records],
    }
    (out / META_FILE).write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")
    return GalleryIndex(out, index, list(records), meta)


def open_index(folder: str | Path) -> GalleryIndex:
    """Read an index folder written by `build_index`, checking that its two files belong together."""
    import faiss

    folder = Path(folder).expanduser()
    fix = "pass the folder written by raereid index (it holds index.json and gallery.faiss), or rebuild it"
    meta_path, index_path = folder / META_FILE, folder / INDEX_FILE
    if not meta_path.is_file() or not index_path.is_file():
        raise DatasetError("not a raereid index folder", where=folder, fix=fix)
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        index = faiss.read_index(str(index_path))
    except (ValueError, RuntimeError) as exc:
        raise DatasetError(f"unreadable index ({str(exc).splitlines()[0]})", where=folder, fix=fix) from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise DatasetError("index.json is not a raereid index description", where=meta_path, fix=fix)
    count = len(meta.get("paths", []))
    if index.ntotal != count or index.d != meta.get("dim"):
        raise DatasetError(
            f"gallery.faiss holds {index.ntotal} vectors of size {index.d} but index.json lists {count} images of "
            f"size {meta.get('dim')}",
            where=folder,
            fix="the two files come from different runs; rebuild the index with raereid index",
        )
    records = [ImageRecord(p, int(i), int(c)) for p, i, c in zip(meta["paths"], meta["pids"], meta["camids"])]
    return GalleryIndex(folder, index, records, meta)


def check_model(index: GalleryIndex, trained: TrainedModel) -> None:
    """Refuse a model other than the one whose descriptors fill the index."""
    if model_fingerprint(trained.model) != index.meta.get("model_sha256"):
        raise CheckpointError(
            f"the index was built with another model ({index.meta.get('variant')}, {index.meta.get('checkpoint')}), "
            "so its descriptors are not comparable with this checkpoint's",
            where=f"index {index.folder}, checkpoint {trained.path}",
            fix="search with the checkpoint that built the index, or rebuild the index: "
                "raereid index --checkpoint CKPT ...",
        )


def index_checkpoint(index: GalleryIndex, checkpoint: str | Path | None) -> Path:
    """The checkpoint to search with: the one given, else the one recorded in the index."""
    path = Path(checkpoint or index.meta.get("checkpoint", "")).expanduser()
    if not path.is_file():
        raise CheckpointError(
            "the checkpoint that built the index is not found",
            where=path,
            fix="pass --checkpoint with the model that built the index (a copy of it is fine)",
        )
    return path


def search(index: GalleryIndex, trained: TrainedModel, queries: Sequence[ImageRecord],
           topk: int = 10) -> list[RankedQuery]:
    """The top-k gallery images of each query image, by cosine similarity."""
    check_model(index, trained)
    sims, ids = index.search(describe(trained, queries, desc="query"), topk)
    return [
        RankedQuery(q, [index.records[j] for j in row_ids if j >= 0],
                    [float(s) for s, j in zip(row_sims, row_ids) if j >= 0])
        for q, row_sims, row_ids in zip(queries, sims, ids)
    ]
