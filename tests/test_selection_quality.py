"""benchmarks/selection_quality.py (issue 32's measurement) and the label-free rows files and table column, on
hand-made run folders whose scores and labelled mAPs are known: tau, the regrets, and the design on the validation
split."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import yaml

from raereid.experiments.spec import load_spec
from raereid.experiments.table import run_values
from raereid.inference.metrics import METRIC_KEYS, MetricsRecord
from raereid.selection.record import Judged, LabelFreeRecord
from raereid.selection.signals import SIGNAL_KEYS

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import selection_quality as quality  # noqa: E402


def _signals(silhouette: float, stability: float = 0.5) -> dict:
    """Signals that differ only in the silhouette (and the stability), so the health score orders them by it."""
    return {**dict.fromkeys(SIGNAL_KEYS), "images": 100, "clusters": 20, "outlier_fraction": 0.2,
            "largest_cluster_share": 0.1, "cross_camera_share": 0.7, "stability_ari": stability,
            "silhouette": silhouette, "knn_agreement": 0.4}


def make_run(folder: Path, *, draw: str = "A", seed: int = 0, eps: float | str = 0.6, final: tuple = (0.2, 30.0, 31.0),
             snapshots: tuple = (), variant: str = "full") -> Path:
    """A finished run: final / snapshots are (silhouette, test mAP, val mAP) of each model judged."""
    snaps = [Judged(f"checkpoints/select/iter_{10 * (i + 1):06d}.pt", 10 * (i + 1), _signals(sil),
                    labelled={"test": {"mAP": t}, "val": {"mAP": v}}) for i, (sil, t, v) in enumerate(snapshots)]
    record = LabelFreeRecord(snapshots=snaps, final=Judged("model.pt", 10 * (len(snaps) + 1), _signals(final[0])))
    folder.mkdir(parents=True)
    MetricsRecord(variant, "classifier", "dukemtmcreid", "market1501", dict.fromkeys(METRIC_KEYS, final[1]), 50, 1.0,
                  dict.fromkeys(METRIC_KEYS, final[2]), label_free=record.to_json()).write(folder / "metrics.json")
    (folder / "config.yaml").write_text(yaml.safe_dump({"data": {"root": f"/data/{draw}", "target": "market1501"},
                                                        "train": {"seed": seed, "variant": variant},
                                                        "cluster": {"eps": eps}}))
    return folder


def test_a_score_that_orders_runs_as_the_map_does_has_tau_1_and_no_regret(tmp_path: Path, capsys) -> None:
    for i, (sil, m) in enumerate([(0.1, 10.0), (0.2, 20.0), (0.3, 30.0), (0.4, 40.0)]):
        make_run(tmp_path / "t" / "A" / f"r{i}", final=(sil, m, m + 1))
    for i, (sil, m) in enumerate([(0.1, 40.0), (0.2, 30.0), (0.3, 20.0), (0.4, 10.0)]):  # reversed on draw B
        make_run(tmp_path / "t" / "B" / f"r{i}", draw="B", final=(sil, m, m + 1))
    runs = quality.find_runs([tmp_path / "t"])
    assert len(runs) == 8 and {q.draw for q in runs} == {"A", "B"}
    result = quality.run_choice(runs, "separation", "test", reps=20)
    assert result["A"]["tau"] == pytest.approx(1.0) and result["A"]["regret"] == 0.0 and result["A"]["n"] == 4
    assert result["B"]["tau"] == pytest.approx(-1.0) and result["B"]["regret"] == pytest.approx(30.0)
    doc = tmp_path / "doc.md"
    doc.write_text("x\n<!-- table:selection_quality -->\nold\n<!-- /table:selection_quality -->\ny\n")
    assert quality.main(["--runs", str(tmp_path / "t"), "--json", str(tmp_path / "q.json"), "--write", str(doc),
                         "--bootstrap", "20"]) == 0
    out = capsys.readouterr().out
    written_doc = doc.read_text()
    assert "old" not in written_doc and "Test split (report" in written_doc and written_doc.endswith("-->\ny\n")
    assert "Command: `python benchmarks/selection_quality.py --runs" in written_doc
    assert "Checkpoint regrets: mean over 0 runs" in written_doc and "eps regrets: mean over 0 decisions" in written_doc
    assert "Design on the validation split" in out and "Test split (report" in out and "(chosen)" in out
    written = json.loads((tmp_path / "q.json").read_text())
    assert set(written) == {"chosen", "val", "test"} and written["test"]["separation"]["mean_tau"] == pytest.approx(0)


def test_a_run_copied_by_another_table_counts_once(tmp_path: Path) -> None:
    original = make_run(tmp_path / "learners" / "A" / "rows" / "full" / "seed0", final=(0.3, 30.0, 31.0))
    copy = make_run(tmp_path / "table4" / "A" / "rows" / "full" / "seed0", final=(0.3, 30.0, 31.0))
    (copy / "job.json").write_text(json.dumps({"command": [], "reused_from": str(original)}))
    make_run(tmp_path / "table4" / "A" / "rows" / "ft" / "seed0", final=(0.2, 20.0, 21.0))
    for order in ([tmp_path / "learners", tmp_path / "table4"], [tmp_path / "table4", tmp_path / "learners"]):
        runs = quality.find_runs(order)
        assert len(runs) == 2 and sorted(q.run.metrics.scores["mAP"] for q in runs) == [20.0, 30.0]


def test_a_run_without_a_label_free_record_is_passed_over_but_an_unrestored_one_stops_the_measurement(
        tmp_path: Path, capsys) -> None:
    make_run(tmp_path / "t" / "r0", final=(0.3, 30.0, 31.0))
    old = make_run(tmp_path / "t" / "r1", final=(0.2, 20.0, 21.0))
    record = json.loads((old / "metrics.json").read_text())
    record.pop("label_free")  # trained before label-free records
    (old / "metrics.json").write_text(json.dumps(record))
    assert [q.run.metrics.scores["mAP"] for q in quality.find_runs([tmp_path / "t"])] == [30.0]
    kept = make_run(tmp_path / "t" / "r2", final=(0.1, 10.0, 11.0))
    (kept / "config.yaml").write_text("data:\n  root: {base}/DATA_A\n")  # a record not restored
    assert quality.main(["--runs", str(tmp_path / "t"), "--bootstrap", "5"]) == 2
    err = capsys.readouterr().err
    assert "unreadable run config" in err and str(kept / "config.yaml") in err and "records.py restore" in err


def test_checkpoint_regret_against_the_best_and_the_last_checkpoint(tmp_path: Path) -> None:
    # snapshot 2 scores highest (silhouette 0.5) but snapshot 1 has the best test mAP: regret 5; the last: 15
    make_run(tmp_path / "r", snapshots=((0.3, 35.0, 30.0), (0.5, 30.0, 33.0)), final=(0.2, 20.0, 21.0))
    runs = quality.find_runs([tmp_path])
    test = quality.checkpoint_choice(runs, "separation", "test")
    assert test == {"runs": 1, "regret": 5.0, "regret_last": 15.0, "max_regret": 5.0}
    val = quality.checkpoint_choice(runs, "separation", "val")
    assert val["regret"] == 0.0 and val["regret_last"] == 12.0


def test_eps_regret_per_draw_and_seed_against_the_best_and_the_preset(tmp_path: Path) -> None:
    # seed 0: the score picks eps 0.5, the best mAP; seed 1: it picks 0.5 (mAP 20) where 0.7 had 26; preset 0.6
    for seed, maps in ((0, {0.5: 30.0, 0.6: 25.0, 0.7: 20.0}), (1, {0.5: 20.0, 0.6: 22.0, 0.7: 26.0})):
        for eps, sil in ((0.5, 0.4), (0.6, 0.3), (0.7, 0.2)):
            make_run(tmp_path / f"eps{eps}" / f"seed{seed}", seed=seed, eps=eps, final=(sil, maps[eps], maps[eps]))
    runs = quality.find_runs([tmp_path])
    result = quality.eps_choice(runs, "separation", "test", "0.6")
    assert result == {"decisions": 2, "regret": pytest.approx(3.0), "regret_preset": pytest.approx(4.5),
                      "chosen": ["A s0: 0.5 (best 0.5)", "A s1: 0.5 (best 0.7)"]}


def test_the_eps_choice_leaves_out_the_source_stage_of_the_runners_layout(tmp_path: Path) -> None:
    # the table runner's folders: DRAW/stages/default/seedS (the direct model, the config's eps 0.6) beside
    # DRAW/rows/eps_X/seedS; the stage scores highest and has the best mAP but is not an eps to choose
    out = tmp_path / "runs" / "tables" / "eps"
    make_run(out / "A" / "stages" / "default" / "seed0", eps=0.6, final=(0.9, 50.0, 50.0), variant="direct")
    for eps, sil, m in ((0.5, 0.4, 30.0), (0.6, 0.3, 25.0), (0.7, 0.2, 20.0)):
        make_run(out / "A" / "rows" / f"eps_{eps}" / "seed0", eps=eps, final=(sil, m, m))
    runs = quality.find_runs([out])
    assert len(runs) == 4
    assert quality.eps_choice(runs, "separation", "test", "0.6") == {
        "decisions": 1, "regret": 0.0, "regret_preset": pytest.approx(5.0), "chosen": ["A s0: 0.5 (best 0.5)"]}


def test_the_design_takes_the_best_validation_tau_and_keeps_the_default_on_ties() -> None:
    def result(t: float | None) -> dict:
        return {"mean_tau": t}

    assert quality.design({"health": result(0.2), "separation": result(0.5), "stability": result(0.1)}) == "separation"
    assert quality.design({"separation": result(0.5), "health": result(0.5)}) == "health"
    assert quality.design({"separation": result(None), "health": result(None)}) == "health"


def test_no_finished_run_exits_2(tmp_path: Path, capsys) -> None:
    assert quality.main(["--runs", str(tmp_path)]) == 2
    assert "no finished run with a label-free record" in capsys.readouterr().err


@pytest.mark.parametrize(("name", "key", "values"), [
    ("eps", "cluster.eps", ["0.4", "0.5", "0.6", "0.7", "auto"]),
    ("min_samples", "cluster.min_samples", ["2", "4", "8"]),
])
def test_the_clustering_rows_files_sweep_one_value_with_the_score_column(name: str, key: str, values: list) -> None:
    spec = load_spec(ROOT / "benchmarks" / "tables" / f"{name}.yaml")
    assert spec.name == name and "label_free_score" in spec.columns and "select.evaluate_snapshots=true" in spec.sets
    assert all(r.variant == "full" and len(r.sets) == 1 for r in spec.rows)
    assert [r.sets[0] for r in spec.rows] == [f"{key}={v}" for v in values]
    for table in ("table4", "learners"):  # the measurement needs each snapshot's labelled scores
        assert "select.evaluate_snapshots=true" in load_spec(ROOT / "benchmarks" / "tables" / f"{table}.yaml").sets


def test_the_table_column_is_the_final_models_logged_score(tmp_path: Path) -> None:
    folder = make_run(tmp_path / "r")
    data = json.loads((folder / "metrics.json").read_text())
    data["label_free"]["final"]["score"] = 0.4321
    (folder / "metrics.json").write_text(json.dumps(data))
    assert run_values(folder, "test")["label_free_score"] == 0.4321
    (folder / "metrics.json").write_text(json.dumps({k: v for k, v in data.items() if k != "label_free"}))
    assert run_values(folder, "test")["label_free_score"] is None
