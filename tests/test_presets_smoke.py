"""A paper preset at its real size (ResNet-50 at 256x128, the full variant) through `raereid train` on a
few images in the real layouts, through both stages (the source stage, then adaptation): one iteration each,
evaluation and model.pt, about a minute on 2 CPU cores.

The CI runs market2msmt (its MSMT17 target is the layout no other training test reads); every preset
at once, with the domain-gap picture, is `python scripts/smoke_presets.py` (docs/reliability.md).
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
from conftest import market_tree, msmt_tree
from PIL import Image

from raereid.cli.main import main
from raereid.engine.checkpoint import load_checkpoint

_spec = importlib.util.spec_from_file_location("smoke_presets",
                                               Path(__file__).parents[1] / "scripts" / "smoke_presets.py")
smoke = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(smoke)


@pytest.mark.slow
def test_market2msmt_at_full_size(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    data, out = tmp_path / "data", tmp_path / "run"
    market_tree(data)
    msmt_tree(data)
    for i, path in enumerate(sorted(data.rglob("*.jpg"))):  # distinct images, so that k-means finds two clusters
        Image.fromarray(np.random.default_rng(i).integers(0, 255, (16, 8, 3), dtype=np.uint8)).save(path, "JPEG")
    sets = [*smoke.SMOKE_OVERRIDES, *smoke.PAPER_RATES, "optim.iterations=1", "source.iterations=1",
            "train.iters_per_epoch=1",
            "cluster.num_clusters=2", "cluster.min_samples=2", "train.gap_picture=false"]
    argv = ["train", "--config", "market2msmt", "--data-root", str(data), "--out", str(out),
            *[a for kv in sets for a in ("--set", kv)]]
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert "2 clusters" in err and "trains on the source only" not in err, err
    metrics = json.loads((out / "metrics.json").read_text())
    assert (metrics["source"], metrics["target"], metrics["iterations"]) == ("market1501", "msmt17", 1)
    assert metrics["variant"] == "full" and metrics["mAP"] is not None
    source = json.loads((out / "source" / "metrics.json").read_text())  # the source stage ran first, in OUTPUT/source
    assert (source["variant"], source["iterations"]) == ("direct", 1) and source["psnr_source"] is not None
    saved = load_checkpoint(out / "model.pt")
    assert saved["input_size"] == [256, 128] and saved["config"]["model"]["backbone"] == "resnet50"
