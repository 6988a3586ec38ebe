"""metrics.json has one owner, `MetricsRecord`: its keys in a fixed order, its rounding, and a tolerant reader."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from raereid.inference.metrics import METRIC_KEYS, RECONSTRUCTION_KEYS, MetricsRecord, UnreadableMetrics

SCORES = {"mAP": 19.66504, "rank1": 12.5, "rank5": 37.5, "rank10": 75.0, "mINP": 16.08233}


def test_the_trainers_record_in_its_fixed_order_and_rounding(tmp_path: Path) -> None:
    record = MetricsRecord("full", "memory", "dukemtmcreid", "market1501", dict(SCORES), iterations=8,
                           seconds=12.345, val={**SCORES, "mAP": 40.23591},
                           reconstruction={"ssim_target": 0.31424, "psnr_source": 21.50999})
    data = record.to_json()
    assert list(data) == ["variant", "learner", "source", "target", *METRIC_KEYS, "iterations", "seconds", "val",
                          "psnr_source", "ssim_target"]
    assert (data["mAP"], data["mINP"], data["seconds"], data["val"]["mAP"]) == (19.665, 16.0823, 12.3, 40.2359)
    assert (data["psnr_source"], data["ssim_target"]) == (21.51, 0.3142)
    path = record.write(tmp_path / "run" / "metrics.json")
    assert path.read_text(encoding="utf-8") == json.dumps(data, indent=2) + "\n"
    again = MetricsRecord.read(path)
    assert again.to_json() == data and list(again.to_json()) == list(data)  # read and written back: the same bytes
    assert again.scored and again.value("val.mAP") == 40.2359 and again.value("psnr_source") == 21.51
    assert again.split("test")["rank10"] == 75.0 and again.value("iterations") == 8.0
    assert [p.name for p in path.parent.iterdir()] == ["metrics.json"]  # no temporary file left


def test_a_run_without_scores_and_an_older_file_read_as_none() -> None:
    empty = MetricsRecord("direct", "classifier", "a", "b", dict.fromkeys(METRIC_KEYS), iterations=3, seconds=1.0)
    data = empty.to_json()
    assert not empty.scored and data["mAP"] is None and "val" not in data
    assert not set(RECONSTRUCTION_KEYS) & set(data)
    old = MetricsRecord.from_json({"variant": "full", "mAP": 10, "rank1": True, "val": "garbage"})
    assert old.learner is None and old.scores["mAP"] == 10.0 and old.scores["rank1"] is None and old.val is None
    assert old.split("val") == {} and old.value("seconds") is None


def test_unreadable_files_say_what_is_wrong(tmp_path: Path) -> None:
    (tmp_path / "list.json").write_text("[1, 2]")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(UnreadableMetrics, match="is not a mapping of metric names to values"):
        MetricsRecord.read(tmp_path / "list.json")
    with pytest.raises(UnreadableMetrics, match=r"metrics.json cannot be read \(Expecting"):
        MetricsRecord.read(tmp_path / "bad.json")
    with pytest.raises(UnreadableMetrics, match="cannot be read"):
        MetricsRecord.read(tmp_path / "missing.json")


def test_the_label_free_record_comes_last_and_reads_back(tmp_path: Path) -> None:
    """metrics.json's label_free key (raereid.selection.record) is written after every other key, which keep their
    order and values, and read back as the same mapping; a file without it reads as None."""
    label_free = {"version": 1, "score": "health", "clusterings": [], "snapshots": [], "final": None}
    plain = MetricsRecord("full", "memory", "d", "m", dict(SCORES), iterations=8, seconds=1.0)
    record = MetricsRecord("full", "memory", "d", "m", dict(SCORES), iterations=8, seconds=1.0, label_free=label_free)
    data = record.to_json()
    assert list(data) == [*plain.to_json(), "label_free"] and {**plain.to_json(), "label_free": label_free} == data
    again = MetricsRecord.read(record.write(tmp_path / "metrics.json"))
    assert again.label_free == label_free and again.to_json() == data
    assert MetricsRecord.from_json({"mAP": 1.0, "label_free": "garbage"}).label_free is None
