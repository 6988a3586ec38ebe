"""raereid rank: ranked-result sheets whose colours and order follow the evaluator's protocol."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from raereid.cli.main import main
from raereid.data.registry import load_dataset
from raereid.evaluation import evaluate_features
from raereid.tools.inputs import describe, open_model
from raereid.tools.ranking import BLUE, GREEN, RED, TEXT_H, cell_origin, rank_dataset, sheet_size


def test_rank_sheets_have_the_layout_and_a_green_or_red_border_per_result(tiny_runs, tmp_path):
    out = tmp_path / "rank"
    argv = ["rank", "--checkpoint", str(tiny_runs.full), "--data-root", str(tiny_runs.data), "--dataset", "market1501",
            "--out", str(out), "--topk", "3", "--num-queries", "4", "--extremes", "2"]
    assert main(argv) == 0
    listing = json.loads((out / "ranking.json").read_text())
    assert [len(listing[k]) for k in ("ranked", "best", "worst")] == [4, 2, 2]
    best_ap = [q["ap"] for q in listing["best"]]
    worst_ap = [q["ap"] for q in listing["worst"]]
    assert min(best_ap) >= max(worst_ap) and best_ap == sorted(best_ap, reverse=True)
    seen = set()
    for key, rows in listing.items():
        sheet = Image.open(out / f"{key}.png").convert("RGB")
        assert sheet.size[1] == sheet_size(len(rows), 3)[1] and sheet.size[0] >= sheet_size(len(rows), 3)[0]
        for r, row in enumerate(rows):
            x, y = cell_origin(r, 0, 3)
            assert sheet.getpixel((x + 1, y + 1)) == BLUE
            sims = [res["similarity"] for res in row["results"]]
            assert len(sims) == 3 and sims == sorted(sims, reverse=True)
            for c, res in enumerate(row["results"], 1):
                # the protocol: never the query's identity seen by the query's camera
                assert not (res["pid"] == row["pid"] and res["camid"] == row["camid"])
                assert res["correct"] == (res["pid"] == row["pid"])
                seen.add(res["correct"])
                x, y = cell_origin(r, c, 3)
                assert sheet.getpixel((x + 1, y + 1)) == (GREEN if res["correct"] else RED)
                assert sheet.getpixel((x + 1, y + 1 + TEXT_H)) == (GREEN if res["correct"] else RED)
            assert (row["first_match_rank"] == 1) == row["results"][0]["correct"]
    assert seen == {True, False}  # both border colours were checked


def test_rankings_give_the_evaluators_rank1(tiny_runs):
    trained = open_model(tiny_runs.full)
    ds = load_dataset("market", tiny_runs.data)
    feats = describe(trained, ds.query + ds.gallery)
    q, g = feats[: len(ds.query)], feats[len(ds.query):]
    every = lambda first, ap: {"all": [int(i) for i in np.flatnonzero(first >= 0)]}  # noqa: E731
    rows = rank_dataset(q, g, ds.query, ds.gallery, 10, every)["all"]
    result = evaluate_features(q, g, *(np.array([getattr(r, a) for r in recs]) for a, recs in
                               (("pid", ds.query), ("pid", ds.gallery), ("camid", ds.query), ("camid", ds.gallery))),
                               metric="cosine")
    assert len(rows) == result["num_valid_queries"]
    assert np.mean([row.correct[0] for row in rows]) == pytest.approx(result["cmc"][0])
    assert np.mean([any(row.correct[:5]) for row in rows]) == pytest.approx(result["cmc"][4])
    assert np.mean([row.ap for row in rows]) == pytest.approx(result["mAP"])
