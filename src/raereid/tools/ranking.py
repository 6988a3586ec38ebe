"""Ranked-result pictures like the paper's Fig. 4 and 5: a row per query, then its top-k gallery images.

Rankings follow the evaluator exactly (Market-1501 protocol: gallery images of the query's identity
seen by the query's camera, and junk, are skipped; cosine distance, ties by gallery index), so a
green first cell in a picture is a rank-1 hit in the reported score.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from raereid.data.images import load_rgb
from raereid.data.records import UNKNOWN_ID, ImageRecord
from raereid.errors import InputError
from raereid.evaluation.distances import DistanceBlocks
from raereid.evaluation.rank import BLOCK_VALUES, score_block

CELL = (128, 64)  # (height, width) of each image in a sheet
BORDER = 4
TEXT_H = 14
PAD = 4
QUERY_GAP = 14  # extra space between the query column and its results
MARGIN = 8
TITLE_H = 20
GREEN = (0, 170, 0)
RED = (220, 0, 0)
BLUE = (40, 90, 220)
GREY = (150, 150, 150)


@dataclass
class RankedQuery:
    """One query and its top-k gallery images; `correct` is None where identities are unknown."""

    query: ImageRecord
    results: list[ImageRecord]
    similarity: list[float]
    correct: list[bool] | None = None
    ap: float | None = None
    first_match: int | None = None  # 0-based rank of the first true match (over the whole gallery)

    def as_dict(self) -> dict:
        return {
            "query": self.query.path,
            "pid": self.query.pid,
            "camid": self.query.camid,
            "ap": self.ap,
            "first_match_rank": None if self.first_match is None else self.first_match + 1,
            "results": [
                {
                    "rank": i + 1,
                    "path": r.path,
                    "pid": r.pid,
                    "camid": r.camid,
                    "similarity": round(s, 6),
                    "correct": None if self.correct is None else self.correct[i],
                }
                for i, (r, s) in enumerate(zip(self.results, self.similarity))
            ],
        }


def _blocks(q: np.ndarray, g: np.ndarray, wanted: set[int] | None = None) -> Iterator[tuple[int, int, np.ndarray]]:
    """Cosine distance blocks of query rows, the blocks the evaluator uses (only those holding a `wanted` row)."""
    blocks = DistanceBlocks(q, g, "cosine")
    rows = max(1, BLOCK_VALUES // max(1, g.shape[0]))
    for start in range(0, q.shape[0], rows):
        stop = min(q.shape[0], start + rows)
        if wanted is None or any(start <= i < stop for i in wanted):
            yield start, stop, blocks.block(start, stop)


def _ids(records: Sequence[ImageRecord]) -> tuple[np.ndarray, np.ndarray]:
    return np.array([r.pid for r in records], np.int64), np.array([r.camid for r in records], np.int64)


def rank_dataset(
    q_feats: np.ndarray,
    g_feats: np.ndarray,
    query: Sequence[ImageRecord],
    gallery: Sequence[ImageRecord],
    topk: int,
    pick: Callable[[np.ndarray, np.ndarray], dict[str, list[int]]],
) -> dict[str, list[RankedQuery]]:
    """Rank every query, then the top-k lists of the queries `pick(first, ap)` names per sheet.

    `first` and `ap` are the evaluator's per-query 0-based first-match rank (-1: skipped query) and AP.
    """
    q_pids, q_cams = _ids(query)
    g_pids, g_cams = _ids(gallery)
    first = np.empty(len(query), np.int64)
    ap = np.empty(len(query), np.float64)
    for start, stop, dist in _blocks(q_feats, g_feats):
        first[start:stop], ap[start:stop], _ = score_block(dist, q_pids[start:stop], q_cams[start:stop], g_pids, g_cams)
    if not (first >= 0).any():
        raise InputError(
            "no query has a true match in the gallery (after dropping same-id same-camera images and junk)",
            fix="rank a dataset whose query and gallery splits share identities",
        )
    sheets = pick(first, ap)
    wanted = {i for rows in sheets.values() for i in rows}
    ranked: dict[int, RankedQuery] = {}
    for start, stop, dist in _blocks(q_feats, g_feats, wanted):
        for i in sorted(i for i in wanted if start <= i < stop):
            row = dist[i - start]
            dropped = ((g_pids == q_pids[i]) & (g_cams == q_cams[i])) | (g_pids == UNKNOWN_ID)
            order = np.argsort(np.where(dropped, np.inf, row), kind="stable")[: min(topk, int((~dropped).sum()))]
            ranked[i] = RankedQuery(
                query=query[i],
                results=[gallery[j] for j in order],
                similarity=[float(1.0 - row[j]) for j in order],
                correct=[bool(g_pids[j] == q_pids[i]) for j in order],
                ap=float(ap[i]),
                first_match=int(first[i]),
            )
    return {name: [ranked[i] for i in rows] for name, rows in sheets.items()}


def standard_sheets(num_queries: int, extremes: int) -> Callable[[np.ndarray, np.ndarray], dict[str, list[int]]]:
    """`ranked`: `num_queries` queries spread over the valid ones; `best` / `worst`: the highest / lowest AP."""

    def pick(first: np.ndarray, ap: np.ndarray) -> dict[str, list[int]]:
        valid = np.flatnonzero(first >= 0)
        picks = np.linspace(0, len(valid) - 1, min(num_queries, len(valid))).round().astype(int)
        spread = [int(i) for i in np.unique(picks)]
        best = sorted(valid, key=lambda i: (-ap[i], first[i], i))[:extremes]
        worst = sorted(valid, key=lambda i: (ap[i], -first[i], i))[:extremes]
        return {"ranked": [int(valid[i]) for i in spread], "best": [int(i) for i in best],
                "worst": [int(i) for i in worst]}

    return pick


# ---------------------------------------------------------------- pictures
def cell_origin(row: int, col: int, topk: int = 0, cell: tuple[int, int] = CELL) -> tuple[int, int]:
    """Top-left pixel (x, y) of the bordered cell of `row`, column `col` (0 = query, 1..k = ranks)."""
    h, w = cell
    x = MARGIN if col == 0 else MARGIN + (w + 2 * BORDER) + QUERY_GAP + (col - 1) * (w + 2 * BORDER + PAD)
    y = MARGIN + TITLE_H + row * (h + 2 * BORDER + TEXT_H + PAD)
    return x, y


def sheet_size(rows: int, topk: int, cell: tuple[int, int] = CELL, title_width: int = 0) -> tuple[int, int]:
    """(width, height) of a sheet of `rows` queries with `topk` results each."""
    h, w = cell
    right = cell_origin(0, topk, topk, cell)[0] + w + 2 * BORDER + MARGIN
    bottom = cell_origin(rows, 0, topk, cell)[1] - PAD + MARGIN
    return max(right, title_width + 2 * MARGIN), bottom


def _thumbnail(path: str, cell: tuple[int, int]) -> Image.Image:
    return load_rgb(path).resize((cell[1], cell[0]), Image.Resampling.BICUBIC)


def _paste(sheet: Image.Image, draw: ImageDraw.ImageDraw, font: ImageFont.ImageFont | ImageFont.FreeTypeFont, x: int,
           y: int, path: str, colour: tuple[int, int, int], label: str, cell: tuple[int, int]) -> None:
    h, w = cell
    draw.rectangle([x, y, x + w + 2 * BORDER - 1, y + h + 2 * BORDER - 1], fill=colour)
    sheet.paste(_thumbnail(path, cell), (x + BORDER, y + BORDER))
    text_w = draw.textlength(label, font=font)
    draw.text((x + (w + 2 * BORDER - text_w) / 2, y + h + 2 * BORDER + 1), label, fill="black", font=font)


def draw_sheet(rows: Sequence[RankedQuery], out: str | Path, title: str = "", cell: tuple[int, int] = CELL) -> Path:
    """One PNG: each query (blue border) then its results, green = same identity, red = different,
    grey = unknown; the cosine similarity under each result."""
    if not rows:
        raise InputError("nothing to draw: no queries", fix="rank at least one query")
    font = ImageFont.load_default()
    topk = max(len(r.results) for r in rows)
    probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    sheet = Image.new("RGB", sheet_size(len(rows), topk, cell, int(probe.textlength(title, font=font)) + 1), "white")
    draw = ImageDraw.Draw(sheet)
    draw.text((MARGIN, MARGIN // 2 + 2), title, fill="black", font=font)
    for r, row in enumerate(rows):
        label = "query" if row.ap is None else f"query AP {row.ap:.2f}"
        _paste(sheet, draw, font, *cell_origin(r, 0, topk, cell), row.query.path, BLUE, label, cell)
        for c, (record, sim) in enumerate(zip(row.results, row.similarity), 1):
            colour = GREY if row.correct is None else (GREEN if row.correct[c - 1] else RED)
            _paste(sheet, draw, font, *cell_origin(r, c, topk, cell), record.path, colour, f"{sim:.4f}", cell)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(out)
    return out


def rank_pictures(
    q_feats: np.ndarray,
    g_feats: np.ndarray,
    query: Sequence[ImageRecord],
    gallery: Sequence[ImageRecord],
    out_dir: str | Path,
    topk: int = 10,
    num_queries: int = 20,
    extremes: int = 10,
    name: str = "",
) -> dict[str, Path]:
    """ranked.png, best.png and worst.png (plus ranking.json with every list shown) in `out_dir`."""
    sheets = rank_dataset(q_feats, g_feats, query, gallery, topk, standard_sheets(num_queries, extremes))
    out_dir = Path(out_dir)
    prefix = f"{name}: " if name else ""
    titles = {
        "ranked": f"{prefix}queries (blue) and top-{topk}; green = same person, red = different; cosine similarity",
        "best": f"{prefix}the {len(sheets['best'])} queries of highest average precision",
        "worst": f"{prefix}the {len(sheets['worst'])} queries of lowest average precision",
    }
    paths = {key: draw_sheet(rows, out_dir / f"{key}.png", titles[key]) for key, rows in sheets.items()}
    listing = {key: [r.as_dict() for r in rows] for key, rows in sheets.items()}
    (out_dir / "ranking.json").write_text(json.dumps(listing, indent=1) + "\n", encoding="utf-8")
    paths["json"] = out_dir / "ranking.json"
    return paths
