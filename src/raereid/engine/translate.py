"""Training the image translator of Table IV's pre-pixel-transfer row (P^T): CycleGAN on the hook loop.

`TranslatorTrainer` draws unpaired batches of source and target training images, updates both
generators on LSGAN + cycle (lambda_cycle) + identity (lambda_identity * lambda_cycle) L1 losses, then
both PatchGAN discriminators on real images vs generated ones (from an image pool); Adam for both.
Progress, checkpoints and SIGINT/SIGTERM are the RAE trainer's hooks, so `--resume` continues exactly.
`translate_images` then applies the source -> target generator to whole images at their own size.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import torch
import torch.nn.functional as F
from PIL import Image

from raereid.config.loader import config_to_dict
from raereid.config.schema import Config, TranslateConfig
from raereid.config.validation import validate_config
from raereid.data.loaders import ImageDataset, train_loader
from raereid.data.records import ReidDataset
from raereid.data.unpaired import UnpairedSampler, to_pil, translator_transform
from raereid.engine import checkpoint as ckpt
from raereid.engine.hooks import CallbackHook, CheckpointHook, DiscriminatorWatch, ProgressHook
from raereid.engine.monitor import Monitor
from raereid.engine.runtime import Runtime, seed_everything
from raereid.engine.train_loop import Hook, TrainLoop
from raereid.errors import ConfigError, TrainingError
from raereid.models.translator import CycleGAN, init_weights

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


class ImagePool:
    """Shrivastava et al.'s history of generated images (CycleGAN's pool): once full, each new image is
    either shown to the discriminator (and kept for later) or swapped for an older one, at random.

    Its own random generator (saved with the images) keeps it independent of anything else drawing numbers."""

    def __init__(self, size: int, seed: int):
        self.size = size
        self.images: list[torch.Tensor] = []
        self.generator = torch.Generator().manual_seed(seed)

    def query(self, batch: torch.Tensor) -> torch.Tensor:
        if self.size == 0:
            return batch
        out = []
        for image in batch:
            if len(self.images) < self.size:
                self.images.append(image.clone())
                out.append(image)
            elif torch.rand((), generator=self.generator).item() < 0.5:
                j = int(torch.randint(len(self.images), (), generator=self.generator).item())
                out.append(self.images[j].clone())
                self.images[j] = image.clone()
            else:
                out.append(image)
        return torch.stack(out)

    def state(self) -> dict:
        return {"images": torch.stack(self.images).cpu() if self.images else None, "rng": self.generator.get_state()}

    def load(self, state: dict, device: torch.device) -> None:
        self.images = [] if state["images"] is None else [im.to(device) for im in state["images"]]
        self.generator.set_state(state["rng"])


class TranslatorTrainer(TrainLoop):
    """CycleGAN between the source's and the target's training images; `train()` runs to `translate.iterations`.

    Writes OUT/train.log, tensorboard/, checkpoints/last.pt and, at the end, translator.pt (the weights)."""

    def __init__(self, cfg: Config, runtime: Runtime, out: Path, source: ReidDataset, target: ReidDataset,
                 resume: bool = False, hooks: Sequence[Hook] = ()):
        self.cfg, self.t, self.runtime = cfg, cfg.translate, runtime
        validate_config(cfg)  # the range rules of every translate key (config/validation.py), also for API callers
        self.out = Path(out)
        self.ckpt_path = self.out / "checkpoints" / "last.pt"
        self.final_path = self.out / "translator.pt"
        self.source, self.target = source, target
        seed_everything(cfg.train.seed)
        t = self.t
        super().__init__(math.ceil(len(source.train) / t.batch_size))  # an epoch: one pass over the source (for the log)
        self.nets = CycleGAN(t.generator_channels, t.generator_blocks, t.downsamplings, t.discriminator_channels, t.discriminator_layers)
        init_weights(self.nets)
        self.nets.to(runtime.device)
        gens = [p for g in self.nets.generators() for p in g.parameters()]
        discs = [p for d in self.nets.discriminators() for p in d.parameters()]
        self.opt_g = torch.optim.Adam(gens, lr=t.lr, betas=(t.beta1, 0.999), foreach=True)
        self.opt_d = torch.optim.Adam(discs, lr=t.lr, betas=(t.beta1, 0.999), foreach=True)
        self.pools = {name: ImagePool(t.pool_size, seed=cfg.train.seed * 2 + i) for i, name in enumerate(("target", "source"))}
        self.transform = translator_transform(t.height, t.width, t.flip)
        self.seconds, self._t0, self.start_note = 0.0, time.perf_counter(), ""
        self.monitor = Monitor(self.out, enabled=False, total=0)  # silent until train()
        self._batches: Iterator | None = None
        if resume and self.ckpt_path.is_file():
            self._resume()
        self.register_hooks(ProgressHook(t.log_every), DiscriminatorWatch(("dis_target", "dis_source")),
                            CheckpointHook(t.checkpoint_every), CallbackHook(after_train=self._finish), *hooks)

    # ------------------------------------------------------------ checkpoints
    def state(self) -> dict:
        """Everything needed to resume exactly: weights, optimisers, image pools, RNG, iteration."""
        return {
            "kind": KIND,
            "config": config_to_dict(self.cfg),
            "source": str(self.source.root),
            "target": str(self.target.root),
            "networks": self.nets.state_dict(),
            "optimizers": {"generators": self.opt_g.state_dict(), "discriminators": self.opt_d.state_dict()},
            "pools": {name: pool.state() for name, pool in self.pools.items()},
            "rng": {"torch": torch.get_rng_state(), "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else []},
            "iteration": self.iteration,
            "epoch": self.epoch,
            "seconds": self.elapsed(),
        }

    def _resume(self) -> None:
        state = ckpt.load_checkpoint(self.ckpt_path)
        if state.get("kind") != KIND:
            raise ConfigError("--resume: the checkpoint is not a translator's", where=self.ckpt_path,
                              fix="resume with the output folder of raereid translate, or start a new run in another --output")
        check_same_translator_config(self.cfg, state["config"], self.ckpt_path)
        ckpt.load_module_state(self.nets, state["networks"], "translator", self.ckpt_path)
        self.opt_g.load_state_dict(state["optimizers"]["generators"])
        self.opt_d.load_state_dict(state["optimizers"]["discriminators"])
        for name, pool in self.pools.items():
            pool.load(state["pools"][name], self.runtime.device)
        torch.set_rng_state(state["rng"]["torch"])
        if state["rng"]["cuda"] and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state["rng"]["cuda"])
        self.iteration, self.epoch, self.seconds = int(state["iteration"]), int(state["epoch"]), float(state["seconds"])
        self.start_note = f"resumed from {self.ckpt_path} at iteration {self.iteration}"

    def elapsed(self) -> float:
        """Wall-clock seconds of training so far, summed over resumed runs."""
        return self.seconds + time.perf_counter() - self._t0

    def check_weights_finite(self) -> None:
        """Never checkpoint non-finite weights."""
        norms = [p.detach().norm() for p in self.nets.parameters()]
        if not bool(torch.isfinite(torch.stack(norms)).all()):
            raise TrainingError(
                f"the translator's weights became non-finite by iteration {self.iteration}; training stopped",
                where=self.out, fix="lower translate.lr, then resume with --resume (the last good checkpoint is kept)",
            )

    def save(self) -> Path:
        self.check_weights_finite()
        return ckpt.save_checkpoint(self.state(), self.ckpt_path)

    def _finish(self) -> None:
        self.save()
        final = {k: v for k, v in self.state().items() if k not in ("optimizers", "pools", "rng")}
        ckpt.save_checkpoint(final, self.final_path)

    # --------------------------------------------------------------- training
    def train(self) -> float:
        """Run to `translate.iterations`; returns the training time in seconds (summed over resumed runs)."""
        self._t0 = time.perf_counter()
        self.monitor = Monitor(self.out, True, self.t.iterations, self.iteration)
        try:
            self.monitor.info(
                f"translator (CycleGAN): {self.source.name} ({len(self.source.train)} images) <-> {self.target.name} "
                f"({len(self.target.train)} images) at {self.t.height}x{self.t.width}, {self.t.iterations} iterations of "
                f"{self.t.batch_size} + {self.t.batch_size} images, device {self.runtime.device}"
            )
            for stale in ckpt.remove_stale_temporaries(self.ckpt_path) + ckpt.remove_stale_temporaries(self.final_path):
                self.monitor.info(f"removed {stale}, a partial checkpoint left by a killed run")
            if self.start_note:
                self.monitor.info(self.start_note)
            self.train_loop(self.t.iterations)
            self.monitor.info(f"translator trained: {self.iteration} iterations in {self.elapsed():.0f} s; weights {self.final_path}")
            return self.elapsed()
        finally:
            self.monitor.close()

    def _loaders(self) -> Iterator:
        t, seed = self.t, self.cfg.train.seed
        loaders = [
            train_loader(ImageDataset(ds.train, self.transform), UnpairedSampler(len(ds.train), t.batch_size, seed, stream, self.iteration, self.max_iter),
                         t.workers, self.runtime.device)
            for stream, ds in enumerate((self.source, self.target))
        ]
        return zip(*loaders)

    def run_step(self) -> dict[str, float]:
        if self._batches is None:
            self._batches = self._loaders()
        sb, tb = next(self._batches)
        dev, t = self.runtime.device, self.t
        real_s, real_t = sb[0].to(dev, non_blocking=True), tb[0].to(dev, non_blocking=True)
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
            identity = t.lambda_identity * t.lambda_cycle * (F.l1_loss(nets.to_target(real_t), real_t) + F.l1_loss(nets.to_source(real_s), real_s))
        loss = gan + cycle + identity
        self._check_finite(loss, {"gan": gan, "cycle": cycle, "identity": identity})
        self.opt_g.zero_grad(set_to_none=True)
        loss.backward()
        self.opt_g.step()
        for d in nets.discriminators():
            d.requires_grad_(True)
        return {"gan": gan, "cycle": cycle, "identity": identity, "fake_t": fake_t.detach(), "fake_s": fake_s.detach()}

    def _discriminator_step(self, real_s: torch.Tensor, real_t: torch.Tensor, fake_s: torch.Tensor, fake_t: torch.Tensor) -> dict[str, torch.Tensor]:
        """Each PatchGAN: real images of its domain vs generated ones (from the pool); halved as in CycleGAN."""
        nets = self.nets
        dis_t = 0.5 * (_lsgan(nets.dis_target(real_t), True) + _lsgan(nets.dis_target(self.pools["target"].query(fake_t)), False))
        dis_s = 0.5 * (_lsgan(nets.dis_source(real_s), True) + _lsgan(nets.dis_source(self.pools["source"].query(fake_s)), False))
        self._check_finite(dis_t + dis_s, {"dis_target": dis_t, "dis_source": dis_s})
        self.opt_d.zero_grad(set_to_none=True)
        (dis_t + dis_s).backward()
        self.opt_d.step()
        return {"dis_target": dis_t, "dis_source": dis_s}

    def _check_finite(self, loss: torch.Tensor, terms: dict[str, torch.Tensor]) -> None:
        if torch.isfinite(loss).item():
            return
        bad = ", ".join(f"{k}={float(v.detach()):.4g}" for k, v in terms.items() if not torch.isfinite(v).item())
        kept = f"the last good checkpoint is {self.ckpt_path}" if self.ckpt_path.is_file() else "no checkpoint was written yet"
        raise TrainingError(f"the translator's loss became non-finite at iteration {self.iteration + 1} ({bad}); {kept}",
                            where=self.out, fix="lower translate.lr, then resume with --resume or start again")


def _lsgan(scores: torch.Tensor, real: bool) -> torch.Tensor:
    """Least-squares GAN loss (Mao et al., CycleGAN's choice): scores pulled to 1 (real) or 0 (generated)."""
    return F.mse_loss(scores, torch.full_like(scores, 1.0 if real else 0.0))


def check_same_translator_config(cfg: Config, saved: dict, path: Path) -> None:
    """Refuse to resume with settings that change what is trained (translate.*, the domains, the seed)."""
    now, defaults = config_to_dict(cfg), config_to_dict(Config())
    before = {section: {**values, **saved.get(section, {})} for section, values in defaults.items()}
    keys = [f"translate.{k}" for k in now["translate"] if k not in RESUMABLE_KEYS] + list(CONFIG_KEYS)
    changed = [k for k in keys if _get(before, k) != _get(now, k)]
    if changed:
        diffs = ", ".join(f"{k}: {_get(before, k)!r} -> {_get(now, k)!r}" for k in changed[:4])
        raise ConfigError(f"--resume with a different configuration ({diffs})", where=path,
                          fix="resume with the same config and overrides, or start a new run in another --output folder")


def _get(cfg_dict: dict, dotted: str) -> object:
    section, key = dotted.split(".")
    return cfg_dict.get(section, {}).get(key)


@torch.no_grad()
def translate_images(generator: torch.nn.Module, images: list[Image.Image], height: int, width: int,
                     device: torch.device | str = "cpu") -> list[Image.Image]:
    """Translate images at the generator's size and resize each back to its own size (bicubic)."""
    tf = translator_transform(height, width)
    was_training = generator.training
    generator.eval()
    try:
        out = generator(torch.stack([tf(im) for im in images]).to(device))
    finally:
        generator.train(was_training)
    return [im.resize(orig.size, Image.BICUBIC) if im.size != orig.size else im for im, orig in zip(to_pil(out), images)]
