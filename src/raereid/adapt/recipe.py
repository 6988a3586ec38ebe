"""The training recipe of `raereid train`: a source stage, then the adaptation stage (Algorithm 1), in one run.

The paper trains Enc on the labelled source first ("It first trained using labeled images of source domain with
cross-entropy and triplet loss") and Dec likewise ("The Dec is first train by source images with a reconstructed
loss and GAN loss"), then adapts. Here the source stage is a `direct` run (with a decoder when `source.decoder`)
written to OUTPUT/source/, and the adaptation stage starts from its model.pt as `train.init` would: the one-command
run and the two commands `--variant direct` then `--set train.init=.../model.pt` give the same weights.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from typing import Any

from raereid.adapt.resume import RESUMABLE_CHANGES
from raereid.adapt.trainer import Trainer
from raereid.config.schema import Config
from raereid.engine.checkpoint import check_resumable, load_checkpoint
from raereid.engine.run_folder import RunFolder
from raereid.engine.runtime import Runtime
from raereid.engine.train_loop import Hook
from raereid.errors import ConfigError

SOURCE_VARIANT = "direct"


def source_stage_config(cfg: Config, output: str) -> Config:
    """The config of the source stage of `cfg`: a `direct` run of `source.iterations` at the source rates, writing to
    `output`; every other key (data, model, losses, the optimiser's kind) as in `cfg`."""
    src = cfg.source
    if src.iterations < 1:
        raise ConfigError("the source stage has no iterations (source.iterations=0)",
                          fix="set source.iterations to the length of the source stage, e.g. "
                              "--set source.iterations=600")
    stage = copy.deepcopy(cfg)
    stage.train.variant, stage.train.output = SOURCE_VARIANT, output
    stage.optim.iterations, stage.optim.lr_step = src.iterations, src.lr_step
    stage.optim.lr_encoder, stage.optim.lr_other = src.lr_encoder, src.lr_other
    stage.loss.source_pix_to_encoder = src.source_pix_to_encoder
    stage.train.adabn = False
    return stage


def plan_stages(cfg: Config) -> list[Config]:
    """The stages `cfg` trains, in order: the source stage alone for `direct`; the adaptation alone when it starts
    from `train.init` or `source.iterations` is 0; otherwise the source stage (in OUTPUT/source/), then adaptation."""
    if cfg.train.variant.lower() == SOURCE_VARIANT:
        return [source_stage_config(cfg, cfg.train.output)]
    if cfg.train.init or cfg.source.iterations == 0:
        return [cfg]
    source = source_stage_config(cfg, str(RunFolder(cfg.train.output).source_stage.path))
    source.train.init, source.train.gap_picture = "", False
    adapt = copy.deepcopy(cfg)
    adapt.train.init = str(RunFolder(source.train.output).model)
    return [source, adapt]


def _finished(stage: Config, next_stage: Config) -> bool:
    """Whether a stage's final model exists, trained with this config to its full length. A stage that must go on
    (more iterations asked) while the next one has begun is refused: the next one started from the shorter model."""
    folder = RunFolder(stage.train.output)
    if not folder.model.is_file():
        return False
    state = load_checkpoint(folder.model)
    check_resumable(stage, state["config"], folder.model, RESUMABLE_CHANGES.__contains__)
    if int(state["iteration"]) >= stage.optim.iterations:
        return True
    if RunFolder(next_stage.train.output).last.is_file():
        raise ConfigError(
            f"the source stage ended at iteration {state['iteration']} and the adaptation stage started from it; "
            f"source.iterations={stage.optim.iterations} now asks for more",
            where=folder.model,
            fix="resume with the source.iterations of the first run, or train into another output folder",
        )
    return False


def train_stages(cfg: Config, runtime: Runtime, resume: bool = False,
                 hooks: Callable[[Config], Sequence[Hook]] = lambda cfg: (),
                 started: Callable[[], None] = lambda: None) -> dict[str, Any]:
    """Train every stage of `cfg` (plan_stages), each with the engine's hooks plus `hooks(stage)`, and return the last
    one's metrics. With `resume`, a finished stage is skipped and an interrupted one continues from its checkpoint, so
    --resume works across the stage boundary. `started` is called once the first trainer has checked its data and
    config, before any training: nothing is written into a run folder a bad input would have refused."""
    stages = plan_stages(cfg)
    result: dict[str, Any] = {}
    for i, stage in enumerate(stages):
        last = i == len(stages) - 1
        if resume and not last and _finished(stage, stages[i + 1]):
            continue
        trainer = Trainer(stage, runtime, resume=resume, hooks=hooks(stage))
        if started is not None:
            started()
            started = None
        result = trainer.train()
        runtime.barrier()  # the next stage reads this one's model.pt on every process
    return result
