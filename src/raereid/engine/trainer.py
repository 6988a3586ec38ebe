"""Algorithm 1: the training loop of every variant (direct, baseline, ft, pt, ft+pt, full).

Each epoch: extract the target's training descriptors and recompute pseudo-labels; then each
iteration draws a PK batch from the source (true ids) and the target (pseudo ids), updates
Enc / Dec / P / heads on Eq. 9 + 17 + 21, then the discriminators on their own losses.
"""

from __future__ import annotations

import json
import math
import signal
import statistics
import time
from collections import deque
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from raereid.config.loader import config_to_dict
from raereid.config.schema import Config
from raereid.config.variants import get_variant
from raereid.data.loaders import ImageDataset, train_loader
from raereid.data.records import relabel
from raereid.data.registry import load_dataset
from raereid.data.samplers import PKBatchSampler
from raereid.data.transforms import train_transform
from raereid.engine import checkpoint as ckpt
from raereid.engine.checks import check_datasets
from raereid.engine.evaluate import evaluate_model
from raereid.engine.features import extract
from raereid.engine.monitor import Monitor
from raereid.engine.objective import discriminator_step, generator_step
from raereid.engine.pseudo_labels import (
    PseudoLabels,
    assign_pseudo_labels,
    centroids,
    generator_state,
    label_quality,
    make_label_generator,
)
from raereid.engine.runtime import Runtime, seed_everything
from raereid.engine.schedule import apply_lr
from raereid.errors import ConfigError, DatasetError, TrainingError
from raereid.models.global_bn import convert_to_global_bn
from raereid.models.rae import RAE, Discriminators

# Keys that may differ between a run and its resumption (they do not change what is trained).
RESUMABLE_CHANGES = {
    "data.root", "data.workers", "data.test_batch_size", "data.verify_images", "train.device",
    "train.eval_every", "train.checkpoint_every", "train.log_every", "train.output", "train.gap_picture", "optim.iterations",
}
COLLAPSE_WINDOW = 50
COLLAPSE_LOSS = 0.02


class Interrupted(Exception):
    """SIGINT/SIGTERM arrived; a checkpoint was saved at `iteration`."""

    def __init__(self, iteration: int, path: Path):
        self.iteration, self.path = iteration, path
        super().__init__(f"interrupted at iteration {iteration}; checkpoint saved to {path}")


def _flat(cfg_dict: dict) -> dict[str, object]:
    return {f"{s}.{k}": v for s, values in cfg_dict.items() for k, v in values.items()}


class StepModule(nn.Module):
    """The generator objective as a module, so DistributedDataParallel can wrap it."""

    def __init__(self, model: RAE, discs: Discriminators, cfg: Config, runtime: Runtime):
        super().__init__()
        self.model = model
        self._discs = (discs,)  # not a submodule: the discriminators have their own optimiser and DDP wrapper
        self.loss_cfg = cfg.loss
        self.gather = runtime.gather

    def forward(self, xs, ys, xt, yt, seeds_s=None, seeds_t=None):  # noqa: ANN001, ANN201 - DDP passes tensors through
        return generator_step(self.model, self._discs[0], xs, ys, xt, yt, self.loss_cfg, self.gather, seeds_s, seeds_t)


class DiscriminatorStepModule(nn.Module):
    """The discriminators' objective as a module, so DistributedDataParallel averages their gradients."""

    def __init__(self, discs: Discriminators, cfg: Config):
        super().__init__()
        self.discs = discs
        self.loss_cfg = cfg.loss

    def forward(self, step):  # noqa: ANN001, ANN201
        return discriminator_step(self.discs, step, self.loss_cfg)


class Trainer:
    """Builds data, model and optimisers from a Config, trains, evaluates, checkpoints."""

    def __init__(self, cfg: Config, runtime: Runtime, resume: bool = False):
        self.cfg, self.runtime = cfg, runtime
        self.variant = get_variant(cfg.train.variant)
        self.out = Path(cfg.train.output)
        self.ckpt_path = self.out / "checkpoints" / "last.pt"
        seed_everything(cfg.train.seed)
        # Built (and so checked) once, before any image is read: a bad data.color_jitter fails here, not after clustering.
        self.train_tf = train_transform(
            cfg.data.height, cfg.data.width, cfg.data.flip, cfg.data.pad, cfg.data.erasing, tuple(cfg.data.color_jitter)
        )
        self._load_data()
        self._build_model()
        self.iteration, self.epoch, self.seconds = 0, 0, 0.0
        self.pseudo: PseudoLabels | None = None
        self.label_generator = make_label_generator(cfg.cluster) if self.variant.use_target else None
        self.history: list[dict] = []
        self._stop_signal: int | None = None
        self.fusion_initialised = False
        resumed = resume and self._resume()
        if not resumed and cfg.train.init:
            self._init_from(cfg.train.init)

    # ----------------------------------------------------------------- set-up
    def _load_data(self) -> None:
        cfg = self.cfg
        self.source = load_dataset(cfg.data.source, cfg.data.root)
        if not self.source.train_is_labeled:
            raise DatasetError(
                f"the source dataset {self.source.name!r} has unlabeled training images",
                where=self.source.root,
                fix="the source must carry identity labels (Market/Duke/MSMT17 layouts, or train.csv with pids)",
            )
        self.source_labels, _ = relabel([r.pid for r in self.source.train])
        self.target = load_dataset(cfg.data.target, cfg.data.root)
        if self.variant.use_target and len(self.target.train) < 2 * max(cfg.cluster.min_samples, 2):
            raise DatasetError(
                f"the target has {len(self.target.train)} training image(s): too few to cluster",
                where=self.target.root,
                fix=f"clustering needs at least {2 * max(cfg.cluster.min_samples, 2)} target images (two clusters of min_samples)",
            )
        check_datasets(cfg, self.source, self.target, self.variant.use_target, self.runtime.world_size)
        if cfg.data.verify_images and self.runtime.is_main:
            from raereid.data.images import verify_images

            for ds in {id(d): d for d in (self.source, self.target)}.values():
                verify_images([r.path for r in ds.train + ds.query + ds.gallery], workers=max(cfg.data.workers, 1))
        self.runtime.barrier()
        batch = cfg.data.p * cfg.data.k
        n = len(self.target.train) if self.variant.use_target else len(self.source.train)
        self.iters_per_epoch = cfg.train.iters_per_epoch or max(1, math.ceil(n / batch))

    def _build_model(self) -> None:
        cfg, dev = self.cfg, self.runtime.device
        num_ids = int(self.source_labels.max()) + 1
        self.model = RAE(cfg.model, self.variant, num_ids, (cfg.data.height, cfg.data.width))
        self.discs = Discriminators(self.model, tuple(cfg.model.discriminator_channels))
        if self.runtime.distributed and cfg.train.sync_bn:
            self.model = self._convert_bn(self.model)
        self.model.to(dev)
        self.discs.to(dev)
        o = cfg.optim
        enc = list(self.model.encoder.parameters())
        enc_ids = {id(p) for p in enc}
        target_ids = {id(p) for h in self.model.target_heads() for p in h.parameters()}
        other = [p for p in self.model.parameters() if id(p) not in enc_ids and id(p) not in target_ids]
        self.opt = self._optimizer(o.optimizer, [(enc, o.lr_encoder), (other, o.lr_other)])
        self.opt_disc = self._optimizer(o.disc_optimizer, [(list(self.discs.parameters()), o.lr_discriminator)]) if self.discs.any() else None
        self._rebuild_target_optimizer()
        amp = cfg.train.amp and dev.type == "cuda"
        self.scaler = torch.amp.GradScaler("cuda", enabled=amp)
        self.scaler_disc = torch.amp.GradScaler("cuda", enabled=amp)
        self.amp = amp
        self._wrap()

    def _convert_bn(self, module: nn.Module) -> nn.Module:
        """Batch norm over the global batch: torch's SyncBatchNorm on GPUs, GlobalBatchNorm on CPUs (gloo)."""
        if self.runtime.device.type == "cuda":
            return nn.SyncBatchNorm.convert_sync_batchnorm(module)
        return convert_to_global_bn(module)

    def _optimizer(self, kind: str, groups: list[tuple[list[nn.Parameter], float]]) -> torch.optim.Optimizer:
        """SGD (the paper's, momentum and weight decay from the config) or Adam over (parameters, base rate) groups.

        `foreach=True` everywhere: torch picks it only on CUDA by default, and the per-tensor loop it
        falls back to on CPUs was measured 20-50x slower per step here."""
        o = self.cfg.optim
        params = [{"params": [p for p in ps if p.requires_grad], "lr": lr, "base_lr": lr} for ps, lr in groups if ps]
        if kind == "sgd":
            return torch.optim.SGD(params, lr=params[0]["lr"], momentum=o.momentum, weight_decay=o.weight_decay, foreach=True)
        if kind == "adam":
            return torch.optim.Adam(
                params, lr=params[0]["lr"], betas=(o.adam_beta1, 0.999), weight_decay=o.weight_decay, foreach=True
            )
        raise ConfigError(f"unknown optimiser {kind!r}", fix="optim.optimizer and optim.disc_optimizer are sgd (the paper's) or adam")

    def _rebuild_target_optimizer(self) -> None:
        params = [p for h in self.model.target_heads() for p in h.parameters()]
        self.opt_target = self._optimizer(self.cfg.optim.optimizer, [(params, self.cfg.optim.lr_other)])

    def _wrap(self) -> None:
        """(Re)wrap the step and the discriminators in DDP; needed again when target heads are rebuilt."""
        step = StepModule(self.model, self.discs, self.cfg, self.runtime)
        if self.runtime.distributed:
            ids = [self.runtime.device.index] if self.runtime.device.type == "cuda" else None
            self.step_module = DistributedDataParallel(step, device_ids=ids, find_unused_parameters=True)
            disc_step = DiscriminatorStepModule(self.discs, self.cfg)
            self.disc_module = DistributedDataParallel(disc_step, device_ids=ids, find_unused_parameters=True) if self.discs.any() else None
        else:
            self.step_module, self.disc_module = step, DiscriminatorStepModule(self.discs, self.cfg)

    def optimizers(self) -> list[torch.optim.Optimizer]:
        return [o for o in (self.opt, self.opt_disc, self.opt_target) if o is not None]

    # ------------------------------------------------------------ checkpoints
    def state(self) -> dict:
        """Everything needed to resume exactly: weights, optimisers, scalers, RNG, iteration, pseudo-labels."""
        return {
            "config": config_to_dict(self.cfg),
            "variant": self.variant.name,
            "num_source_ids": int(self.source_labels.max()) + 1,
            "input_size": [self.cfg.data.height, self.cfg.data.width],
            "target_classes": [h.num_classes for h in self.model.target_heads()],
            "model": self.model.state_dict(),
            "discriminators": self.discs.state_dict(),
            "optimizers": {
                "main": self.opt.state_dict(),
                "disc": self.opt_disc.state_dict() if self.opt_disc else None,
                "target": self.opt_target.state_dict(),
            },
            "scalers": {"main": self.scaler.state_dict(), "disc": self.scaler_disc.state_dict()},
            "rng": {"torch": torch.get_rng_state(), "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else []},
            "iteration": self.iteration,
            "epoch": self.epoch,
            "seconds": self.elapsed(),
            "pseudo_labels": None if self.pseudo is None else torch.from_numpy(self.pseudo.labels),
            "label_generator": generator_state(self.label_generator) if self.label_generator is not None else {},
            "history": self.history,
        }

    def elapsed(self) -> float:
        """Wall-clock seconds of training so far, summed over resumed runs."""
        return self.seconds + (time.perf_counter() - self._t0 if hasattr(self, "_t0") else 0.0)

    def _check_weights_finite(self) -> None:
        """A finite loss can still leave non-finite weights (a huge step); never checkpoint those."""
        modules = [self.model] + ([self.discs] if self.discs.any() else [])
        norms = [p.detach().norm() for m in modules for p in m.parameters()]
        if norms and not bool(torch.isfinite(torch.stack(norms)).all()):
            kept = f"the last good checkpoint is {self.ckpt_path}" if self.ckpt_path.is_file() else "no checkpoint was written yet"
            raise TrainingError(
                f"the weights became non-finite by iteration {self.iteration} although the loss was finite; training stopped and {kept}",
                where=self.out,
                fix="lower the learning rates (optim.lr_*), set optim.grad_clip (e.g. 5), or train.amp=false",
            )

    def save(self) -> Path | None:
        self._check_weights_finite()
        if self.runtime.is_main:
            return ckpt.save_checkpoint(self.state(), self.ckpt_path)
        return None

    def _check_same_config(self, saved: dict) -> None:
        # A key the checkpoint lacks was added to raereid after it was written: the run had its default.
        now, before = _flat(config_to_dict(self.cfg)), {**_flat(config_to_dict(Config())), **_flat(saved)}
        changed = [k for k in now if k not in RESUMABLE_CHANGES and before.get(k) != now[k]]
        if changed:
            diffs = ", ".join(f"{k}: {before.get(k)!r} -> {now[k]!r}" for k in changed[:4])
            raise ConfigError(
                f"--resume with a different configuration ({diffs})",
                where=self.ckpt_path,
                fix="resume with the same config and overrides, or start a new run in another --output folder",
            )

    def _resume(self) -> bool:
        if not self.ckpt_path.is_file():
            return False
        state = ckpt.load_checkpoint(self.ckpt_path)
        self._check_same_config(state["config"])
        self._set_target_shapes(state["target_classes"])
        ckpt.load_module_state(self.model, state["model"], "model", self.ckpt_path)
        ckpt.load_module_state(self.discs, state["discriminators"], "discriminators", self.ckpt_path)
        self.opt.load_state_dict(state["optimizers"]["main"])
        if self.opt_disc is not None:
            self.opt_disc.load_state_dict(state["optimizers"]["disc"])
        self.opt_target.load_state_dict(state["optimizers"]["target"])
        self.scaler.load_state_dict(state["scalers"]["main"])
        self.scaler_disc.load_state_dict(state["scalers"]["disc"])
        torch.set_rng_state(state["rng"]["torch"])
        if state["rng"]["cuda"] and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state["rng"]["cuda"])
        self.iteration, self.epoch, self.seconds = state["iteration"], state["epoch"], state["seconds"]
        labels = state["pseudo_labels"]
        self.pseudo = None if labels is None else PseudoLabels(labels.numpy())
        for key, value in state.get("label_generator", {}).items():
            setattr(self.label_generator, key, value)
        self.history = list(state["history"])
        self._resumed = True
        return True

    def _set_target_shapes(self, classes: list[int]) -> None:
        dim = self.model.encoder.out_channels
        self.model.set_target_classes(torch.zeros(classes[0], dim), torch.zeros(classes[-1], self.cfg.model.fusion_out))
        self._rebuild_target_optimizer()
        self._wrap()

    def _init_from(self, path: str) -> None:
        """Start from another run's weights (e.g. direct transfer): every module both have, shapes matching."""
        state = ckpt.load_checkpoint(path)
        own = self.model.state_dict()
        encoder_keys = [k for k in own if k.startswith("encoder.")]
        if any(k not in state["model"] or state["model"][k].shape != own[k].shape for k in encoder_keys):
            raise ConfigError(
                "train.init checkpoint has another encoder architecture",
                where=path,
                fix=f"use a checkpoint trained with model.backbone={self.cfg.model.backbone} at the same input size",
            )
        skip = ("target_head.", "fused_target_head.")
        usable = {k: v for k, v in state["model"].items() if k in own and v.shape == own[k].shape and not k.startswith(skip)}
        self.model.load_state_dict(usable, strict=False)
        self.fusion_initialised = any(k.startswith("fusion.") for k in usable)
        disc_own = self.discs.state_dict()
        self.discs.load_state_dict(
            {k: v for k, v in state.get("discriminators", {}).items() if k in disc_own and v.shape == disc_own[k].shape},
            strict=False,
        )
        self.init_note = f"initialised {len(usable)} tensors from {path}"

    # --------------------------------------------------------------- training
    def _clustered_kind(self) -> str:
        """'final' (the fused descriptor) once P has been trained in this run or loaded from train.init, when
        cluster.feature asks for it; else 'encoder'. A freshly initialised P is random, so its output is not
        clustered, and without fusion the final descriptor is the encoder's anyway."""
        trained = self.iteration > 0 or self.fusion_initialised
        return "final" if self.cfg.cluster.feature == "final" and self.variant.fusion and trained else "encoder"

    def _recluster(self, monitor: Monitor) -> None:
        kinds = ("encoder", "final") if self.variant.fusion else ("encoder",)
        feats = extract(
            self.model, self.target.train, self.cfg.data.height, self.cfg.data.width, self.runtime, kinds=kinds,
            batch_size=self.cfg.data.test_batch_size, workers=min(self.cfg.data.workers, 2), amp=self.amp,
            desc="target features",
        )
        kind = self._clustered_kind()
        clustered = feats[kind]
        pseudo = assign_pseudo_labels(clustered, self.label_generator) if self.runtime.is_main else None
        self.pseudo = PseudoLabels(self.runtime.broadcast(None if pseudo is None else pseudo.labels))
        n, outliers = self.pseudo.num_clusters, self.pseudo.num_outliers
        main = self.runtime.is_main
        learned = "".join(f", {k} {v:.3g}" for k, v in generator_state(self.label_generator).items()) if main else ""
        quality = label_quality(self.pseudo, np.array([r.pid for r in self.target.train])) if main else None
        note = f"; vs true ids (analysis only): ARI {quality['ari']:.3f}, NMI {quality['nmi']:.3f}" if quality else ""
        monitor.info(
            f"epoch {self.epoch}: {n} clusters, {outliers} outliers of {len(self.pseudo.labels)} target images "
            f"({kind} descriptor){learned}{note}"
        )
        monitor.scalars("cluster", {"clusters": n, "outliers": outliers, **({"ari": quality["ari"], "nmi": quality["nmi"]} if quality else {})}, self.iteration)
        if not self.pseudo.usable:
            monitor.warning(
                f"epoch {self.epoch}: clustering gave {n} cluster(s); this epoch trains on the source only "
                "(check cluster.eps / cluster.min_samples if this persists)"
            )
            return
        fused = centroids(feats["final"], self.pseudo.labels, n) if self.variant.fusion else None
        self.model.set_target_classes(centroids(feats["encoder"], self.pseudo.labels, n), fused)
        self._rebuild_target_optimizer()
        self._wrap()

    def _loaders(self, epoch_start: int):
        cfg, rt = self.cfg, self.runtime
        skip = self.iteration - epoch_start
        n = self.iters_per_epoch

        def pk(labels: np.ndarray, stream: int) -> PKBatchSampler:
            sampler = PKBatchSampler(labels, cfg.data.p, cfg.data.k, n, seed=[cfg.train.seed, stream], rank=rt.rank, world_size=rt.world_size, start=skip)
            sampler.set_epoch(self.epoch)
            return sampler

        source = train_loader(ImageDataset(self.source.train, self.train_tf, self.source_labels), pk(self.source_labels, 0), cfg.data.workers, rt.device)
        if not (self.variant.use_target and self.pseudo is not None and self.pseudo.usable):
            return source, None
        target = train_loader(ImageDataset(self.target.train, self.train_tf, self.pseudo.labels), pk(self.pseudo.labels, 1), cfg.data.workers, rt.device)
        return source, target

    def _handle_signal(self, signum, frame) -> None:  # noqa: ANN001
        self._stop_signal = signum

    def train(self) -> dict:
        """Run to `optim.iterations`, evaluating and checkpointing on the way; returns the final metrics."""
        cfg, rt = self.cfg, self.runtime
        total = cfg.optim.iterations
        self._t0 = time.perf_counter()
        monitor = Monitor(self.out, rt.is_main, total, self.iteration)
        previous = {s: signal.signal(s, self._handle_signal) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            monitor.info(
                f"variant {self.variant.name}: {self.source.name} ({len(self.source.train)} images) -> "
                f"{self.target.name} ({len(self.target.train)} images); {total} iterations, "
                f"{self.iters_per_epoch} per epoch, device {rt.device}, {rt.world_size} process(es)"
            )
            if rt.is_main:  # partial checkpoints of a killed earlier run in this folder (never read; only disk space)
                for stale in ckpt.remove_stale_temporaries(self.ckpt_path) + ckpt.remove_stale_temporaries(self.out / "model.pt"):
                    monitor.info(f"removed {stale}, a partial checkpoint left by a killed run")
            if getattr(self, "_resumed", False):
                monitor.info(f"resumed from {self.ckpt_path} at iteration {self.iteration}")
            elif getattr(self, "init_note", None):
                monitor.info(self.init_note)
            self._loop(monitor, total)
            final = self.history[-1] if self.history and self.history[-1]["iteration"] == total else self._evaluate(monitor)
            self.save()
            if rt.is_main:
                ckpt.save_checkpoint(
                    {k: v for k, v in self.state().items() if k not in ("optimizers", "scalers", "rng")},
                    self.out / "model.pt",
                )
                if cfg.train.gap_picture:
                    self._gap_picture(monitor)
            return self._write_metrics(final)
        finally:
            for s, handler in previous.items():
                signal.signal(s, handler)
            monitor.close()

    def _loop(self, monitor: Monitor, total: int) -> None:
        cfg = self.cfg
        disc_losses: dict[str, deque] = {}
        while self.iteration < total:
            epoch_start = self.epoch * self.iters_per_epoch
            if self.iteration >= epoch_start + self.iters_per_epoch:
                self.epoch += 1
                continue
            if self.variant.use_target and (self.iteration == epoch_start or self.pseudo is None):
                self._recluster(monitor)
            source, target = self._loaders(epoch_start)
            batches = zip(source, target) if target is not None else ((b, None) for b in source)
            for sb, tb in batches:
                terms = self._step(sb, tb)
                self.iteration += 1
                monitor.advance({k: v for k, v in terms.items() if not k.startswith("lr")})
                if self.iteration % cfg.train.log_every == 0 or self.iteration == total:
                    self._check_weights_finite()
                    monitor.scalars("loss", {k: v for k, v in terms.items() if not k.startswith("lr")}, self.iteration)
                    monitor.scalars("lr", {k: v for k, v in terms.items() if k.startswith("lr")}, self.iteration)
                self._watch_discriminators(terms, disc_losses, monitor)
                if cfg.train.eval_every and self.iteration % cfg.train.eval_every == 0 and self.iteration < total:
                    self._evaluate(monitor)
                if self._stop_signal is not None:
                    path = self.save()
                    raise Interrupted(self.iteration, path or self.ckpt_path)
                if cfg.train.checkpoint_every and self.iteration % cfg.train.checkpoint_every == 0:
                    self.save()
                if self.iteration >= total:
                    break
            if self.iteration >= epoch_start + self.iters_per_epoch:
                self.epoch += 1

    def _step(self, sb, tb) -> dict[str, float]:  # noqa: ANN001
        dev = self.runtime.device
        apply_lr(self.optimizers(), self.iteration, self.cfg.optim)
        xs, ys = sb[0].to(dev, non_blocking=True), sb[1].to(dev, non_blocking=True)
        xt = yt = seeds_t = None
        if tb is not None:
            xt, yt, seeds_t = tb[0].to(dev, non_blocking=True), tb[1].to(dev, non_blocking=True), tb[4]
        self.discs.requires_grad_(False)
        with torch.autocast(device_type=dev.type, dtype=torch.float16, enabled=self.amp):
            out = self.step_module(xs, ys, xt, yt, sb[4], seeds_t)
        self._check_finite(out.loss, out.terms)
        for opt in (self.opt, self.opt_target):
            opt.zero_grad(set_to_none=True)
        self.scaler.scale(out.loss).backward()
        self._clip([self.opt, self.opt_target], self.scaler)
        self.scaler.step(self.opt)
        self.scaler.step(self.opt_target)
        self.scaler.update()
        terms = {k: float(v.detach()) for k, v in out.terms.items()}
        terms["total"] = float(out.loss.detach())
        if self.opt_disc is not None:
            self.discs.requires_grad_(True)
            with torch.autocast(device_type=dev.type, dtype=torch.float16, enabled=self.amp):
                loss_d, d_terms = self.disc_module(out)
            if loss_d is not None:
                self._check_finite(loss_d, d_terms)
                self.opt_disc.zero_grad(set_to_none=True)
                self.scaler_disc.scale(loss_d).backward()
                self._clip([self.opt_disc], self.scaler_disc)
                self.scaler_disc.step(self.opt_disc)
                self.scaler_disc.update()
                terms.update({k: float(v.detach()) for k, v in d_terms.items()})
        terms["lr_encoder"] = self.opt.param_groups[0]["lr"]
        return terms

    def _clip(self, opts: list[torch.optim.Optimizer], scaler: torch.amp.GradScaler) -> None:
        if self.cfg.optim.grad_clip > 0:
            for opt in opts:
                scaler.unscale_(opt)
            params = [p for opt in opts for g in opt.param_groups for p in g["params"]]
            torch.nn.utils.clip_grad_norm_(params, self.cfg.optim.grad_clip)

    def _check_finite(self, loss: torch.Tensor, terms: dict[str, torch.Tensor]) -> None:
        if torch.isfinite(loss).item():
            return
        bad = ", ".join(f"{k}={float(v.detach()):.4g}" for k, v in terms.items() if not torch.isfinite(v).item())
        bad = bad or f"total={float(loss.detach())}"
        kept = f"the last good checkpoint is {self.ckpt_path}" if self.ckpt_path.is_file() else "no checkpoint was written yet"
        raise TrainingError(
            f"the loss became non-finite at iteration {self.iteration + 1} ({bad}); training stopped and {kept}",
            where=self.out,
            fix="lower the learning rates (optim.lr_*), set optim.grad_clip (e.g. 5), or train.amp=false; "
            "then resume with --resume or start again",
        )

    def _watch_discriminators(self, terms: dict[str, float], window: dict[str, deque], monitor: Monitor) -> None:
        """Report a discriminator that wins outright: its loss stays near 0, so the generator learns nothing from it."""
        for name in ("dis_feat", "dis_pix"):
            if name not in terms:
                continue
            hist = window.setdefault(name, deque(maxlen=COLLAPSE_WINDOW))
            hist.append(terms[name])
            # The median, not the maximum: a collapsed discriminator can still spike now and then.
            if len(hist) == COLLAPSE_WINDOW and statistics.median(hist) < COLLAPSE_LOSS:
                monitor.warning(
                    f"iteration {self.iteration}: discriminator collapse: {name} was below {COLLAPSE_LOSS} for most of "
                    f"the last {COLLAPSE_WINDOW} iterations (it separates real from fake perfectly, its generator term "
                    "gives no useful gradient); consider a lower optim.lr_discriminator or loss.lambda_gan_*"
                )
                hist.clear()

    def _gap_picture(self, monitor: Monitor) -> None:
        """t-SNE of source and target descriptors: of the `train.init` model (before) and of this one (after)."""
        from raereid.engine.model_io import load_model
        from raereid.tools.gap import domain_gap_picture

        models: dict[str, RAE] = {}
        if self.cfg.train.init:
            models[f"before: {Path(self.cfg.train.init).parent.name or 'init'}"] = load_model(self.cfg.train.init, self.runtime.device).model
        models[f"after: {self.variant.name}"] = self.model
        source = self.source.query + self.source.gallery or self.source.train
        target = self.target.query + self.target.gallery or self.target.train
        path = domain_gap_picture(models, source, target, self.cfg, self.out / "domain_gap.png", per_domain=300,
                                  names=(self.source.name, self.target.name))
        monitor.info(f"domain-gap picture: {path}")

    # ------------------------------------------------------------- evaluation
    def _evaluate(self, monitor: Monitor) -> dict | None:
        if not self.target.has_test:
            monitor.warning(f"target {self.target.name!r} has no query/gallery split: nothing to evaluate")
            return None
        metrics = evaluate_model(self.model, self.target, self.cfg, self.runtime)
        record = {"iteration": self.iteration, **metrics}
        self.history.append(record)
        monitor.info(
            f"iteration {self.iteration}: target {self.target.name} mAP {metrics['mAP']:.1f}  rank-1 {metrics['rank1']:.1f}  "
            f"rank-5 {metrics['rank5']:.1f}  rank-10 {metrics['rank10']:.1f}  mINP {metrics['mINP']:.1f}"
        )
        monitor.scalars("eval", metrics, self.iteration)
        return record

    def _write_metrics(self, final: dict | None) -> dict:
        keys = ("mAP", "rank1", "rank5", "rank10", "mINP")
        result = {
            "variant": self.variant.name,
            "source": self.source.name,
            "target": self.target.name,
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
