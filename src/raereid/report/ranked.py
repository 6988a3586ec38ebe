"""Ranked lists for the report, ranked by `tools/ranking` under the evaluator's protocol, and their images
copied into the report folder so the page opens from disk anywhere."""

from __future__ import annotations

import hashlib
from pathlib import Path

from PIL import Image

from raereid.data.images import load_rgb
from raereid.data.records import ReidDataset
from raereid.inference.model_io import TrainedModel
from raereid.tools.inputs import describe
from raereid.tools.ranking import CELL, RankedQuery, rank_dataset, standard_sheets

SHEETS = {
    "chosen": "Same queries for every run, spread over the query set",
    "best": "Best queries (highest average precision)",
    "worst": "Worst queries (lowest average precision)",
}


def rank_run(trained: TrainedModel, dataset: ReidDataset, topk: int, queries: int,
             extremes: int) -> dict[str, list[RankedQuery]]:
    """The top-k lists of `queries` queries spread over the query set (the same for every model of this dataset),
    and of the `extremes` best and worst queries by AP."""
    feats = describe(trained, dataset.query + dataset.gallery, desc=f"describe {dataset.name}")
    nq = len(dataset.query)
    sheets = rank_dataset(feats[:nq], feats[nq:], dataset.query, dataset.gallery, topk,
                          standard_sheets(queries, extremes))
    return {"chosen": sheets["ranked"], "best": sheets["best"], "worst": sheets["worst"]}


class Thumbnails:
    """Dataset images copied into `folder` at the ranked sheets' cell size, one JPEG per source image."""

    def __init__(self, folder: Path, base: Path, cell: tuple[int, int] = CELL):
        self.folder, self.base, self.cell = folder, base, cell
        self._written: set[str] = set()

    def __call__(self, path: str) -> str:
        """The thumbnail of `path`, written on first use, as a path relative to the report's folder."""
        name = hashlib.sha1(path.encode("utf-8")).hexdigest()[:16] + ".jpg"
        if name not in self._written:
            self.folder.mkdir(parents=True, exist_ok=True)
            image = load_rgb(path).resize((self.cell[1], self.cell[0]), Image.Resampling.BICUBIC)
            image.save(self.folder / name, quality=90)
            self._written.add(name)
        return (self.folder / name).relative_to(self.base).as_posix()
