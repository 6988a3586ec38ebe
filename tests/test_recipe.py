"""The two-stage recipe of `raereid train` (adapt/recipe.py): the source stage, then adaptation, in one run."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
import torch
from conftest import tiny_overrides

from raereid.adapt.recipe import plan_stages, source_stage_config
from raereid.cli.train import train
from raereid.config import load_config
from raereid.config.schema import Config
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
