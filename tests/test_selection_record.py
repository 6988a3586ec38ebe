"""The label-free record of metrics.json (selection/record.py): written and read back, its candidates, and a
malformed or leaking record refused with a clear error."""

from __future__ import annotations

import json

import pytest

from raereid.errors import InputError
from raereid.selection.record import Clustering, Judged, LabelFreeRecord
from raereid.selection.signals import SIGNAL_KEYS


def _signals(**values: float | int) -> dict:
    return {**dict.fromkeys(SIGNAL_KEYS), "images": 10, "clusters": 2, "outlier_fraction": 0.1234567891, **values}


def _record() -> LabelFreeRecord:
    snap = Judged("checkpoints/select/iter_000010.pt", 10, _signals(), 0.5, {"coverage": 0.87654321},
                  {"test": {"mAP": 12.0}, "val": {"mAP": 11.0}})
    return LabelFreeRecord(clusterings=[Clustering(0, 0, "encoder", _signals())], snapshots=[snap],
                           final=Judged("model.pt", 20, _signals(largest_cluster_share=0.5)))


def test_the_record_round_trips_through_json_rounded() -> None:
    data = json.loads(json.dumps(_record().to_json()))
    assert data["version"] == 1 and data["score"] == "health"
    assert data["clusterings"][0]["signals"]["outlier_fraction"] == 0.123457
    again = LabelFreeRecord.from_json(data)
    assert again.to_json() == data and [j.checkpoint for j in again.judged()] == [
        "checkpoints/select/iter_000010.pt", "model.pt"]
    assert [j.checkpoint for j in again.judged(checkpoints=False)] == ["model.pt"]


def test_candidates_carry_the_labelled_map_apart_from_the_signals() -> None:
    record = _record()
    snap, final = record.candidates("run", final_labelled={"test": 30.0, "val": 29.0})
    assert (snap.labelled_map, snap.labelled_val_map, final.labelled_map, final.labelled_val_map) == (12.0, 11.0,
                                                                                                       30.0, 29.0)
    assert "mAP" not in snap.signals and set(snap.signals) == set(SIGNAL_KEYS)


def test_a_snapshot_taken_again_replaces_the_first() -> None:
    record = _record()
    record.add_snapshot(Judged("checkpoints/select/iter_000010.pt", 10, _signals(clusters=5)))
    assert len(record.snapshots) == 1 and record.snapshots[0].signals["clusters"] == 5


@pytest.mark.parametrize(("change", "message"), [
    (lambda d: d.update(version=2), "version 2 is not the one"),
    (lambda d: d.pop("snapshots"), "malformed"),
    (lambda d: d["final"]["signals"].update(mAP=50.0), r"labelled metrics \['mAP'\]"),
    (lambda d: d["clusterings"][0]["signals"].update(clusters="many"), "not a number"),
], ids=["version", "missing", "leak", "text"])
def test_a_malformed_or_leaking_record_is_refused(change, message: str) -> None:
    data = _record().to_json()
    change(data)
    with pytest.raises(InputError, match=message) as caught:
        LabelFreeRecord.from_json(data, where="runs/x/metrics.json")
    assert caught.value.where == "runs/x/metrics.json" and caught.value.fix
