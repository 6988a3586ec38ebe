"""The label-free record of a training run (adapt/label_free.py): where snapshots fall, what a run writes
(train.log, TensorBoard, metrics.json, the snapshots), that scrambling the target's identities changes nothing in it,
that extra label-free work leaves training's numbers alone, and that a resumed run writes the same record."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import tiny_overrides

from raereid.adapt import trainer as trainer_module
from raereid.adapt.label_free import snapshot_iterations
from raereid.adapt.recipe import train_stages
from raereid.adapt.trainer import Trainer
from raereid.config import load_config
from raereid.engine.checkpoint import load_checkpoint
from raereid.engine.runtime import setup_runtime
from raereid.engine.train_loop import Hook
from raereid.inference.metrics import MetricsRecord
from raereid.inference.model_io import load_model
from raereid.report.curves import read_scalars
from raereid.selection.record import LabelFreeRecord

# tiny_overrides' k-means (4 clusters) every 2 iterations, 3 snapshots, every signal at every clustering
RUN = ("train.iters_per_epoch=2", "select.snapshots=3", "select.signals=all", "train.gap_picture=false")


def _config(root: Path, out: Path, iterations: int = 8, *extra: str):
    return load_config("synthetic", tiny_overrides(root, out, "full", iterations, *RUN, *extra))


@pytest.mark.parametrize(("max_iter", "per_epoch", "count", "expected"), [
    (250, 25, 4, [50, 100, 150, 200]),
    (10, 2, 4, [2, 4, 6, 8]),
    (8, 4, 4, [4]),  # one boundary after the start: one snapshot
    (8, 8, 4, []),  # one epoch: no boundary inside the run
    (250, 25, 0, []),
    (100, 30, 2, [60, 90]),  # the first boundary at or after 33.3 and 66.7
])
def test_snapshots_fall_on_clustering_boundaries_spread_over_the_run(max_iter: int, per_epoch: int, count: int,
                                                                      expected: list[int]) -> None:
    found = snapshot_iterations(max_iter, per_epoch, count)
    assert found == expected
    assert all(i % per_epoch == 0 and 0 < i < max_iter for i in found) and len(found) <= count


def test_a_run_writes_its_label_free_record_everywhere(tiny_bench: Path, tmp_path: Path) -> None:
    cfg = _config(tiny_bench, tmp_path, 8, "select.evaluate_snapshots=true")
    train_stages(cfg, setup_runtime("cpu"))
    record = MetricsRecord.read(tmp_path / "metrics.json")
    lf = LabelFreeRecord.from_json(record.label_free)
    assert [c.iteration for c in lf.clusterings] == [0, 2, 4, 6]
    assert [s.iteration for s in lf.snapshots] == [2, 4, 6] and lf.final is not None and lf.final.iteration == 8
    assert lf.clusterings[0].signals["stability_ari"] is None  # no previous round at the first clustering
    assert all(c.signals["silhouette"] is not None and c.signals["clusters"] == 4 for c in lf.clusterings)
    for judged in lf.judged():
        assert judged.signals["images"] == 47 and judged.signals["knn_agreement"] is not None  # full: two descriptors
        assert judged.score is not None and 0 < judged.score <= 1
    for snap in lf.snapshots:  # weights only, loadable as a model, its labelled scores beside it for the record
        path = tmp_path / snap.checkpoint
        state = load_checkpoint(path)
        assert not {"optimizers", "learner", "rng", "discriminators"} & set(state)
        assert load_model(path).iteration == snap.iteration
        assert set(snap.labelled or {}) == {"test", "val"} and 0 <= snap.labelled["test"]["mAP"] <= 100
    assert len(list((tmp_path / "checkpoints" / "select").iterdir())) == 3
    log = (tmp_path / "train.log").read_text()
    assert log.count(": label-free: ") == 4 and log.count("label-free score") == 4
    assert "label-free reference at the start" in log and "for the record: not used by the score" in log
    assert not [line for line in log.splitlines() if "label-free" in line and "ARI " in line]  # ARI: true ids only
    scalars = read_scalars(tmp_path / "tensorboard")
    assert list(scalars["label_free/clusters"][0]) == [0, 2, 4, 6]
    assert list(scalars["label_free_snapshot/score"][0]) == [2, 4, 6, 8]
    assert "label_free" not in load_checkpoint(tmp_path / "model.pt")  # the final file: metrics.json holds it


class _Scrambled:
    """load_domains with the target's training identities permuted (same records, same order, same cameras)."""

    def __init__(self, load):
        self.load = load

    def __call__(self, cfg, variant, runtime):
        domains = self.load(cfg, variant, runtime)
        pids = np.array([r.pid for r in domains.target.train])
        shuffled = np.random.default_rng(7).permutation(pids) * 13 + 5  # other ids, and other groupings
        domains.target.train = [dataclasses.replace(r, pid=int(p)) for r, p in zip(domains.target.train, shuffled)]
        return domains


def _label_free(out: Path) -> dict:
    return json.loads((out / "metrics.json").read_text())["label_free"]


def test_scrambled_target_identities_leave_the_signals_identical(tiny_bench: Path, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """Train twice, the second time with the target's identity labels scrambled in the records: every label-free
    value is the same, while the analysis-only ARI against the identities (logged apart) does change."""
    torch.set_num_threads(1)
    Trainer(_config(tiny_bench, tmp_path / "true"), setup_runtime("cpu")).train()
    monkeypatch.setattr(trainer_module, "load_domains", _Scrambled(trainer_module.load_domains))
    Trainer(_config(tiny_bench, tmp_path / "scrambled"), setup_runtime("cpu")).train()
    assert _label_free(tmp_path / "true") == _label_free(tmp_path / "scrambled")
    aris = [[line.split("ARI ")[1].split(",")[0] for line in (tmp_path / run / "train.log").read_text().splitlines()
             if "vs true ids" in line] for run in ("true", "scrambled")]
    assert aris[0] and aris[0] != aris[1]  # the scramble reached the records the trainer read


class _StopAfter(Hook):
    def __init__(self, iteration: int):
        self.iteration = iteration

    def after_step(self) -> None:
        if self.loop.iteration == self.iteration:
            raise KeyboardInterrupt  # after the checkpoint hook saved this iteration


def test_a_resumed_run_writes_the_same_record_as_a_straight_one(tiny_bench: Path, tmp_path: Path) -> None:
    torch.set_num_threads(1)
    every = "train.checkpoint_every=1"
    Trainer(_config(tiny_bench, tmp_path / "straight", 8, every), setup_runtime("cpu")).train()
    resumed = _config(tiny_bench, tmp_path / "resumed", 8, every)
    with pytest.raises(KeyboardInterrupt):
        Trainer(resumed, setup_runtime("cpu"), hooks=[_StopAfter(5)]).train()
    Trainer(resumed, setup_runtime("cpu"), resume=True).train()
    assert _label_free(tmp_path / "straight") == _label_free(tmp_path / "resumed")


def test_label_free_work_leaves_the_training_numbers_alone(tiny_bench: Path, tmp_path: Path) -> None:
    """Snapshots, their labelled evaluation and every signal at every clustering draw no random number from training:
    the weights equal those of a run without any of them."""
    torch.set_num_threads(1)
    Trainer(_config(tiny_bench, tmp_path / "none", 8, "select.snapshots=0", "select.signals=cheap"),
            setup_runtime("cpu")).train()
    Trainer(_config(tiny_bench, tmp_path / "all", 8, "select.evaluate_snapshots=true"), setup_runtime("cpu")).train()
    a, b = (load_checkpoint(tmp_path / run / "model.pt")["model"] for run in ("none", "all"))
    assert all(torch.equal(a[k], b[k]) for k in a)
