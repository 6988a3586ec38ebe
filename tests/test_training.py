"""Algorithm 1 end to end on the tiny benchmark: every variant, metrics.json, resume, degenerate states."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from conftest import tiny_overrides

from raereid.adapt import objective
from raereid.adapt.recipe import train_stages
from raereid.cli.main import main
from raereid.config import load_config
from raereid.config.variants import VARIANTS, get_variant
from raereid.engine.checkpoint import load_checkpoint, save_checkpoint
from raereid.engine.runtime import setup_runtime
from raereid.errors import TrainingError
from raereid.inference.model_io import load_model

METRIC_KEYS = {"variant", "learner", "source", "target", "mAP", "rank1", "rank5", "rank10", "mINP", "iterations",
               "seconds", "val", "label_free"}
RECONSTRUCTION_KEYS = {"psnr_source", "ssim_source", "psnr_target", "ssim_target"}


def _train(root: Path, out: Path, variant: str = "full", iterations: int = 4, *extra: str,
           resume: bool = False, keep_last: bool = False) -> dict:
    cfg = load_config("synthetic", tiny_overrides(root, out, variant, iterations, *extra))
    # the library call: every config key honoured
    return train_stages(cfg, setup_runtime("cpu"), resume=resume, keep_last=keep_last)


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_every_variant_trains_and_reports(tiny_bench: Path, tmp_path: Path, variant: str) -> None:
    metrics = _train(tiny_bench, tmp_path, variant)
    written = json.loads((tmp_path / "metrics.json").read_text())
    # direct trains the decoder on the source too (source.decoder), so it reports its reconstructions as well
    decoder = get_has_decoder(variant) or variant == "direct"
    assert written == metrics and set(written) == METRIC_KEYS | (RECONSTRUCTION_KEYS if decoder else set())
    assert set(written["val"]) == {"mAP", "rank1", "rank5", "rank10", "mINP"}
    assert written["variant"] == variant and written["iterations"] == 4
    assert written["source"] == "dukemtmcreid" and written["target"] == "market1501"
    for key in ("mAP", "rank1", "rank5", "rank10", "mINP"):
        assert 0.0 <= written[key] <= 100.0
    assert written["rank1"] <= written["rank5"] <= written["rank10"]
    trained = load_model(tmp_path / "model.pt")
    assert (trained.model.decoder is not None) == decoder
    assert any((tmp_path / "tensorboard").iterdir())
    assert not (tmp_path / "checkpoints").exists()  # a finished run keeps model.pt, not the resume state
    assert (tmp_path / "domain_gap.png").stat().st_size > 0
    assert "after: " + variant in (tmp_path / "domain_gap.json").read_text()
    log = (tmp_path / "train.log").read_text()
    assert f"variant {variant}" in log and (" clusters, " in log) == (variant != "direct")


def get_has_decoder(variant: str) -> bool:
    return get_variant(variant).has_decoder


def test_train_command(tiny_bench: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    sets = [a for kv in tiny_overrides(tiny_bench, tmp_path, "baseline", 2) for a in ("--set", kv)]
    assert main(["train", "--config", "synthetic", "--seed", "3", *sets]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == json.loads((tmp_path / "metrics.json").read_text()) and printed["variant"] == "baseline"


def _weights(path: Path) -> dict[str, torch.Tensor]:
    return load_checkpoint(path)["model"]


def test_resume_equals_uninterrupted(tiny_bench: Path, tmp_path: Path) -> None:
    extra = ("train.checkpoint_every=1",)
    straight = _train(tiny_bench, tmp_path / "a", "full", 9, *extra)
    _train(tiny_bench, tmp_path / "b", "full", 5, *extra, keep_last=True)  # stops mid-epoch (6 iterations per epoch)
    resumed = _train(tiny_bench, tmp_path / "b", "full", 9, *extra, resume=True)
    a, b = _weights(tmp_path / "a" / "model.pt"), _weights(tmp_path / "b" / "model.pt")
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key
    for key in ("mAP", "rank1", "mINP"):
        assert resumed[key] == straight[key]
    assert "resumed from" in (tmp_path / "b" / "train.log").read_text()


def test_resume_with_another_config_is_refused(tiny_bench: Path, tmp_path: Path) -> None:
    _train(tiny_bench, tmp_path, "baseline", 2)
    with pytest.raises(Exception, match="--resume with a different configuration"):
        _train(tiny_bench, tmp_path, "baseline", 4, "loss.margin=0.5", resume=True)


def test_resume_a_checkpoint_from_before_a_config_key_existed(tiny_bench: Path, tmp_path: Path) -> None:
    _train(tiny_bench, tmp_path, "full", 2, "train.checkpoint_every=1", keep_last=True)
    last = tmp_path / "checkpoints" / "last.pt"
    state = load_checkpoint(last)
    del state["config"]["model"]["flip_test"]  # as written by an older raereid
    save_checkpoint(state, last)
    assert _train(tiny_bench, tmp_path, "full", 3, "train.checkpoint_every=1", resume=True,
                  keep_last=True)["iterations"] == 3
    with pytest.raises(Exception, match="flip_test"):  # unless the run now asks for another value
        _train(tiny_bench, tmp_path, "full", 4, "model.flip_test=true", resume=True)


def test_full_clusters_the_fused_descriptor_once_fusion_is_trained(tiny_bench: Path, tmp_path: Path) -> None:
    _train(tiny_bench, tmp_path / "a", "full", 4, "train.iters_per_epoch=2", "cluster.feature=final")
    epochs = [line for line in (tmp_path / "a" / "train.log").read_text().splitlines() if " clusters, " in line]
    assert len(epochs) == 2 and "(encoder descriptor)" in epochs[0] and "(final descriptor)" in epochs[1]
    _train(tiny_bench, tmp_path / "b", "full", 2, f"train.init={tmp_path / 'a' / 'model.pt'}", "cluster.feature=final")
    assert "(final descriptor)" in (tmp_path / "b" / "train.log").read_text()
    _train(tiny_bench, tmp_path / "c", "full", 4, "train.iters_per_epoch=2", "cluster.feature=encoder")
    assert "(final descriptor)" not in (tmp_path / "c" / "train.log").read_text()


def test_all_outliers_epoch_trains_on_source_only(tiny_bench: Path, tmp_path: Path) -> None:
    metrics = _train(tiny_bench, tmp_path, "ft", 3, "cluster.method=dbscan", "cluster.eps=0.0001",
                     "cluster.min_samples=4")
    log = (tmp_path / "train.log").read_text()
    assert "0 clusters" in log and "trains on the source only" in log and metrics["iterations"] == 3


def test_nan_loss_stops_and_keeps_last_good_checkpoint(tiny_bench: Path, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    calls = {"n": 0}
    real = objective.generator_step

    def poisoned(*args, **kwargs):
        out = real(*args, **kwargs)
        calls["n"] += 1
        if calls["n"] == 4:
            out.terms["ce_source"] = out.terms["ce_source"] * float("nan")
            out.loss = out.loss + out.terms["ce_source"]
        return out

    monkeypatch.setattr("raereid.adapt.objective.generator_step", poisoned)
    with pytest.raises(TrainingError, match="non-finite at iteration 4 \\(ce_source=nan\\)") as info:
        _train(tiny_bench, tmp_path, "baseline", 6, "train.checkpoint_every=2")
    assert "last good checkpoint" in info.value.what
    assert load_checkpoint(tmp_path / "checkpoints" / "last.pt")["iteration"] == 2


def test_non_finite_weights_after_a_finite_loss_stop_training(tiny_bench: Path, tmp_path: Path) -> None:
    with pytest.raises(TrainingError, match="weights became non-finite"):
        _train(tiny_bench, tmp_path, "direct", 3, "optim.optimizer=sgd", "source.lr_encoder=1e30",
               "source.lr_other=1e30")
    assert not (tmp_path / "model.pt").exists()
