"""raereid select (cli/select.py, tools/select.py) on hand-made run folders and on the report's tiny runs, its clear
errors (exit 2), and the report's label-free section."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from report_fixtures import ReportRuns, parse_page

from raereid.cli.main import main
from raereid.inference.metrics import METRIC_KEYS, MetricsRecord
from raereid.selection.record import Judged, LabelFreeRecord
from raereid.selection.signals import SIGNAL_KEYS

HEALTHY = {"images": 200, "clusters": 40, "outlier_fraction": 0.2, "largest_cluster_share": 0.05,
           "cross_camera_share": 0.8, "stability_ari": 0.6, "silhouette": 0.3, "knn_agreement": 0.5}
COLLAPSED = {"images": 200, "clusters": 2, "outlier_fraction": 0.0, "largest_cluster_share": 0.98,
             "cross_camera_share": 1.0, "stability_ari": 0.95, "silhouette": -0.1, "knn_agreement": 0.6}


def _signals(**values: float | int) -> dict:
    return {**dict.fromkeys(SIGNAL_KEYS), **values}


def fake_run(folder: Path, final: dict, snapshots: tuple[dict, ...] = (), test_map: float | None = 30.0,
             val_map: float | None = 28.0, root: str = "/data/A", target: str = "market1501") -> Path:
    """A finished run folder as raereid train writes it, with hand-made signals (metrics.json, config.yaml)."""
    record = LabelFreeRecord(
        snapshots=[Judged(f"checkpoints/select/iter_{100 * (i + 1):06d}.pt", 100 * (i + 1), _signals(**s))
                   for i, s in enumerate(snapshots)],
        final=Judged("model.pt", 100 * (len(snapshots) + 1), _signals(**final)))
    scores = dict.fromkeys(METRIC_KEYS, test_map)
    val = None if val_map is None else dict.fromkeys(METRIC_KEYS, val_map)
    folder.mkdir(parents=True)
    MetricsRecord("full", "classifier", "dukemtmcreid", target, scores, 500, 1.0, val,
                  label_free=record.to_json()).write(folder / "metrics.json")
    (folder / "config.yaml").write_text(yaml.safe_dump({"data": {"root": root, "target": target}}))
    return folder


def _select(capsys: pytest.CaptureFixture, *args: str) -> tuple[int, str, str]:
    code = main(["select", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_runs_are_ranked_by_the_score_with_the_labelled_map_beside_it(tmp_path: Path, capsys) -> None:
    # the collapsed run has the higher labelled mAP: the choice does not follow it
    fake_run(tmp_path / "runs" / "healthy", HEALTHY, test_map=20.0, val_map=21.0)
    fake_run(tmp_path / "runs" / "collapsed", COLLAPSED, test_map=40.0, val_map=41.0)
    code, out, _ = _select(capsys, str(tmp_path / "runs"))
    assert code == 0
    lines = out.splitlines()
    assert "health" in lines[0] and "no label read" in lines[0]
    first, second = (line.split() for line in lines[2:4])
    assert first[:3] == ["1", "healthy", "model.pt"] and second[:3] == ["2", "collapsed", "model.pt"]
    assert first[-2:] == ["20.0", "21.0"] and second[-2:] == ["40.0", "41.0"]
    assert "choice: healthy model.pt" in out and "never an input to the score" in out
    code, out, _ = _select(capsys, str(tmp_path / "runs" / "healthy"), str(tmp_path / "runs" / "collapsed"),
                           "--json")
    doc = json.loads(out)
    assert code == 0 and doc["candidates"] == "final" and doc["choice"]["run"] == "healthy"
    assert [(r["run"], r["checkpoint"], r["rank"]) for r in doc["records"]] == [("healthy", "model.pt", 1),
                                                                                 ("collapsed", "model.pt", 2)]
    assert all({"run", "checkpoint", "score", "labelled_map", "labelled_val_map"} <= set(r) for r in doc["records"])
    assert doc["records"][1]["labelled_map"] == 40.0 and doc["score"] == "health"


def test_checkpoints_are_ranked_inside_each_run(tmp_path: Path, capsys) -> None:
    fake_run(tmp_path / "a", COLLAPSED, snapshots=(COLLAPSED, HEALTHY))
    fake_run(tmp_path / "b", {**HEALTHY, "silhouette": 0.1}, snapshots=(COLLAPSED,))
    code, out, _ = _select(capsys, str(tmp_path / "a"), str(tmp_path / "b"), "--checkpoints", "--json")
    doc = json.loads(out)
    assert code == 0 and len(doc["records"]) == 5
    best = {r["run"]: r["checkpoint"] for r in doc["records"] if r["best_in_run"]}
    assert best == {"a": "checkpoints/select/iter_000200.pt", "b": "model.pt"}
    assert doc["choice"]["run"] == "a" and doc["choice"]["checkpoint"] == "checkpoints/select/iter_000200.pt"
    code, out, _ = _select(capsys, str(tmp_path / "a"), "--checkpoints", "--score", "stability")
    assert code == 0 and "choice: a checkpoints/select/iter_000100.pt" in out  # the collapsed round is stablest


def test_a_term_missing_for_one_run_is_left_out_for_all_and_said(tmp_path: Path, capsys) -> None:
    fake_run(tmp_path / "fused", HEALTHY)
    fake_run(tmp_path / "baseline", {**HEALTHY, "knn_agreement": None})  # one descriptor only
    code, out, _ = _select(capsys, str(tmp_path / "fused"), str(tmp_path / "baseline"))
    assert code == 0 and "term agreement left out for every candidate" in out


@pytest.mark.parametrize(("make", "message", "fix"), [
    (lambda tmp: tmp / "nowhere", "no such folder", "--out folder of raereid train"),
    (lambda tmp: tmp / "notes.txt", "not a folder", "--out folder of raereid train"),
    (lambda tmp: tmp / "empty", "not a run folder", "--out folder of raereid train"),
    (lambda tmp: tmp / "unfinished", "the run has not finished", "--resume"),
    (lambda tmp: tmp / "older", "metrics.json has no label_free record", "train the run again"),
], ids=["missing", "a-file", "not-a-run", "unfinished", "older"])
def test_a_folder_that_is_not_a_finished_run_exits_2(make, message: str, fix: str, tmp_path: Path, capsys) -> None:
    (tmp_path / "notes.txt").write_text("not a run")
    (tmp_path / "empty" / "data").mkdir(parents=True)
    (tmp_path / "unfinished").mkdir()
    (tmp_path / "unfinished" / "train.log").write_text("training...\n")
    (tmp_path / "older").mkdir()
    MetricsRecord("full", "classifier", "a", "b", dict.fromkeys(METRIC_KEYS), 5, 1.0).write(
        tmp_path / "older" / "metrics.json")
    code, out, err = _select(capsys, str(make(tmp_path)))
    assert code == 2 and out == ""
    assert f"raereid select: error: {message}" in err and f"where: {make(tmp_path)}" in err
    assert "fix:" in err and fix in err


def test_a_run_whose_config_is_not_yaml_exits_2_naming_it(tmp_path: Path, capsys) -> None:
    run = fake_run(tmp_path / "kept", HEALTHY)
    (run / "config.yaml").write_text("data:\n  root: {base}/DATA_A\n")  # a record not restored
    code, out, err = _select(capsys, str(run))
    assert code == 2 and out == ""
    assert "unreadable run config" in err and f"where: {run / 'config.yaml'}" in err and "records.py restore" in err


@pytest.mark.parametrize("other", [{"root": "/data/B"}, {"target": "dukemtmcreid"}], ids=["draw", "dataset"])
def test_runs_of_different_targets_exit_2(other: dict, tmp_path: Path, capsys) -> None:
    fake_run(tmp_path / "a", HEALTHY)
    fake_run(tmp_path / "b", HEALTHY, **other)
    code, _, err = _select(capsys, str(tmp_path / "a"), str(tmp_path / "b"))
    assert code == 2 and "adapted to different targets" in err and "one target at a time" in err


def test_trained_runs_are_ranked_and_the_report_shows_the_ranking(report_runs: ReportRuns, report_page: Path,
                                                                  capsys) -> None:
    code, out, _ = _select(capsys, str(report_runs.direct), str(report_runs.full), "--checkpoints", "--json")
    doc = json.loads(out)
    assert code == 0 and {r["run"] for r in doc["records"]} == {"direct", "full"}
    finals = {r["run"]: r for r in doc["records"] if r["checkpoint"] == "model.pt"}
    for name, run in (("direct", report_runs.direct), ("full", report_runs.full)):
        assert finals[name]["labelled_map"] == json.loads((run / "metrics.json").read_text())["mAP"]
    section = parse_page(report_page).find_all("section", id="label-free")[0]
    text = section.all_text()
    assert "never an input to the score" in text and "checkpoints along the run" in text
    tables = section.find_all("table")
    assert len(tables) == 3  # the runs ranked, then each run's checkpoints
    rows = tables[0].find_all("tbody")[0].find_all("tr")
    assert len(rows) == 2 and sum("✓" in r.all_text() for r in rows) == 1
