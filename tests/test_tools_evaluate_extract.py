"""raereid evaluate and raereid extract on tiny trained models."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from raereid.cli.main import main
from raereid.data.registry import load_dataset
from raereid.engine.runtime import Runtime
from raereid.inference.evaluate import evaluate_model
from raereid.inference.features import extract, l2_normalize
from raereid.inference.model_io import load_model

KEYS = {"variant", "learner", "source", "target", "mAP", "rank1", "rank5", "rank10", "mINP", "iterations", "seconds"}


@pytest.mark.parametrize("rerank", [False, True])
def test_evaluate_json_has_the_metrics_json_fields_and_agrees_with_evaluate_model(tiny_runs, capsys, rerank):
    argv = ["evaluate", "--checkpoint", str(tiny_runs.full), "--data-root", str(tiny_runs.data), "--dataset", "market",
            "--json"]
    assert main(argv + (["--rerank"] if rerank else [])) == 0
    result = json.loads(capsys.readouterr().out)
    assert set(result) == KEYS
    assert (result["variant"], result["source"], result["target"], result["iterations"]) == ("full", "dukemtmcreid",
                                                                                             "market1501", 4)
    assert result["learner"] == "classifier"  # the same fields as metrics.json, learner included
    trained = load_model(tiny_runs.full)
    expected = evaluate_model(trained.model, load_dataset("market", tiny_runs.data), trained.cfg,
                              Runtime(torch.device("cpu")), use_rerank=rerank)
    for key in ("mAP", "rank1", "rank5", "rank10", "mINP"):
        assert result[key] == pytest.approx(expected[key], abs=1e-4)
        assert 0 <= result[key] <= 100
    if not rerank:  # the training run evaluated the same model on the same split at its end
        saved = json.loads((tiny_runs.full.parent / "metrics.json").read_text())
        assert {k: result[k] for k in ("mAP", "rank1", "mINP")} == {k: saved[k] for k in ("mAP", "rank1", "mINP")}


def test_evaluate_the_encoders_descriptor_of_a_full_model(tiny_runs, capsys):
    assert main(["evaluate", "--checkpoint", str(tiny_runs.full), "--descriptor", "encoder", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    trained = load_model(tiny_runs.full)
    expected = evaluate_model(trained.model, load_dataset("market", tiny_runs.data), trained.cfg,
                              Runtime(torch.device("cpu")), kind="encoder")
    assert result["mAP"] == pytest.approx(expected["mAP"],
                                          abs=1e-4) and result["mINP"] == pytest.approx(expected["mINP"], abs=1e-4)


def test_evaluate_defaults_to_the_checkpoints_target_and_prints_a_table(tiny_runs, capsys):
    assert main(["evaluate", "--checkpoint", str(tiny_runs.direct)]) == 0
    out = capsys.readouterr().out
    assert "direct model" in out and "market1501" in out
    assert [line.split()[0] for line in out.splitlines()[2:7]] == ["mAP", "rank-1", "rank-5", "rank-10", "mINP"]


def test_extract_a_dataset_split_matches_the_evaluators_descriptors(tiny_runs, tmp_path):
    out = tmp_path / "test.npz"
    argv = ["extract", "--checkpoint", str(tiny_runs.full), "--images", "market1501", "--data-root",
            str(tiny_runs.data), "--split", "test", "--out", str(out)]
    assert main(argv) == 0
    data = np.load(out)
    ds = load_dataset("market", tiny_runs.data)
    records = ds.query + ds.gallery
    assert data["descriptors"].shape == (len(records), 256) and data["descriptors"].dtype == np.float32
    assert list(data["paths"]) == [r.path for r in records]
    assert data["pids"].tolist() == [r.pid for r in records] and data["camids"].tolist() == [r.camid for r in records]
    assert str(data["variant"]) == "full" and int(data["iteration"]) == 4
    np.testing.assert_allclose(np.linalg.norm(data["descriptors"], axis=1), 1.0, atol=1e-5)
    trained = load_model(tiny_runs.full)
    raw = extract(trained.model, records, 64, 32, Runtime(torch.device("cpu")), workers=0)["final"]
    np.testing.assert_allclose(data["descriptors"], l2_normalize(raw), atol=1e-5)


def test_extract_reads_ids_from_list_files_and_market_names_and_cameras_from_folders(tiny_runs, tmp_path):
    query = sorted((tiny_runs.market / "query").iterdir())[:3]
    lists = tmp_path / "listed"
    for i, src in enumerate(query):
        (lists / "imgs").mkdir(parents=True, exist_ok=True)
        (lists / "imgs" / f"img{i}.jpg").write_bytes(src.read_bytes())
    (lists / "list.csv").write_text("path,pid,camid\n" + "".join(f"imgs/img{i}.jpg,{10 + i},{i}\n" for i in range(3)))
    assert main(["extract", "--checkpoint", str(tiny_runs.direct), "--images", str(lists / "list.csv"), "--out",
                 str(tmp_path / "a")]) == 0
    listed = np.load(tmp_path / "a.npz")
    assert listed["pids"].tolist() == [10, 11, 12] and listed["camids"].tolist() == [0, 1, 2]
    assert listed["descriptors"].shape == (3, 256)

    assert main(["extract", "--checkpoint", str(tiny_runs.direct), "--images", str(tiny_runs.market / "query"), "--out",
                 str(tmp_path / "b.npz")]) == 0
    named = np.load(tmp_path / "b.npz")
    assert named["pids"].tolist() == [int(p.name.split("_")[0]) for p in sorted((tiny_runs.market / "query").iterdir())]

    cams = tmp_path / "cams"
    for cam, src in zip((1, 1, 3), query):
        (cams / f"cam{cam}").mkdir(parents=True, exist_ok=True)
        (cams / f"cam{cam}" / f"x{src.name}").write_bytes(src.read_bytes())
    assert main(["extract", "--checkpoint", str(tiny_runs.direct), "--images", str(cams), "--out",
                 str(tmp_path / "c.npz")]) == 0
    folder = np.load(tmp_path / "c.npz")
    assert folder["pids"].tolist() == [-1, -1, -1] and folder["camids"].tolist() == [1, 1, 3]
    # the same image gives the same descriptor whichever way it was listed
    np.testing.assert_allclose(folder["descriptors"][0], listed["descriptors"][0], atol=1e-6)
