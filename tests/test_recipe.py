"""The two-stage recipe of `raereid train` (adapt/recipe.py): the source stage, then adaptation, in one run."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
import torch
from conftest import tiny_overrides

from raereid.adapt.recipe import plan_stages, source_stage_config
from raereid.adapt.resume import unused_keys
from raereid.cli.train import train
from raereid.config import load_config
from raereid.config.schema import Config, flat_values
from raereid.config.validation import RULES
from raereid.config.variants import run_variant
from raereid.engine.checkpoint import load_checkpoint
from raereid.engine.runtime import setup_runtime
from raereid.engine.train_loop import Hook, Interrupted
from raereid.errors import ConfigError

SOURCE_ITERS, ADAPT_ITERS = 4, 3


def _cfg(root: Path, out: Path, variant: str = "full", *extra: str) -> Config:
    return load_config("synthetic", tiny_overrides(root, out, variant, ADAPT_ITERS, f"source.iterations={SOURCE_ITERS}",
                                                   "train.checkpoint_every=1", "train.gap_picture=false", *extra))


class InterruptAt(Hook):
    """Send this process SIGINT after the step that ends at `iteration` of the stage writing to `output`."""

    def __init__(self, iteration: int):
        self.iteration = iteration

    def after_step(self) -> None:
        if self.loop.iteration == self.iteration:
            os.kill(os.getpid(), signal.SIGINT)


def _weights(path: Path) -> dict[str, torch.Tensor]:
    state = load_checkpoint(path)
    return {**{f"model.{k}": v for k, v in state["model"].items()},
            **{f"discs.{k}": v for k, v in state["discriminators"].items()}}


def _assert_same(a: Path, b: Path) -> None:
    wa, wb = _weights(a), _weights(b)
    assert wa.keys() == wb.keys()
    for key in wa:
        assert torch.equal(wa[key], wb[key]), key


def test_plan_stages(tmp_path: Path) -> None:
    base = ["source.iterations=7", "optim.iterations=5", f"train.output={tmp_path}", "source.lr_encoder=0.01",
            "source.lr_other=0.02", "source.lr_step=3", "loss.source_pix_to_encoder=0.5",
            "source.source_pix_to_encoder=0.0"]
    source, adapt = plan_stages(load_config("synthetic", base + ["train.variant=full"]))
    assert source.train.variant == "direct" and source.train.output == str(tmp_path / "source")
    assert (source.optim.iterations, source.optim.lr_encoder, source.optim.lr_other, source.optim.lr_step) == (7, 0.01,
                                                                                                               0.02, 3)
    assert source.loss.source_pix_to_encoder == 0.0 and not source.train.gap_picture and not source.train.init
    assert adapt.train.variant == "full" and adapt.train.init == str(tmp_path / "source" / "model.pt")
    assert (adapt.optim.iterations, adapt.loss.source_pix_to_encoder, adapt.train.output) == (5, 0.5, str(tmp_path))
    [direct] = plan_stages(load_config("synthetic", base + ["train.variant=direct"]))
    assert direct.train.output == str(tmp_path) and direct.optim.iterations == 7 and direct.train.gap_picture
    init = tmp_path / "init.pt"
    init.write_bytes(b"")
    for extra in ([f"train.init={init}"], ["source.iterations=0"]):  # adaptation only
        [only] = plan_stages(load_config("synthetic", base + ["train.variant=ft", *extra]))
        assert only.train.variant == "ft" and only.optim.iterations == 5
    with pytest.raises(ConfigError, match="source.iterations"):
        source_stage_config(load_config("synthetic", ["source.iterations=0"]), str(tmp_path))


def test_one_command_equals_source_stage_then_train_init(tiny_bench: Path, tmp_path: Path) -> None:
    runtime = setup_runtime("cpu")
    result = train(_cfg(tiny_bench, tmp_path / "one"), runtime)
    assert result["variant"] == "full" and result["iterations"] == ADAPT_ITERS
    source = load_checkpoint(tmp_path / "one" / "source" / "model.pt")
    assert source["variant"] == "direct" and source["iteration"] == SOURCE_ITERS
    assert any(k.startswith("decoder.") for k in source["model"])  # source.decoder: Dec is trained on the source too
    train(_cfg(tiny_bench, tmp_path / "direct", "direct"), runtime)
    _assert_same(tmp_path / "one" / "source" / "model.pt", tmp_path / "direct" / "model.pt")
    train(_cfg(tiny_bench, tmp_path / "two", "full", f"train.init={tmp_path / 'direct' / 'model.pt'}"), runtime)
    _assert_same(tmp_path / "one" / "model.pt", tmp_path / "two" / "model.pt")


@pytest.mark.parametrize("stage, at", [("source", 2), ("adaptation", 1)])
def test_resume_across_the_stage_boundary_is_exact(tiny_bench: Path, tmp_path: Path, stage: str, at: int) -> None:
    runtime = setup_runtime("cpu")
    train(_cfg(tiny_bench, tmp_path / "straight"), runtime)
    out = tmp_path / "stopped"
    stop_in = out / "source" if stage == "source" else out

    def hooks(cfg: Config) -> list[Hook]:
        return [InterruptAt(at)] if Path(cfg.train.output) == stop_in else []

    from raereid.adapt.recipe import train_stages

    with pytest.raises(Interrupted):
        train_stages(_cfg(tiny_bench, out), runtime, hooks=hooks)
    assert not (out / "model.pt").exists() and (stop_in / "checkpoints" / "last.pt").is_file()
    train(_cfg(tiny_bench, out), runtime, resume=True)
    _assert_same(tmp_path / "straight" / "source" / "model.pt", out / "source" / "model.pt")
    _assert_same(tmp_path / "straight" / "model.pt", out / "model.pt")


def test_a_longer_source_stage_after_adaptation_began_is_refused(tiny_bench: Path, tmp_path: Path) -> None:
    runtime = setup_runtime("cpu")
    train(_cfg(tiny_bench, tmp_path), runtime)
    with pytest.raises(ConfigError, match="adaptation stage started from it"):
        train(_cfg(tiny_bench, tmp_path, "full", f"source.iterations={SOURCE_ITERS + 2}"), runtime, resume=True)


def _another(key: str, value: object) -> str:
    """`key=VALUE` with a value other than `value` that the key's rule accepts."""
    swaps = {"dbscan": "kmeans", "kmeans": "dbscan", "encoder": "final", "final": "encoder", "running": "own",
             "own": "batch", "l2": "squared", "squared": "l2", "batch": "running", "sgd": "adam"}
    if isinstance(value, bool):
        return f"{key}={not value}"
    if isinstance(value, list):
        return f"{key}={','.join(str(v * 2) for v in value)}"
    if isinstance(value, str):
        return f"{key}={swaps[value]}"
    candidates = [value * 2 or 1, value + 1, value - 1, value // 2] if isinstance(value, int) else [
        value / 2 if value else 0.01, value * 2]
    return f"{key}={next(c for c in candidates if c != value and RULES[key].ok(c))}"


def _changed(cfg: Config, keys: set[str]) -> list[str]:
    values = flat_values(cfg)
    return [_another(key, values[key]) for key in sorted(keys)]


def test_the_keys_a_stage_does_not_read_change_nothing_it_trains(tiny_bench: Path, tmp_path: Path) -> None:
    """The derivation of what --resume of a stage ignores (adapt/resume.py PART_KEYS), checked by training: every key
    `unused_keys` gives for the source stage (cluster.*, the learners' settings, the target and fusion losses, ...)
    changed at once leaves its weights identical; so do source.* and translate.* for an adaptation stage. A key the
    stage reads (loss.margin) changes them."""
    runtime = setup_runtime("cpu")
    direct = _cfg(tiny_bench, tmp_path / "a", "direct")
    unused = unused_keys(run_variant("direct", source_decoder=True))
    assert {"cluster.num_clusters", "cluster.eps", "learner.temperature", "model.fusion_dim", "loss.lambda_gan_feat",
            "translate.iterations"} <= unused and not unused & {"loss.margin", "learner.name", "model.backbone"}
    train(direct, runtime)
    train(_cfg(tiny_bench, tmp_path / "b", "direct", *_changed(direct, unused)), runtime)
    _assert_same(tmp_path / "a" / "model.pt", tmp_path / "b" / "model.pt")
    train(_cfg(tiny_bench, tmp_path / "c", "direct", "loss.margin=0.1"), runtime)
    with pytest.raises(AssertionError):
        _assert_same(tmp_path / "a" / "model.pt", tmp_path / "c" / "model.pt")

    init = f"train.init={tmp_path / 'a' / 'model.pt'}"
    adapt = _cfg(tiny_bench, tmp_path / "d", "full", init)
    unused = unused_keys(run_variant("full"))
    assert unused == {k for k in flat_values(adapt) if k.startswith(("source.", "translate."))}
    train(adapt, runtime)
    train(_cfg(tiny_bench, tmp_path / "e", "full", init, *_changed(adapt, unused)), runtime)
    _assert_same(tmp_path / "d" / "model.pt", tmp_path / "e" / "model.pt")


class StopBeforeAdaptation(Hook):
    def before_train(self) -> None:
        raise KeyboardInterrupt


def test_a_finished_source_stage_is_kept_when_an_adaptation_key_changes(tiny_bench: Path, tmp_path: Path) -> None:
    """The source stage finished, adaptation never began: --resume with another cluster.num_clusters (a key the
    source stage does not read) skips the source stage, not retrains it. Once adaptation has a checkpoint, the same
    change is refused, and the refusal says how to keep the source stage: --set train.init=OUT/source/model.pt."""
    from raereid.adapt.recipe import train_stages

    runtime = setup_runtime("cpu")
    out = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt):
        train_stages(_cfg(tiny_bench, out), runtime,
                     hooks=lambda cfg: [StopBeforeAdaptation()] if Path(cfg.train.output) == out else [])
    source = (out / "source" / "model.pt").read_bytes()
    result = train(_cfg(tiny_bench, out, "full", "cluster.num_clusters=3"), runtime, resume=True)
    assert result["iterations"] == ADAPT_ITERS and (out / "source" / "model.pt").read_bytes() == source
    log = (out / "train.log").read_text()
    assert "adaptation starts from this run's source stage: initialised" in log and "3 clusters" in log

    stopped = tmp_path / "stopped"
    with pytest.raises(Interrupted):
        train_stages(_cfg(tiny_bench, stopped), runtime,
                     hooks=lambda cfg: [InterruptAt(1)] if Path(cfg.train.output) == stopped else [])
    with pytest.raises(ConfigError, match="cluster.num_clusters: 4 -> 3") as info:
        train(_cfg(tiny_bench, stopped, "full", "cluster.num_clusters=3"), runtime, resume=True)
    assert f"--set train.init={stopped / 'source' / 'model.pt'}" in info.value.fix


@pytest.mark.parametrize("problem, needle", [
    ("one image", "the target has 1 training image(s): too few to cluster"),
    ("500 clusters", "cluster.num_clusters=500 is more than the target's"),
])
def test_what_adaptation_would_refuse_is_refused_before_the_source_stage(tiny_bench: Path, tmp_path: Path,
                                                                         capsys: pytest.CaptureFixture,
                                                                         problem: str, needle: str) -> None:
    """A target too small to cluster, or k-means with more clusters than target images, stops `raereid train` before
    the first source-stage iteration: exit 2, nothing written (it used to surface after the whole source stage)."""
    from conftest import JPEG_BYTES

    from raereid.cli.main import main

    extra = ["cluster.num_clusters=500"]
    if problem == "one image":
        (tmp_path / "one").mkdir()
        (tmp_path / "one" / "x.jpg").write_bytes(JPEG_BYTES)
        extra = [f"data.target={tmp_path / 'one'}"]
    sets = tiny_overrides(tiny_bench, tmp_path / "out", "full", ADAPT_ITERS, f"source.iterations={SOURCE_ITERS}",
                          *extra)
    assert main(["train", "--config", "synthetic", *[a for kv in sets for a in ("--set", kv)]]) == 2
    err = capsys.readouterr().err
    assert needle in err and "[raereid] source " not in err and "variant direct" not in err, err
    assert not (tmp_path / "out").exists()
