"""Algorithm 1 for every variant (`raereid.config.variants.VARIANTS`) and every pseudo-label learner.

The Trainer builds a run from a Config (adapt/build.py), then runs the checkpointed hook loop of
engine/train_loop.py: each step draws a PK batch from the source (true ids) and the target (pseudo
ids), updates Enc / Dec / P / heads on Eq. 9 + 17 + 21 (adapt/objective.py, identity terms from the
learner), then the discriminators on their own losses. Relabelling, logging, evaluation and
checkpoints are hooks (adapt/relabel.py, engine/hooks.py).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from raereid.adapt.build import Optimizers, build_networks, epoch_loaders, iterations_per_epoch, load_domains
from raereid.adapt.evaluator import RunEvaluator
from raereid.adapt.gap_hook import DomainGapHook
from raereid.adapt.label_free import LabelFreeContext, LabelFreeHook
from raereid.adapt.objective import DiscriminatorStepModule, StepModule
from raereid.adapt.pseudo import PseudoLabelStage
from raereid.adapt.relabel import RelabelContext, RelabelHook
from raereid.adapt.resume import SOURCE_STAGE_MODEL, init_from, keep_source_fix, stage_may_change, start_line
from raereid.config.loader import config_to_dict
from raereid.config.schema import Config
from raereid.config.validation import origin
from raereid.config.variants import run_variant
from raereid.data.transforms import train_transform
from raereid.engine import checkpoint as ckpt
from raereid.engine.hooks import CallbackHook, CheckpointHook, DiscriminatorWatch, EvalHook, ProgressHook
from raereid.engine.run_folder import MODEL
from raereid.engine.runtime import Runtime, seed_everything
from raereid.engine.schedule import apply_lr
from raereid.engine.train_loop import CheckpointedLoop, Hook
from raereid.errors import ConfigError
from raereid.learners import Labels, build_learner

__all__ = ["Trainer"]


class Trainer(CheckpointedLoop):
    """Builds data, model, learner and optimisers from a Config; `train()` runs to `optim.iterations`.

    `hooks` are appended after the built-in ones (relabelling, progress, discriminator watch, evaluation,
    checkpoints, and the domain-gap picture when `train.gap_picture`); their `after_train` runs once the final model
    is saved. Once finished, checkpoints/last.pt is removed unless `keep_last` (model.pt holds the weights)."""

    resume_only = ("optimizers", "scalers", "rng", "label_free")
    diverged_fix = "lower the learning rates (optim.lr_*), set optim.grad_clip (e.g. 5), or train.amp=false"

    def __init__(self, cfg: Config, runtime: Runtime, resume: bool = False, hooks: Sequence[Hook] = (),
                 keep_last: bool = False):
        self.cfg, self.runtime, self.keep_last = cfg, runtime, keep_last
        self.variant = run_variant(cfg.train.variant, cfg.source.decoder)
        self.stage = "adapt" if self.variant.use_target else "source"
        seed_everything(cfg.train.seed)
        # Built (and so checked) once, before any image is read: a bad data.color_jitter fails here, not after
        # clustering.
        d = cfg.data
        self.train_tf = train_transform(d.height, d.width, d.flip, d.pad, d.erasing, tuple(d.color_jitter))
        self.domains = load_domains(cfg, self.variant, runtime)
        iters = iterations_per_epoch(cfg, self.variant, self.domains)
        super().__init__(iters, cfg.train.output, MODEL, runtime.is_main)
        self.model, self.discs = build_networks(cfg, self.variant, self.domains.num_source_ids, runtime)
        self.learner = build_learner(cfg.learner.name, self.model, cfg, self.domains.num_source_ids)
        self.amp = cfg.train.amp and runtime.device.type == "cuda"
        self.optim = Optimizers(cfg, self.model, self.discs, self.learner, self.amp)
        self.wrap()
        self.pseudo = PseudoLabelStage(cfg.cluster, self.learner.sampling_labels) if self.variant.use_target else None
        self.evaluator = RunEvaluator(cfg, runtime, self.domains)
        self.label_free = LabelFreeHook(LabelFreeContext(self.model, self.domains, runtime, cfg, self.amp, self.folder,
                                                         self.model_record))
        self._batches: Iterator | None = None
        fusion_trained = False
        if resume and not self.ckpt_path.is_file() and self.final_path.is_file():
            raise ConfigError(f"the run in {self.out} has finished and its resume state (checkpoints/last.pt) was "
                              "removed: there is nothing to continue", where=self.final_path,
                              fix=f"train on from its weights in a new folder: train.init={self.final_path}; "
                                  "keep_last=True (raereid train --keep-last) keeps the resume state of a run")
        if resume and self.ckpt_path.is_file():
            self._resume()
        elif cfg.train.init:
            note, fusion_trained = init_from(self.model, self.discs, cfg.train.init, cfg.model.backbone)
            self.start_note = start_line(cfg, note, origin(cfg, "train.init") == SOURCE_STAGE_MODEL)
        elif self.variant.use_target:
            self.start_note = start_line(cfg, "", False)
        relabel = []
        if self.pseudo is not None:
            context = RelabelContext(self.model, self.domains, runtime, cfg.data, cfg.cluster.feature, cfg.train.adabn,
                                     self.amp, self.pseudo, self.learner, self.on_new_modules, fusion_trained,
                                     observe=self.label_free.on_clustering)
            relabel = [RelabelHook(context)]
        gap = [DomainGapHook()] if cfg.train.gap_picture else []
        self.register_hooks(*relabel, self.label_free, ProgressHook(cfg.train.log_every), DiscriminatorWatch(),
                            EvalHook(cfg.train.eval_every), CheckpointHook(cfg.train.checkpoint_every),
                            CallbackHook(after_train=self.finish), *gap, *hooks)

    def wrap(self) -> None:
        """(Re)wrap the step and the discriminators in DDP; needed again when the learner's modules are replaced."""
        step = StepModule(self.model, self.discs, self.learner, self.cfg.loss, self.runtime.gather)
        disc_step = DiscriminatorStepModule(self.discs, self.cfg.loss)
        if self.runtime.distributed:
            ids = [self.runtime.device.index] if self.runtime.device.type == "cuda" else None
            self.step_module = DistributedDataParallel(step, device_ids=ids, find_unused_parameters=True)
            self.disc_module = DistributedDataParallel(disc_step, device_ids=ids,
                                                       find_unused_parameters=True) if self.discs.any() else None
        else:
            self.step_module, self.disc_module = step, disc_step

    def on_new_modules(self) -> None:
        """The learner replaced its trainable modules (a clustering): a fresh optimiser for them, new DDP wrappers."""
        self.optim.rebuild_target(self.learner)
        self.wrap()

    # ------------------------------------------------------------ checkpoints
    def model_record(self) -> ckpt.ModelRecord:
        """What rebuilds the network as it is now (model.pt's keys without the learner and the history)."""
        return ckpt.ModelRecord(config_to_dict(self.cfg), self.variant.name, self.domains.num_source_ids,
                                (self.cfg.data.height, self.cfg.data.width), self.model.state_dict(), self.iteration)

    def state(self) -> dict[str, Any]:
        """Everything needed to resume exactly: weights, learner, optimisers, scalers, RNG, iteration, pseudo-labels,
        and the label-free record so far."""
        return {
            **self.model_record().to_state(),
            "discriminators": self.discs.state_dict(),
            "learner": self.learner.state(),
            "learner_modules": self.learner.modules().state_dict(),
            "optimizers": self.optim.state_dict(),
            "scalers": self.optim.scaler_state(),
            "pseudo": None if self.pseudo is None else self.pseudo.state(),
            "history": self.evaluator.history,
            "label_free": self.label_free.state(),
            **self.progress_state(),
        }

    def _resume(self) -> None:
        state = ckpt.load_checkpoint(self.ckpt_path)
        init = self.cfg.train.init
        fix = {"fix": keep_source_fix(init)} if init and Path(init).is_file() else {}
        ckpt.check_resumable(self.cfg, state["config"], self.ckpt_path, stage_may_change(self.variant), **fix)
        self.learner.load_modules(state["learner_modules"])
        self.on_new_modules()
        ckpt.load_module_state(self.model, state["model"], "model", self.ckpt_path)
        ckpt.load_module_state(self.discs, state["discriminators"], "discriminators", self.ckpt_path)
        self.learner.load_state(state["learner"])
        self.optim.load_state_dict(state["optimizers"])
        self.optim.load_scaler_state(state["scalers"])
        if self.pseudo is not None and state["pseudo"] is not None:
            self.pseudo.load_state(state["pseudo"])
        self.evaluator.history = list(state["history"])
        self.label_free.load_state(state.get("label_free"))
        self.restore_progress(state)

    def finite_modules(self) -> list[nn.Module]:
        return [self.model, self.learner.modules()] + ([self.discs] if self.discs.any() else [])

    # --------------------------------------------------------------- training
    def train(self) -> dict[str, Any]:
        """Run to `optim.iterations`, evaluating and checkpointing on the way; returns the final metrics."""
        return self.run(self.cfg.optim.iterations)

    def describe(self) -> str:
        rt, src, tgt = self.runtime, self.domains.source, self.domains.target
        return (f"variant {self.variant.name}, learner {self.learner.name}: {src.name} ({len(src.train)} images) -> "
                f"{tgt.name} ({len(tgt.train)} images); {self.cfg.optim.iterations} iterations, "
                f"{self.iters_per_epoch} per epoch, device {rt.device}, {rt.world_size} process(es)")

    def finish(self) -> None:
        """After the last step: evaluate (unless just done), save the checkpoint and the final model."""
        if not self.evaluator.evaluated_at(self.iteration):
            self.evaluate()
        super().finish()

    def _epoch_batches(self) -> Iterator:
        target_labels = None if self.pseudo is None else self.pseudo.sampling_labels()
        source, target = epoch_loaders(self.cfg, self.runtime, self.domains, self.train_tf, target_labels, self.epoch,
                                       self.iteration - self.epoch_start, self.iters_per_epoch)
        return zip(source, target) if target is not None else ((b, None) for b in source)

    def run_step(self) -> dict[str, float]:
        if self._batches is None or self.iteration == self.epoch_start:
            self._batches = self._epoch_batches()
        sb, tb = next(self._batches)
        dev, optim = self.runtime.device, self.optim
        apply_lr(optim.all(), self.iteration, self.cfg.optim)
        xs, ys = sb.image.to(dev, non_blocking=True), sb.label.to(dev, non_blocking=True)
        xt = yt = seeds_t = index_t = None
        clean = sb.clean
        if tb is not None:
            xt, yt = tb.image.to(dev, non_blocking=True), tb.label.to(dev, non_blocking=True)
            index_t, seeds_t = tb.index.to(dev), tb.seed
            clean = torch.cat([sb.clean, tb.clean])
        clean = clean.to(dev, non_blocking=True) if self.model.decoder is not None else None
        self.discs.requires_grad_(False)
        with torch.autocast(device_type=dev.type, dtype=torch.float16, enabled=self.amp):
            out = self.step_module(xs, ys, xt, yt, sb.seed, seeds_t, index_t, clean)
        self.check_finite(out.loss, out.terms)
        optim.step(out.loss, optim.generator(), optim.scaler)
        self.learner.update(out.embedded, Labels(ys, yt, index_t=index_t, gather=self.runtime.gather))
        terms = {k: float(v.detach()) for k, v in out.terms.items()}
        terms["total"] = float(out.loss.detach())
        if optim.disc is not None:
            self.discs.requires_grad_(True)
            with torch.autocast(device_type=dev.type, dtype=torch.float16, enabled=self.amp):
                loss_d, d_terms = self.disc_module(out)
            if loss_d is not None:
                self.check_finite(loss_d, d_terms)
                optim.step(loss_d, [optim.disc], optim.scaler_disc)
                terms.update({k: float(v.detach()) for k, v in d_terms.items()})
        terms["lr_encoder"] = optim.main.param_groups[0]["lr"]
        return terms

    # ------------------------------------------------------------- evaluation
    def evaluate(self) -> dict | None:
        """Metrics now, logged and kept in the history (RunEvaluator.evaluate); None when there is nothing to score."""
        return self.evaluator.evaluate(self.model, self.iteration, self.monitor)

    def result(self) -> dict[str, Any]:
        """The final metrics (None scores without a test split), also written to OUTPUT/metrics.json."""
        return self.evaluator.result(self.variant.name, self.learner.name, self.iteration, self.elapsed(),
                                     self.folder.metrics if self.is_main else None, self.label_free.record.to_json())
