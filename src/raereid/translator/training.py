"""Training the image translator of Table IV's pre-pixel-transfer row (P^T): CycleGAN on the checkpointed loop.

`TranslatorTrainer` draws unpaired batches of source and target training images, updates both
generators on LSGAN + cycle (lambda_cycle) + identity (lambda_identity * lambda_cycle) L1 losses, then
both PatchGAN discriminators on real images vs generated ones (from an image pool); Adam for both.
Progress, checkpoints and SIGINT/SIGTERM are the RAE trainer's hooks, so `--resume` continues exactly.
Applying the trained generator to images is `raereid.translator.apply`.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from raereid.config.loader import config_to_dict
from raereid.config.schema import Config, TranslateConfig
from raereid.config.validation import validate_config
from raereid.data.loaders import ImageDataset, train_loader
from raereid.data.records import ReidDataset
from raereid.data.unpaired import UnpairedSampler, translator_transform
from raereid.engine import checkpoint as ckpt
from raereid.engine.hooks import CallbackHook, CheckpointHook, DiscriminatorWatch, ProgressHook
from raereid.engine.run_folder import TRANSLATOR
from raereid.engine.runtime import Runtime, seed_everything
from raereid.engine.train_loop import CheckpointedLoop, Hook
from raereid.errors import ConfigError
from raereid.translator.network import CycleGAN, ImagePool, init_weights

KIND = "translator"
# translate.* keys a resumed run may change: they do not change what is trained up to the stopping point.
RESUMABLE_KEYS = {"iterations", "workers", "checkpoint_every", "log_every", "sample_images", "quality"}
CONFIG_KEYS = ("data.source", "data.target", "train.seed")  # outside translate.*, the keys that change the run


def lr_at(iteration: int, t: TranslateConfig) -> float:
    """CycleGAN's schedule: constant, then linearly down to 0 between `lr_decay_start` and `iterations`."""
    if t.lr_decay_start <= 0 or iteration < t.lr_decay_start:
        return t.lr
    span = max(1, t.iterations - t.lr_decay_start)
    return t.lr * max(0.0, 1.0 - (iteration - t.lr_decay_start) / span)


class TranslatorTrainer(CheckpointedLoop):
    """CycleGAN between the source's and the target's training images; `train()` runs to `translate.iterations`.

    Writes OUT/train.log, tensorboard/, checkpoints/last.pt and, at the end, translator.pt (the weights)."""

    resume_only = ("optimizers", "pools", "rng")
    subject = "the translator's"
    diverged_fix = "lower translate.lr"

    def __init__(self, cfg: Config, runtime: Runtime, out: Path, source: ReidDataset, target: ReidDataset,
                 resume: bool = False, hooks: Sequence[Hook] = ()):
        self.cfg, self.t, self.runtime = cfg, cfg.translate, runtime
        validate_config(cfg)  # the range rules of every translate key (config/validation.py), also for API callers
        self.source, self.target = source, target
        seed_everything(cfg.train.seed)
        t = self.t
        # an epoch: one pass over the source (for the log)
        super().__init__(math.ceil(len(source.train) / t.batch_size), out, TRANSLATOR)
        self.nets = CycleGAN(t.generator_channels, t.generator_blocks, t.downsamplings, t.discriminator_channels,
                             t.discriminator_layers)
        init_weights(self.nets)
        self.nets.to(runtime.device)
        gens = [p for g in self.nets.generators() for p in g.parameters()]
        discs = [p for d in self.nets.discriminators() for p in d.parameters()]
        self.opt_g = torch.optim.Adam(gens, lr=t.lr, betas=(t.beta1, 0.999), foreach=True)
        self.opt_d = torch.optim.Adam(discs, lr=t.lr, betas=(t.beta1, 0.999), foreach=True)
        self.pools = {name: ImagePool(t.pool_size, seed=cfg.train.seed * 2 + i)
                      for i, name in enumerate(("target", "source"))}
        self.transform = translator_transform(t.height, t.width, t.flip)
        self._batches: Iterator | None = None
        if resume and self.ckpt_path.is_file():
            self._resume()
        self.register_hooks(ProgressHook(t.log_every), DiscriminatorWatch(("dis_target", "dis_source")),
                            CheckpointHook(t.checkpoint_every), CallbackHook(after_train=self.finish), *hooks)

    # ------------------------------------------------------------ checkpoints
    def state(self) -> dict[str, Any]:
        """Everything needed to resume exactly: weights, optimisers, image pools, RNG, iteration."""
        return {
            "kind": KIND,
            "config": config_to_dict(self.cfg),
            "source": str(self.source.root),
            "target": str(self.target.root),
            "networks": self.nets.state_dict(),
            "optimizers": {"generators": self.opt_g.state_dict(), "discriminators": self.opt_d.state_dict()},
            "pools": {name: pool.state() for name, pool in self.pools.items()},
            **self.progress_state(),
        }

    def _resume(self) -> None:
        state = ckpt.load_checkpoint(self.ckpt_path)
        if state.get("kind") != KIND:
            raise ConfigError("--resume: the checkpoint is not a translator's", where=self.ckpt_path,
                              fix="resume with the output folder of raereid translate, or start a new run in "
                                  "another --out")
        ckpt.check_resumable(self.cfg, state["config"], self.ckpt_path, _translator_may_change)
        ckpt.load_module_state(self.nets, state["networks"], "translator", self.ckpt_path)
        self.opt_g.load_state_dict(state["optimizers"]["generators"])
        self.opt_d.load_state_dict(state["optimizers"]["discriminators"])
        for name, pool in self.pools.items():
            pool.load(state["pools"][name], self.runtime.device)
        self.restore_progress(state)

    def finite_modules(self) -> list[nn.Module]:
        return [self.nets]

    # --------------------------------------------------------------- training
    def train(self) -> dict[str, Any]:
        """Run to `translate.iterations`; returns the iterations done and the training time in seconds (summed over
        resumed runs)."""
        return self.run(self.t.iterations)

    def describe(self) -> str:
        t, src, tgt = self.t, self.source, self.target
        return (f"translator (CycleGAN): {src.name} ({len(src.train)} images) <-> {tgt.name} ({len(tgt.train)} images) "
                f"at {t.height}x{t.width}, {t.iterations} iterations of {t.batch_size} + {t.batch_size} images, "
                f"device {self.runtime.device}")

    def result(self) -> dict[str, Any]:
        self.monitor.info(f"translator trained: {self.iteration} iterations in {self.elapsed():.0f} s; "
                          f"weights {self.final_path}")
        return {"iterations": self.iteration, "seconds": self.elapsed()}

    def _loaders(self) -> Iterator:
        t, seed = self.t, self.cfg.train.seed
        loaders = [
            train_loader(ImageDataset(ds.train, self.transform),
                         UnpairedSampler(len(ds.train), t.batch_size, seed, stream, self.iteration, self.max_iter),
                         t.workers, self.runtime.device)
            for stream, ds in enumerate((self.source, self.target))
        ]
        return zip(*loaders)

    def run_step(self) -> dict[str, float]:
        if self._batches is None:
            self._batches = self._loaders()
        sb, tb = next(self._batches)
        dev, t = self.runtime.device, self.t
        real_s, real_t = sb.image.to(dev, non_blocking=True), tb.image.to(dev, non_blocking=True)
        lr = lr_at(self.iteration, t)
        for opt in (self.opt_g, self.opt_d):
            for group in opt.param_groups:
                group["lr"] = lr
        terms = self._generator_step(real_s, real_t)
        fake_t, fake_s = terms.pop("fake_t"), terms.pop("fake_s")
        terms.update(self._discriminator_step(real_s, real_t, fake_s, fake_t))
        out = {k: float(v.detach()) for k, v in terms.items()}
        out["lr"] = lr
        return out

    def _generator_step(self, real_s: torch.Tensor, real_t: torch.Tensor) -> dict[str, torch.Tensor]:
        """LSGAN (generated images judged real) + cycle + identity losses of both generators; one Adam step."""
        nets, t = self.nets, self.t
        for d in nets.discriminators():
            d.requires_grad_(False)
        fake_t, fake_s = nets.to_target(real_s), nets.to_source(real_t)
        gan = _lsgan(nets.dis_target(fake_t), True) + _lsgan(nets.dis_source(fake_s), True)
        cycle = t.lambda_cycle * (F.l1_loss(nets.to_source(fake_t), real_s) + F.l1_loss(nets.to_target(fake_s), real_t))
        identity = torch.zeros((), device=real_s.device)
        if t.lambda_identity > 0:
            identity = t.lambda_identity * t.lambda_cycle * (F.l1_loss(nets.to_target(real_t), real_t)
                                                             + F.l1_loss(nets.to_source(real_s), real_s))
        loss = gan + cycle + identity
        self.check_finite(loss, {"gan": gan, "cycle": cycle, "identity": identity})
        self.opt_g.zero_grad(set_to_none=True)
        loss.backward()
        self.opt_g.step()
        for d in nets.discriminators():
            d.requires_grad_(True)
        return {"gan": gan, "cycle": cycle, "identity": identity, "fake_t": fake_t.detach(), "fake_s": fake_s.detach()}

    def _discriminator_step(self, real_s: torch.Tensor, real_t: torch.Tensor, fake_s: torch.Tensor,
                            fake_t: torch.Tensor) -> dict[str, torch.Tensor]:
        """Each PatchGAN: real images of its domain vs generated ones (from the pool); halved as in CycleGAN."""
        nets = self.nets
        dis_t = 0.5 * (_lsgan(nets.dis_target(real_t), True)
                       + _lsgan(nets.dis_target(self.pools["target"].query(fake_t)), False))
        dis_s = 0.5 * (_lsgan(nets.dis_source(real_s), True)
                       + _lsgan(nets.dis_source(self.pools["source"].query(fake_s)), False))
        self.check_finite(dis_t + dis_s, {"dis_target": dis_t, "dis_source": dis_s})
        self.opt_d.zero_grad(set_to_none=True)
        (dis_t + dis_s).backward()
        self.opt_d.step()
        return {"dis_target": dis_t, "dis_source": dis_s}


def _lsgan(scores: torch.Tensor, real: bool) -> torch.Tensor:
    """Least-squares GAN loss (Mao et al., CycleGAN's choice): scores pulled to 1 (real) or 0 (generated)."""
    return F.mse_loss(scores, torch.full_like(scores, 1.0 if real else 0.0))


def _translator_may_change(key: str) -> bool:
    """Whether a resumed translator may change `key`: it compares translate.* (but RESUMABLE_KEYS), the domains and
    the seed."""
    section, name = key.split(".")
    return name in RESUMABLE_KEYS if section == "translate" else key not in CONFIG_KEYS
