"""Starting an adaptation run from saved weights: what `--resume` may change (the same run, exactly where it
stopped; the check itself is `engine.checkpoint.check_resumable`) and `train.init` (another run's weights, e.g.
direct transfer, as the starting point)."""

from __future__ import annotations

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
