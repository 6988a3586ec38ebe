"""Algorithm 1 for every variant (direct, baseline, ft, pt, ft+pt, full) and every pseudo-label learner.

The Trainer builds a run from a Config (engine/build.py), then runs the hook loop of
engine/train_loop.py: each step draws a PK batch from the source (true ids) and the target (pseudo
ids), updates Enc / Dec / P / heads on Eq. 9 + 17 + 21 (engine/objective.py, identity terms from the
learner), then the discriminators on their own losses. Clustering, logging, evaluation and
checkpoints are hooks (engine/clustering.py, engine/hooks.py).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import torch
from torch.nn.parallel import DistributedDataParallel

from raereid.config.loader import config_to_dict
from raereid.config.schema import Config
from raereid.config.variants import get_variant
from raereid.data.transforms import train_transform
from raereid.engine import checkpoint as ckpt
from raereid.engine.build import Optimizers, build_networks, epoch_loaders, iterations_per_epoch, load_domains
from raereid.engine.clustering import ClusteringHook
from raereid.engine.evaluate import evaluate_model
from raereid.engine.hooks import CallbackHook, CheckpointHook, DiscriminatorWatch, EvalHook, ProgressHook
from raereid.engine.monitor import Monitor
from raereid.engine.objective import DiscriminatorStepModule, StepModule
from raereid.engine.pseudo_labels import PseudoLabels, generator_state, make_label_generator
from raereid.engine.runtime import Runtime, seed_everything
from raereid.engine.schedule import apply_lr
from raereid.engine.state import check_same_config, init_from
from raereid.engine.train_loop import Hook, Interrupted, TrainLoop
from raereid.errors import TrainingError
from raereid.learners import Labels, build_learner

__all__ = ["Trainer", "Interrupted"]


class Trainer(TrainLoop):
    """Builds data, model, learner and optimisers from a Config; `train()` runs to `optim.iterations`.

    `hooks` are appended after the built-in ones (clustering, progress, discriminator watch, evaluation,
    checkpoints); their `after_train` runs once the final model is saved."""

    def __init__(self, cfg: Config, runtime: Runtime, resume: bool = False, hooks: Sequence[Hook] = ()):
        self.cfg, self.runtime = cfg, runtime
        self.variant = get_variant(cfg.train.variant)
        self.out = Path(cfg.train.output)
        self.ckpt_path = self.out / "checkpoints" / "last.pt"
        seed_everything(cfg.train.seed)
        # Built (and so checked) once, before any image is read: a bad data.color_jitter fails here, not after clustering.
        d = cfg.data
        self.train_tf = train_transform(d.height, d.width, d.flip, d.pad, d.erasing, tuple(d.color_jitter))
        self.domains = load_domains(cfg, self.variant, runtime)
        super().__init__(iterations_per_epoch(cfg, self.variant, self.domains))
        self.model, self.discs = build_networks(cfg, self.variant, self.domains.num_source_ids, runtime)
        self.learner = build_learner(cfg.cluster.learner, self.model, cfg, self.domains.num_source_ids)
        self.amp = cfg.train.amp and runtime.device.type == "cuda"
        self.optim = Optimizers(cfg, self.model, self.discs, self.learner, self.amp)
        self.wrap()
        self.label_generator = make_label_generator(cfg.cluster) if self.variant.use_target else None
        self.pseudo: PseudoLabels | None = None
        self.history: list[dict] = []
        self.seconds, self._t0 = 0.0, time.perf_counter()
        self.fusion_initialised, self.start_note = False, ""
        self.monitor = Monitor(self.out, enabled=False, total=0)  # silent until train()
        self._batches: Iterator | None = None
        if resume and self.ckpt_path.is_file():
            self._resume()
        elif cfg.train.init:
            self.start_note, self.fusion_initialised = init_from(self.model, self.discs, cfg.train.init, cfg.model.backbone)
        self.register_hooks(*([ClusteringHook()] if self.variant.use_target else []), ProgressHook(cfg.train.log_every),
                            DiscriminatorWatch(), EvalHook(cfg.train.eval_every), CheckpointHook(cfg.train.checkpoint_every),
                            CallbackHook(after_train=self._finish), *hooks)

    def wrap(self) -> None:
        """(Re)wrap the step and the discriminators in DDP; needed again when target classifiers are rebuilt."""
        step = StepModule(self.model, self.discs, self.learner, self.cfg.loss, self.runtime.gather)
        disc_step = DiscriminatorStepModule(self.discs, self.cfg.loss)
        if self.runtime.distributed:
            ids = [self.runtime.device.index] if self.runtime.device.type == "cuda" else None
            self.step_module = DistributedDataParallel(step, device_ids=ids, find_unused_parameters=True)
            self.disc_module = DistributedDataParallel(disc_step, device_ids=ids, find_unused_parameters=True) if self.discs.any() else None
        else:
            self.step_module, self.disc_module = step, disc_step

    # ------------------------------------------------------------ checkpoints
    def state(self) -> dict:
        """Everything needed to resume exactly: weights, learner, optimisers, scalers, RNG, iteration, pseudo-labels."""
        return {
            "config": config_to_dict(self.cfg),
            "variant": self.variant.name,
            "num_source_ids": self.domains.num_source_ids,
            "input_size": [self.cfg.data.height, self.cfg.data.width],
            "model": self.model.state_dict(),
            "discriminators": self.discs.state_dict(),
            "learner": self.learner.state(),
            "learner_modules": self.learner.modules().state_dict(),
            "optimizers": self.optim.state_dict(),
            "scalers": self.optim.scaler_state(),
            "rng": {"torch": torch.get_rng_state(), "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else []},
            "iteration": self.iteration,
            "epoch": self.epoch,
            "seconds": self.elapsed(),
            "pseudo_labels": None if self.pseudo is None else torch.from_numpy(self.pseudo.labels),
            "label_generator": generator_state(self.label_generator) if self.label_generator is not None else {},
            "history": self.history,
        }

    def _resume(self) -> None:
        state = ckpt.load_checkpoint(self.ckpt_path)
        check_same_config(self.cfg, state["config"], self.ckpt_path)
        self.learner.load_modules(state["learner_modules"])
        self.optim.rebuild_target(self.learner)
        self.wrap()
        ckpt.load_module_state(self.model, state["model"], "model", self.ckpt_path)
        ckpt.load_module_state(self.discs, state["discriminators"], "discriminators", self.ckpt_path)
        self.learner.load_state(state.get("learner", {}))
        self.optim.load_state_dict(state["optimizers"])
        self.optim.load_scaler_state(state["scalers"])
        torch.set_rng_state(state["rng"]["torch"])
        if state["rng"]["cuda"] and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state["rng"]["cuda"])
        self.iteration, self.epoch, self.seconds = int(state["iteration"]), int(state["epoch"]), float(state["seconds"])
        labels = state["pseudo_labels"]
        self.pseudo = None if labels is None else PseudoLabels(labels.numpy())
        for key, value in state.get("label_generator", {}).items():
            setattr(self.label_generator, key, value)
        self.history = list(state["history"])
        self.start_note = f"resumed from {self.ckpt_path} at iteration {self.iteration}"

    def elapsed(self) -> float:
        """Wall-clock seconds of training so far, summed over resumed runs."""
        return self.seconds + time.perf_counter() - self._t0

    def check_weights_finite(self) -> None:
        """A finite loss can still leave non-finite weights (a huge step); never checkpoint those."""
        modules = [self.model, self.learner.modules()] + ([self.discs] if self.discs.any() else [])
        norms = [p.detach().norm() for m in modules for p in m.parameters()]
        if norms and not bool(torch.isfinite(torch.stack(norms)).all()):
            raise TrainingError(
                f"the weights became non-finite by iteration {self.iteration} although the loss was finite; training stopped and {self._kept()}",
                where=self.out,
                fix="lower the learning rates (optim.lr_*), set optim.grad_clip (e.g. 5), or train.amp=false",
            )

    def _kept(self) -> str:
        return f"the last good checkpoint is {self.ckpt_path}" if self.ckpt_path.is_file() else "no checkpoint was written yet"

    def save(self) -> Path | None:
        self.check_weights_finite()
        return ckpt.save_checkpoint(self.state(), self.ckpt_path) if self.runtime.is_main else None

    # --------------------------------------------------------------- training
    def train(self) -> dict:
        """Run to `optim.iterations`, evaluating and checkpointing on the way; returns the final metrics."""
        cfg, rt = self.cfg, self.runtime
        self._t0 = time.perf_counter()
        self.monitor = Monitor(self.out, rt.is_main, cfg.optim.iterations, self.iteration)
        try:
            self.monitor.info(
                f"variant {self.variant.name}, learner {self.learner.name}: {self.domains.source.name} ({len(self.domains.source.train)} "
                f"images) -> {self.domains.target.name} ({len(self.domains.target.train)} images); {cfg.optim.iterations} iterations, "
                f"{self.iters_per_epoch} per epoch, device {rt.device}, {rt.world_size} process(es)"
            )
            if rt.is_main:  # partial checkpoints of a killed earlier run in this folder (never read; only disk space)
                for stale in ckpt.remove_stale_temporaries(self.ckpt_path) + ckpt.remove_stale_temporaries(self.out / "model.pt"):
                    self.monitor.info(f"removed {stale}, a partial checkpoint left by a killed run")
            if self.start_note:
                self.monitor.info(self.start_note)
            self.train_loop(cfg.optim.iterations)
            return self._write_metrics(self.history[-1] if self.history and self.history[-1]["iteration"] == self.iteration else None)
        finally:
            self.monitor.close()

    def _finish(self) -> None:
        """After the last step: evaluate (unless just done), save the checkpoint and the final model."""
        if not (self.history and self.history[-1]["iteration"] == self.iteration):
            self.evaluate()
        self.save()
        if self.runtime.is_main:
            final = {k: v for k, v in self.state().items() if k not in ("optimizers", "scalers", "rng")}
            ckpt.save_checkpoint(final, self.out / "model.pt")

    def _epoch_batches(self) -> Iterator:
        target_labels = None
        if self.variant.use_target and self.pseudo is not None and self.pseudo.usable:
            target_labels = self.learner.sampling_labels(self.pseudo.labels)
        source, target = epoch_loaders(self.cfg, self.runtime, self.domains, self.train_tf, target_labels, self.epoch,
                                       self.iteration - self.epoch_start, self.iters_per_epoch)
        return zip(source, target) if target is not None else ((b, None) for b in source)

    def run_step(self) -> dict[str, float]:
        if self._batches is None or self.iteration == self.epoch_start:
            self._batches = self._epoch_batches()
        sb, tb = next(self._batches)
        dev, optim = self.runtime.device, self.optim
        apply_lr(optim.all(), self.iteration, self.cfg.optim)
        xs, ys = sb[0].to(dev, non_blocking=True), sb[1].to(dev, non_blocking=True)
        xt = yt = seeds_t = index_t = None
        if tb is not None:
            xt, yt, index_t, seeds_t = tb[0].to(dev, non_blocking=True), tb[1].to(dev, non_blocking=True), tb[3].to(dev), tb[4]
        self.discs.requires_grad_(False)
        with torch.autocast(device_type=dev.type, dtype=torch.float16, enabled=self.amp):
            out = self.step_module(xs, ys, xt, yt, sb[4], seeds_t, index_t)
        self._check_finite(out.loss, out.terms)
        for opt in optim.generator():
            opt.zero_grad(set_to_none=True)
        optim.scaler.scale(out.loss).backward()
        self._clip(optim.generator(), optim.scaler)
        for opt in optim.generator():
            optim.scaler.step(opt)
        optim.scaler.update()
        self.learner.update(out.embedded, Labels(ys, yt, index_t=index_t, gather=self.runtime.gather))
        terms = {k: float(v.detach()) for k, v in out.terms.items()}
        terms["total"] = float(out.loss.detach())
        if optim.disc is not None:
            self.discs.requires_grad_(True)
            with torch.autocast(device_type=dev.type, dtype=torch.float16, enabled=self.amp):
                loss_d, d_terms = self.disc_module(out)
            if loss_d is not None:
                self._check_finite(loss_d, d_terms)
                optim.disc.zero_grad(set_to_none=True)
                optim.scaler_disc.scale(loss_d).backward()
                self._clip([optim.disc], optim.scaler_disc)
                optim.scaler_disc.step(optim.disc)
                optim.scaler_disc.update()
                terms.update({k: float(v.detach()) for k, v in d_terms.items()})
        terms["lr_encoder"] = optim.main.param_groups[0]["lr"]
        return terms

    def _clip(self, opts: list[torch.optim.Optimizer], scaler: torch.amp.GradScaler) -> None:
        if self.cfg.optim.grad_clip > 0:
            for opt in opts:
                scaler.unscale_(opt)
            torch.nn.utils.clip_grad_norm_([p for opt in opts for g in opt.param_groups for p in g["params"]], self.cfg.optim.grad_clip)

    def _check_finite(self, loss: torch.Tensor, terms: dict[str, torch.Tensor]) -> None:
        if torch.isfinite(loss).item():
            return
        bad = ", ".join(f"{k}={float(v.detach()):.4g}" for k, v in terms.items() if not torch.isfinite(v).item())
        raise TrainingError(
            f"the loss became non-finite at iteration {self.iteration + 1} ({bad or f'total={float(loss.detach())}'}); "
            f"training stopped and {self._kept()}",
            where=self.out,
            fix="lower the learning rates (optim.lr_*), set optim.grad_clip (e.g. 5), or train.amp=false; then resume with --resume or start again",
        )

    # ------------------------------------------------------------- evaluation
    def evaluate(self) -> dict | None:
        """Target query/gallery metrics now (logged and kept in the history), or None without a test split."""
        target = self.domains.target
        if not target.has_test:
            self.monitor.warning(f"target {target.name!r} has no query/gallery split: nothing to evaluate")
            return None
        metrics = evaluate_model(self.model, target, self.cfg, self.runtime)
        self.history.append({"iteration": self.iteration, **metrics})
        self.monitor.info(
            f"iteration {self.iteration}: target {target.name} mAP {metrics['mAP']:.1f}  rank-1 {metrics['rank1']:.1f}  "
            f"rank-5 {metrics['rank5']:.1f}  rank-10 {metrics['rank10']:.1f}  mINP {metrics['mINP']:.1f}"
        )
        self.monitor.scalars("eval", metrics, self.iteration)
        return self.history[-1]

    def _write_metrics(self, final: dict | None) -> dict:
        keys = ("mAP", "rank1", "rank5", "rank10", "mINP")
        result = {
            "variant": self.variant.name,
            "learner": self.learner.name,
            "source": self.domains.source.name,
            "target": self.domains.target.name,
            **{k: (None if final is None else round(float(final[k]), 4)) for k in keys},
            "iterations": self.iteration,
            "seconds": round(self.elapsed(), 1),
        }
        if self.runtime.is_main:
            self.out.mkdir(parents=True, exist_ok=True)
            tmp = self.out / "metrics.json.tmp"
            tmp.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
            tmp.replace(self.out / "metrics.json")
        return result
