"""The training recipe of `raereid train`: a source stage, then the adaptation stage (Algorithm 1), in one run.

The paper trains Enc on the labelled source first ("It first trained using labeled images of source domain with
cross-entropy and triplet loss") and Dec likewise ("The Dec is first train by source images with a reconstructed
loss and GAN loss"), then adapts. Here the source stage is a `direct` run (with a decoder when `source.decoder`)
written to OUTPUT/source/, and the adaptation stage starts from its model.pt as `train.init` would: the one-command
run and the two commands `--variant direct` then `--set train.init=.../model.pt` give the same weights.

Everything that can be checked before training is checked before the source stage: the adaptation stage's checks
of the data (a target too small to cluster, more k-means clusters than target images) run once the first stage has
read the datasets, before its first iteration. Paths are made absolute first, so config.yaml and the checkpoints
work from any folder.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from raereid.adapt.checks import check_datasets
from raereid.adapt.resume import SOURCE_STAGE_MODEL, keep_source_fix, stage_may_change
from raereid.adapt.trainer import Trainer
from raereid.config.schema import Config
from raereid.config.validation import ORIGINS_ATTR, origins_of
from raereid.config.variants import run_variant
from raereid.data.registry import canonical_name
from raereid.engine.checkpoint import check_resumable, load_checkpoint
from raereid.engine.run_folder import RunFolder
from raereid.engine.runtime import Runtime
from raereid.engine.train_loop import Hook, Interrupted
from raereid.errors import ConfigError
from raereid.inference.metrics import MetricsRecord, UnreadableMetrics

SOURCE_VARIANT = "direct"
SOURCE_STAGE = "the source stage"  # the origin of the keys the recipe sets in the source stage's config


def _set(cfg: Config, key: str, value: Any, where: str) -> None:
    """Set `section.key` in code, recording `where` as its origin (train.log names it)."""
    section, name = key.split(".")
    setattr(getattr(cfg, section), name, value)
    setattr(cfg, ORIGINS_ATTR, {**origins_of(cfg), key: where})


def absolute_paths(cfg: Config) -> Config:
    """A copy of `cfg` whose paths are absolute: the data root, a source or target given as a folder path, train.init,
    the output and a weights file. A run's config.yaml and checkpoints then work from any folder (dataset names, and
    folders named under the data root, stay names)."""
    cfg = copy.deepcopy(cfg)

    def absolute(path: str) -> str:
        return os.path.abspath(os.path.expanduser(path))

    data = cfg.data
    data.root = absolute(data.root) if data.root else data.root
    for key in ("source", "target"):
        spec = getattr(data, key)
        named = canonical_name(spec) is not None or bool(data.root and (Path(data.root) / spec).is_dir())
        if not named and Path(spec).expanduser().exists():
            setattr(data, key, absolute(spec))
    cfg.train.output = absolute(cfg.train.output)
    cfg.train.init = absolute(cfg.train.init) if cfg.train.init else ""
    if cfg.model.pretrained not in ("imagenet", "none"):
        cfg.model.pretrained = absolute(cfg.model.pretrained)
    return cfg


def source_stage_config(cfg: Config, output: str) -> Config:
    """The config of the source stage of `cfg`: a `direct` run of `source.iterations` at the source rates, writing to
    `output`; every other key (data, model, losses, the optimiser's kind) as in `cfg`."""
    src = cfg.source
    if src.iterations < 1:
        raise ConfigError("the source stage has no iterations (source.iterations=0)",
                          fix="set source.iterations to the length of the source stage, e.g. "
                              "--set source.iterations=600")
    stage = copy.deepcopy(cfg)
    for key, value, where in (
        ("train.variant", SOURCE_VARIANT, ""), ("train.output", output, ""), ("train.adabn", False, ""),
        ("optim.iterations", src.iterations, "source.iterations"), ("optim.lr_step", src.lr_step, "source.lr_step"),
        ("optim.lr_encoder", src.lr_encoder, "source.lr_encoder"), ("optim.lr_other", src.lr_other, "source.lr_other"),
        ("loss.source_pix_to_encoder", src.source_pix_to_encoder, "source.source_pix_to_encoder"),
    ):
        _set(stage, key, value, f"{SOURCE_STAGE} ({where})" if where else SOURCE_STAGE)
    return stage


def plan_stages(cfg: Config) -> list[Config]:
    """The stages `cfg` trains, in order, with absolute paths: the source stage alone for `direct`; the adaptation
    alone when it starts from `train.init` or `source.iterations` is 0; otherwise the source stage (in
    OUTPUT/source/), then adaptation."""
    cfg = absolute_paths(cfg)
    if cfg.train.variant.lower() == SOURCE_VARIANT:
        return [source_stage_config(cfg, cfg.train.output)]
    if cfg.train.init or cfg.source.iterations == 0:
        return [cfg]
    source = source_stage_config(cfg, str(RunFolder(cfg.train.output).source_stage.path))
    _set(source, "train.init", "", SOURCE_STAGE)
    _set(source, "train.gap_picture", False, SOURCE_STAGE)
    adapt = copy.deepcopy(cfg)
    _set(adapt, "train.init", str(RunFolder(source.train.output).model), SOURCE_STAGE_MODEL)
    return [source, adapt]


def _done(stage: Config, next_stage: Config | None) -> bool:
    """Whether a stage's final model exists, trained with this config to its full length. A stage that must go on
    (more iterations asked) is refused when the next one has begun (it started from the shorter model) or when its
    resume state was dropped at its end (checkpoints/last.pt, kept only with --keep-last)."""
    folder = RunFolder(stage.train.output)
    if not folder.model.is_file():
        return False
    state = load_checkpoint(folder.model)
    fix = {"fix": keep_source_fix(folder.model)} if next_stage is not None else {}
    variant = run_variant(stage.train.variant, stage.source.decoder)
    check_resumable(stage, state["config"], folder.model, stage_may_change(variant), **fix)
    if int(state["iteration"]) >= stage.optim.iterations:
        return True
    later = RunFolder(next_stage.train.output) if next_stage is not None else None
    if later is not None and (later.last.is_file() or later.model.is_file()):
        raise ConfigError(
            f"the source stage ended at iteration {state['iteration']} and the adaptation stage started from it; "
            f"source.iterations={stage.optim.iterations} now asks for more",
            where=folder.model,
            fix="resume with the source.iterations of the first run, or train into another output folder",
        )
    if not folder.last.is_file():
        raise ConfigError(
            f"the run finished at iteration {state['iteration']} and {stage.optim.iterations} iterations now ask for "
            "more, but its resume state (checkpoints/last.pt, with the optimisers) was removed when it finished",
            where=folder.model,
            fix=f"train on from its weights in a new folder (the optimisers start afresh): --set train.init="
                f"{folder.model} --out NEW_FOLDER; raereid train --keep-last keeps the resume state of a finished run",
        )
    return False


def _finished_metrics(stage: Config) -> dict[str, Any]:
    """The metrics.json of a finished last stage: --resume of a finished run has nothing left to train."""
    folder = RunFolder(stage.train.output)
    try:
        return MetricsRecord.read(folder.metrics).to_json()
    except UnreadableMetrics as exc:
        raise ConfigError(f"the run is finished (model.pt) but {exc}", where=folder.metrics,
                          fix=f"score it with raereid evaluate --checkpoint {folder.model}") from None


def check_later_stages(trainer: Trainer, later: Sequence[Config], world_size: int) -> None:
    """Run the data checks of the stages after `trainer`'s on the datasets it read (the recipe's stages share them),
    so a bad adaptation setting stops the command before the source stage trains."""
    for stage in later:
        variant = run_variant(stage.train.variant, stage.source.decoder)
        check_datasets(stage, trainer.domains.source, trainer.domains.target, variant.use_target, world_size)


def train_stages(cfg: Config, runtime: Runtime, resume: bool = False,
                 hooks: Callable[[Config], Sequence[Hook]] = lambda cfg: (),
                 started: Callable[[], None] = lambda: None, keep_last: bool = False) -> dict[str, Any]:
    """Train every stage of `cfg` (plan_stages), each with the engine's hooks plus `hooks(stage)`, and return the last
    one's metrics. With `resume`, a finished stage is skipped and an interrupted one continues from its checkpoint, so
    --resume works across the stage boundary (a finished run returns its metrics.json). `started` is called once the
    first trainer has checked its data and config and the later stages theirs, before any training: nothing is
    written into a run folder a bad input would have refused. `keep_last` keeps each finished stage's
    checkpoints/last.pt."""
    stages = plan_stages(cfg)
    result: dict[str, Any] = {}
    for i, stage in enumerate(stages):
        later = stages[i + 1:]
        if resume and _done(stage, later[0] if later else None):
            if later:
                continue
            return _finished_metrics(stage)
        trainer = Trainer(stage, runtime, resume=resume, hooks=hooks(stage), keep_last=keep_last)
        trainer.later = sum(s.optim.iterations for s in later)
        if later:
            check_later_stages(trainer, later, runtime.world_size)
        elif len(stages) > 1:  # the run's config.yaml: the config as given, train.init unset (it trains both again)
            trainer.recorded = copy.deepcopy(stage)
            trainer.recorded.train.init = ""
        if started is not None:
            started()
            started = None
        result = trainer.train()
        runtime.barrier()  # the next stage reads this one's model.pt on every process
        if later and trainer.stop_requested:  # a signal during the stage's final evaluation: stop before the next
            raise Interrupted(trainer.iteration, trainer.final_path)
    return result
