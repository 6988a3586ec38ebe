"""What a training run is made of, built from a Config: the two domains' datasets, the networks, the
optimisers (with their AMP scalers) and the per-epoch PK loaders."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader

from raereid.adapt.checks import check_datasets
from raereid.config.schema import Config, OptimConfig
from raereid.config.variants import Variant
from raereid.data.loaders import ImageDataset, train_loader
from raereid.data.records import ReidDataset, relabel
from raereid.data.registry import load_dataset
from raereid.data.samplers import PKBatchSampler
from raereid.engine.runtime import Runtime
from raereid.errors import ConfigError, DatasetError
from raereid.learners import Learner
from raereid.models.global_bn import convert_to_global_bn, convert_to_sync_bn
from raereid.models.rae import RAE, Discriminators


@dataclass
class Domains:
    """The labelled source and the unlabelled target, with the source ids relabelled 0..S-1."""

    source: ReidDataset
    target: ReidDataset
    source_labels: np.ndarray

    @property
    def num_source_ids(self) -> int:
        return int(self.source_labels.max()) + 1


def load_domains(cfg: Config, variant: Variant, runtime: Runtime) -> Domains:
    """Read both datasets, check they can be trained on, and (main process) decode every image once if asked."""
    source = load_dataset(cfg.data.source, cfg.data.root)
    if not source.train_is_labeled:
        raise DatasetError(
            f"the source dataset {source.name!r} has unlabeled training images",
            where=source.root,
            fix="the source must carry identity labels (Market/Duke/MSMT17 layouts, or train.csv with pids)",
        )
    labels, _ = relabel([r.pid for r in source.train])
    target = load_dataset(cfg.data.target, cfg.data.root)
    check_datasets(cfg, source, target, variant.use_target, runtime.world_size)
    if cfg.data.verify_images and runtime.is_main:
        from raereid.data.images import verify_images

        for ds in {id(d): d for d in (source, target)}.values():
            verify_images([r.path for r in ds.train + ds.query + ds.gallery], workers=max(cfg.data.workers, 1))
    runtime.barrier()
    return Domains(source, target, labels)


def iterations_per_epoch(cfg: Config, variant: Variant, domains: Domains) -> int:
    """Iterations between two clusterings: `train.iters_per_epoch`, or one pass over the target at its batch size
    (over the source for direct)."""
    if variant.use_target:
        n, (p, k) = len(domains.target.train), cfg.data.target_batch
    else:
        n, p, k = len(domains.source.train), cfg.data.p, cfg.data.k
    return cfg.train.iters_per_epoch or max(1, math.ceil(n / (p * k)))


def build_networks(cfg: Config, variant: Variant, num_source_ids: int, runtime: Runtime) -> tuple[RAE, Discriminators]:
    """The RAE of `variant` and its discriminators on the run's device; batch norm over the global batch when
    distributed."""
    model = RAE(cfg.model, variant, num_source_ids, (cfg.data.height, cfg.data.width))
    discs = Discriminators(model, tuple(cfg.model.discriminator_channels))
    if runtime.distributed and cfg.train.sync_bn:
        # torch's SyncBatchNorm on GPUs; raereid's GlobalBatchNorm on CPUs (gloo), where SyncBatchNorm does not run.
        model = convert_to_sync_bn(model) if runtime.device.type == "cuda" else convert_to_global_bn(model)
    return model.to(runtime.device), discs.to(runtime.device)


def make_optimizer(kind: str, groups: list[tuple[list[nn.Parameter], float]], o: OptimConfig) -> torch.optim.Optimizer:
    """SGD (the paper's, momentum and weight decay from the config) or Adam over (parameters, base rate) groups.

    `foreach=True` everywhere: torch picks it only on CUDA by default, and the per-tensor loop it
    falls back to on CPUs was measured 20-50x slower per step here."""
    params = [{"params": [p for p in ps if p.requires_grad], "lr": lr, "base_lr": lr} for ps, lr in groups if ps]
    if kind == "sgd":
        return torch.optim.SGD(params, lr=params[0]["lr"], momentum=o.momentum, weight_decay=o.weight_decay,
                               foreach=True)
    if kind == "adam":
        return torch.optim.Adam(params, lr=params[0]["lr"], betas=(o.adam_beta1, 0.999), weight_decay=o.weight_decay,
                                foreach=True)
    raise ConfigError(f"unknown optimiser {kind!r}",
                      fix="optim.optimizer and optim.disc_optimizer are sgd (the paper's) or adam")


class Optimizers:
    """`main` (Enc and its pooling at lr_encoder; Dec, P, source heads at lr_other), `disc` (discriminators, or None)
    and `target` (the learner's trainable modules at lr_other, rebuilt with them; None when it has none), with AMP
    scalers."""

    def __init__(self, cfg: Config, model: RAE, discs: Discriminators, learner: Learner, amp: bool):
        self.cfg = cfg.optim
        enc = [*model.encoder.parameters(), *model.pooling.parameters()]  # GeM's p at the backbone's rate, as fast-reid
        skip = {id(p) for p in enc}
        other = [p for p in model.parameters() if id(p) not in skip]
        self.main = make_optimizer(self.cfg.optimizer, [(enc, self.cfg.lr_encoder), (other, self.cfg.lr_other)],
                                   self.cfg)
        self.disc = make_optimizer(self.cfg.disc_optimizer, [(list(discs.parameters()), self.cfg.lr_discriminator)],
                                   self.cfg) if discs.any() else None
        self.rebuild_target(learner)
        self.scaler = torch.amp.GradScaler("cuda", enabled=amp)
        self.scaler_disc = torch.amp.GradScaler("cuda", enabled=amp)

    def rebuild_target(self, learner: Learner) -> None:
        """A fresh optimiser for the learner's trainable modules (new modules after a clustering that replaced them)."""
        params = list(learner.modules().parameters())
        self.target = make_optimizer(self.cfg.optimizer, [(params, self.cfg.lr_other)], self.cfg) if params else None

    def generator(self) -> list[torch.optim.Optimizer]:
        """The optimisers of the generator step: `main`, then `target` when there is one."""
        return [o for o in (self.main, self.target) if o is not None]

    def all(self) -> list[torch.optim.Optimizer]:
        return [o for o in (self.main, self.disc, self.target) if o is not None]

    def step(self, loss: torch.Tensor, opts: list[torch.optim.Optimizer], scaler: torch.amp.GradScaler) -> None:
        """One update of `opts` on `loss`: zero their gradients, back-propagate the (AMP-scaled) loss, clip the
        gradients' norm to `optim.grad_clip` when it is > 0, step, update the scaler."""
        for opt in opts:
            opt.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        if self.cfg.grad_clip > 0:
            for opt in opts:
                scaler.unscale_(opt)
            torch.nn.utils.clip_grad_norm_([p for opt in opts for g in opt.param_groups for p in g["params"]],
                                           self.cfg.grad_clip)
        for opt in opts:
            scaler.step(opt)
        scaler.update()

    def state_dict(self) -> dict:
        return {"main": self.main.state_dict(), "disc": self.disc.state_dict() if self.disc else None,
                "target": self.target.state_dict() if self.target else None}

    def load_state_dict(self, state: dict) -> None:
        self.main.load_state_dict(state["main"])
        if self.disc is not None:
            self.disc.load_state_dict(state["disc"])
        if self.target is not None:
            self.target.load_state_dict(state["target"])

    def scaler_state(self) -> dict:
        return {"main": self.scaler.state_dict(), "disc": self.scaler_disc.state_dict()}

    def load_scaler_state(self, state: dict) -> None:
        self.scaler.load_state_dict(state["main"])
        self.scaler_disc.load_state_dict(state["disc"])


def epoch_loaders(
    cfg: Config, runtime: Runtime, domains: Domains, transform: Callable, target_labels: np.ndarray | None, epoch: int,
    skip: int, n: int,
) -> tuple[DataLoader, DataLoader | None]:
    """The epoch's PK loaders of the source (true ids, data.p x data.k) and, when given labels, the target (its own
    batch, `DataConfig.target_batch`), from batch `skip` on."""

    def pk(labels: np.ndarray, stream: int, p: int, k: int) -> PKBatchSampler:
        sampler = PKBatchSampler(labels, p, k, n, seed=[cfg.train.seed, stream], rank=runtime.rank,
                                 world_size=runtime.world_size, start=skip)
        sampler.set_epoch(epoch)
        return sampler

    cache = (cfg.data.height, cfg.data.width) if cfg.data.cache_images else None
    source = train_loader(ImageDataset(domains.source.train, transform, domains.source_labels, cache),
                          pk(domains.source_labels, 0, cfg.data.p, cfg.data.k), cfg.data.workers, runtime.device)
    if target_labels is None:
        return source, None
    target = train_loader(ImageDataset(domains.target.train, transform, target_labels, cache),
                          pk(target_labels, 1, *cfg.data.target_batch), cfg.data.workers, runtime.device)
    return source, target
