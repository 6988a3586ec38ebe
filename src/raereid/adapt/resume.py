"""Starting an adaptation run from saved weights: what `--resume` may change (the same run, exactly where it
stopped; the check itself is `engine.checkpoint.check_resumable`) and `train.init` (another run's weights, e.g.
direct transfer, as the starting point)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from raereid.config.schema import Config, flat_values
from raereid.config.variants import Variant
from raereid.engine import checkpoint as ckpt
from raereid.errors import ConfigError
from raereid.models.dsbn import match_bn_layout
from raereid.models.rae import RAE, Discriminators
from raereid.models.recurrent_bn import copy_recurrent_stats, has_recurrent_stats

# Keys that may differ between a run and its resumption (they do not change what is trained): the `may_change` of
# `check_resumable` for the RAE trainer and the recipe.
RESUMABLE_CHANGES = {
    "data.root", "data.workers", "data.test_batch_size", "data.verify_images", "data.cache_images", "train.device",
    "train.eval_every", "train.checkpoint_every", "train.log_every", "train.output", "train.gap_picture",
    "optim.iterations", "source.iterations", "train.eval_split", "train.psnr_images",
}

SOURCE_STAGE_MODEL = "the recipe: this run's source stage"  # the origin of train.init in the recipe's adaptation stage

# The keys that configure one part of the pipeline, with the switch of a stage's Variant that turns the part on. A
# stage whose variant lacks the part never reads them (models/rae.py builds the part, adapt/objective.py its losses,
# adapt/trainer.py the clustering), so its --resume does not compare them: the source stage (direct) reads no
# cluster.*, no target loss and no fusion key; an adaptation stage reads no source.* (the source stage's own keys,
# copied into optim.* / loss.* of its config) and no stage reads translate.*. tests/test_recipe.py checks, by
# training, that changing them all leaves a stage's weights as they are.
PART_KEYS: tuple[tuple[Callable[[Variant], bool], tuple[str, ...]], ...] = (
    (lambda v: v.use_target, ("cluster.", "learner.temperature", "learner.memory_momentum", "learner.hybrid_momentum",
                              "loss.target_pix_to_encoder", "loss.pix_disc_sees_target", "model.dsbn",
                              "train.adabn")),
    (lambda v: not v.use_target, ("source.",)),
    (lambda v: v.feature_transfer, ("loss.lambda_gan_feat",)),
    (lambda v: v.pixel_transfer, ("loss.lambda_gan_pix", "loss.pix_disc_sees_target")),
    (lambda v: v.feature_transfer or v.pixel_transfer, ("model.discriminator_channels", "optim.lr_discriminator",
                                                        "optim.disc_optimizer")),
    (lambda v: v.reconstructs, ("loss.lambda_rec", "loss.reconstruction_norm")),
    (lambda v: v.has_decoder, ("model.decoder_channels", "loss.source_pix_to_encoder", "loss.target_pix_to_encoder")),
    (lambda v: v.fusion, ("model.fusion_dim", "model.fusion_out", "model.fusion_power_norm", "model.fusion_l2_norm",
                          "model.recurrent_bn", "loss.fusion_to_encoder")),
    (lambda v: False, ("translate.",)),
)


def unused_keys(variant: Variant) -> set[str]:
    """The config keys a stage training `variant` never reads (PART_KEYS): a key listed under several parts (the
    target's pixel terms: target and decoder) is read only when all of them are on."""
    parts: dict[str, list[bool]] = {}
    for key in flat_values(Config()):
        for on, prefixes in PART_KEYS:
            if any(key == p or (p.endswith(".") and key.startswith(p)) for p in prefixes):
                parts.setdefault(key, []).append(on(variant))
    return {key for key, ons in parts.items() if not all(ons)}


def stage_may_change(variant: Variant) -> Callable[[str], bool]:
    """What --resume of a stage training `variant` may change: RESUMABLE_CHANGES and the keys the stage never reads."""
    allowed = RESUMABLE_CHANGES | unused_keys(variant)
    return allowed.__contains__


def keep_source_fix(source_model: str | Path) -> str:
    """The fix of a refused --resume whose source stage is finished: how to adapt from it without training it again."""
    return (f"resume with the same config and overrides; or keep the finished source stage and adapt from it in a new "
            f"folder: --set train.init={source_model} --out NEW_FOLDER")


def init_from(model: RAE, discs: Discriminators, path: str, backbone: str) -> tuple[str, bool]:
    """Load every module both networks have, shapes matching (a learner's modules, e.g. target classifiers, are
    rebuilt at the first clustering); plain batch norms fill both copies of domain-specific ones.
    Returns a log line and whether the fusion P was loaded (so it is trained already)."""
    state = ckpt.load_checkpoint(path)
    own = model.state_dict()
    weights = match_bn_layout(state["model"], set(own))
    encoder_keys = [k for k in own if k.startswith("encoder.") and ".recurrent_" not in k]
    if any(k not in weights or weights[k].shape != own[k].shape for k in encoder_keys):
        raise ConfigError(
            "train.init checkpoint has another encoder architecture",
            where=path,
            fix=f"use a checkpoint trained with model.backbone={backbone} at the same input size",
        )
    usable = {k: v for k, v in weights.items() if k in own and v.shape == own[k].shape}
    model.load_state_dict(usable, strict=False)
    if has_recurrent_stats(model.encoder) and not any(".recurrent_running_mean" in k for k in usable):
        copy_recurrent_stats(model.encoder)  # reconstructions' statistics start as the loaded real images' ones
    disc_own = discs.state_dict()
    discs.load_state_dict(
        {k: v for k, v in state.get("discriminators", {}).items() if k in disc_own and v.shape == disc_own[k].shape},
        strict=False,
    )
    return f"initialised {len(usable)} tensors from {path}", any(k.startswith("fusion.") for k in usable)


def start_line(cfg: Config, note: str, derived: bool) -> str:
    """The log line that says where an adaptation run starts: from its own source stage (`derived`: the recipe set
    train.init), from train.init (so no source stage ran), or from the backbone's weights (source.iterations=0)."""
    if derived:
        return f"adaptation starts from this run's source stage: {note}"
    if cfg.train.init:
        return (f"source stage skipped: train.init is set ({cfg.train.init}); {note} (with train.init empty, "
                f"raereid train runs the source stage first)")
    why = "source.iterations=0" if cfg.source.iterations == 0 else "this Trainer trains one stage"
    return f"no source stage ({why}): adapting from the backbone's initial weights"
