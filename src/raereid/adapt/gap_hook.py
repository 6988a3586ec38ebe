"""The domain-gap picture of a training run (`train.gap_picture`): a hook that draws it once the final model is
saved (`raereid.inference.domain_gap`)."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from raereid.adapt.build import Domains
from raereid.config.schema import Config
from raereid.config.variants import Variant
from raereid.engine.monitor import Monitor
from raereid.engine.run_folder import RunFolder
from raereid.engine.runtime import Runtime
from raereid.engine.train_loop import Hook
from raereid.inference.domain_gap import domain_gap_picture
from raereid.inference.model_io import load_model
from raereid.models.rae import RAE


class GapRun(Protocol):
    """What the hook reads of the run it draws (the Trainer)."""

    cfg: Config
    runtime: Runtime
    variant: Variant
    model: RAE
    domains: Domains
    folder: RunFolder
    monitor: Monitor


class DomainGapHook(Hook):
    """After training: OUTPUT/domain_gap.png, t-SNE of source and target descriptors of the `train.init`
    model (before) and of the trained one (after); main process only."""

    loop: GapRun  # the Trainer: a checkpointed loop with these attributes

    def after_train(self) -> None:
        t = self.loop
        if not t.runtime.is_main:
            return
        models: dict[str, RAE] = {}
        if t.cfg.train.init:
            models[f"before: {Path(t.cfg.train.init).parent.name or 'init'}"] = load_model(t.cfg.train.init,
                                                                                           t.runtime.device).model
        models[f"after: {t.variant.name}"] = t.model
        source, target = t.domains.source, t.domains.target
        path = domain_gap_picture(models, source.query + source.gallery or source.train,
                                  target.query + target.gallery or target.train, t.cfg, t.folder.gap_picture,
                                  per_domain=300, names=(source.name, target.name))
        t.monitor.info(f"domain-gap picture: {path}")
