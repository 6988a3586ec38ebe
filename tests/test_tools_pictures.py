"""raereid reconstruct and raereid gap: reconstruction sheets and the domain-gap t-SNE picture."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from raereid.cli.main import main
from raereid.data.registry import load_dataset
from raereid.inference.domain_gap import cross_domain_share, domain_gap_picture
from raereid.sheets import LABEL_W, PAD
from raereid.tools.inputs import open_model, pick_evenly
from raereid.tools.reconstruct import reconstruct


def test_reconstruct_shows_target_and_source_queries_next_to_their_reconstructions(tiny_runs, tmp_path, capsys):
    out = tmp_path / "rec.png"
    assert main(["reconstruct", "--checkpoint", str(tiny_runs.full), "--num", "3", "--out", str(out)]) == 0
    assert "6 images and their reconstructions" in capsys.readouterr().out
    sheet = np.asarray(Image.open(out).convert("RGB"))
    h, w = 64, 32
    assert sheet.shape == (2 * 2 * (h + PAD) + PAD, LABEL_W + 3 * (w + PAD) + PAD, 3)
    trained = open_model(tiny_runs.full)
    for group, name in enumerate(("market", "duke")):  # target first, then source
        paths = [r.path for r in pick_evenly(load_dataset(name, tiny_runs.data).query, 3)]
        originals, recons = reconstruct(trained.model, paths, h, w)
        for c in range(3):
            x = LABEL_W + c * (w + PAD)
            y = PAD + group * 2 * (h + PAD)
            np.testing.assert_array_equal(sheet[y:y + h, x:x + w], originals[c])
            np.testing.assert_array_equal(sheet[y + h + PAD:y + 2 * h + PAD, x:x + w], recons[c])
            assert not np.array_equal(originals[c], recons[c])


def test_reconstruct_given_images_and_a_model_without_decoder(tiny_runs, tmp_path, capsys):
    out = tmp_path / "rec.png"
    query = tiny_runs.market / "query"
    image = sorted(query.iterdir())[0]
    assert main(["reconstruct", "--checkpoint", str(tiny_runs.full), "--images", str(query), "--images", str(image),
                 "--num", "4", "--out", str(out)]) == 0
    assert Image.open(out).size == (LABEL_W + 4 * (32 + PAD) + PAD, 2 * 2 * (64 + PAD) + PAD)
    capsys.readouterr()
    assert main(["reconstruct", "--checkpoint", str(tiny_runs.direct), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "has no decoder" in err and "pt, ft+pt, full" in err


def test_gap_picture_before_and_after(tiny_runs, tmp_path, capsys):
    out = tmp_path / "gap.png"
    argv = ["gap", "--checkpoint", str(tiny_runs.full), "--before", str(tiny_runs.direct), "--per-domain", "30",
            "--out", str(out)]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    summary = json.loads(out.with_suffix(".json").read_text())
    assert summary["per_domain"] == [30, 30] and (summary["source"], summary["target"]) == ("dukemtmcreid",
                                                                                            "market1501")
    assert [t.split(":")[0] for t in summary["models"]] == ["before", "after"]
    for title, stats in summary["models"].items():
        assert 0.0 <= stats["cross_domain_share"] <= 1.0 and stats["expected_if_mixed"] == pytest.approx(30 / 59,
                                                                                                         abs=1e-4)
        assert title in printed
    assert Image.open(out).size == (1040, 500)  # two 5.2 x 5 inch panels at 100 dpi


def test_domain_gap_picture_with_one_model(tiny_runs, tmp_path):
    trained = open_model(tiny_runs.full)
    source, target = (load_dataset(n, tiny_runs.data).train for n in ("duke", "market"))
    out = domain_gap_picture({"full": trained.model}, source, target, trained.cfg, tmp_path / "one.png", per_domain=12)
    assert Image.open(out).size == (520, 500)
    assert list(json.loads(out.with_suffix(".json").read_text())["models"]) == ["full"]


def test_cross_domain_share():
    rng = np.random.default_rng(0)
    apart = np.concatenate([rng.normal(size=(40, 8)) + 20, rng.normal(size=(40, 8)) - 20])
    apart /= np.linalg.norm(apart, axis=1, keepdims=True)
    domain = np.repeat([0, 1], 40)
    assert cross_domain_share(apart, domain, 5) == (0.0, pytest.approx(40 / 79))
    mixed = rng.normal(size=(400, 8))
    share, expected = cross_domain_share(mixed / np.linalg.norm(mixed, axis=1, keepdims=True), np.repeat([0, 1], 200),
                                         10)
    assert share == pytest.approx(expected, abs=0.05)
