"""One training step's losses: Eq. 9 (feature transfer) + Eq. 17 (pixel transfer) + Eq. 21 (fusion)
for Enc / Dec / P / heads, and the two discriminators' losses, for any variant.

Source and target batches go through the encoder together, so batch-norm statistics cover both
domains. `gather` collects features from every process before the batch-hard triplet loss, so the
loss sees the global batch whatever the number of processes (identity in a single process).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from raereid import losses
from raereid.config.schema import LossConfig
from raereid.models.rae import RAE, Discriminators

Gather = Callable[[torch.Tensor], torch.Tensor]


def _no_gather(x: torch.Tensor) -> torch.Tensor:
    return x


@dataclass
class StepOutput:
    """The generator loss to minimise, logged loss terms, and detached tensors for the discriminators."""

    loss: torch.Tensor
    terms: dict[str, torch.Tensor] = field(default_factory=dict)
    source_map: torch.Tensor | None = None
    target_map: torch.Tensor | None = None
    real_source: torch.Tensor | None = None
    fake_source: torch.Tensor | None = None
    fake_target: torch.Tensor | None = None


def _identity_loss(
    feat: torch.Tensor, logits: torch.Tensor, labels: torch.Tensor, cfg: LossConfig, gather: Gather
) -> tuple[torch.Tensor, torch.Tensor]:
    ce = losses.cross_entropy(logits, labels, cfg.label_smoothing)
    tri = losses.batch_hard_triplet(gather(feat), gather(labels), cfg.margin)
    return ce, tri


def generator_step(
    model: RAE,
    discs: Discriminators,
    xs: torch.Tensor,
    ys: torch.Tensor,
    xt: torch.Tensor | None,
    yt: torch.Tensor | None,
    cfg: LossConfig,
    gather: Gather = _no_gather,
    seeds_s: torch.Tensor | None = None,
    seeds_t: torch.Tensor | None = None,
) -> StepOutput:
    """Forward pass and generator-side loss. `xt` is None when the step is source-only
    (direct transfer, or an epoch whose clustering found fewer than two clusters). `seeds_*` are the
    images' own seeds, from which dropout masks are drawn (None: the global RNG)."""
    variant = model.variant
    ns = xs.shape[0]
    images = xs if xt is None else torch.cat([xs, xt])
    fmap = model.encoder(images)
    feat = model.pool(fmap)
    terms: dict[str, torch.Tensor] = {}
    out = StepOutput(loss=feat.new_zeros(()))

    embedded = model.neck(feat)
    ce, tri = _identity_loss(feat[:ns], model.source_head(embedded[:ns], seeds_s), ys, cfg, gather)
    terms["ce_source"], terms["tri_source"] = ce, tri
    total = ce + cfg.lambda_tri * tri
    if xt is not None:
        assert yt is not None
        ce, tri = _identity_loss(feat[ns:], model.target_head(embedded[ns:], seeds_t), yt, cfg, gather)
        terms["ce_target"], terms["tri_target"] = ce, tri
        total = total + ce + cfg.lambda_tri * tri

        if discs.feature is not None:
            terms["gan_feat"] = losses.generator_loss(discs.feature(fmap[ns:]))
            total = total + cfg.lambda_gan_feat * terms["gan_feat"]
            out.source_map, out.target_map = fmap[:ns].detach(), fmap[ns:].detach()

    if model.decoder is not None:
        recon = model.reconstruct(fmap)
        real = model.reconstruction_target(images)
        if variant.pixel_transfer:
            terms["rec_source"] = losses.reconstruction_loss(recon[:ns], real[:ns])
            total = total + cfg.lambda_rec * terms["rec_source"]
            assert discs.pixel is not None
            terms["gan_pix_source"] = losses.generator_loss(discs.pixel(recon[:ns]))
            total = total + cfg.lambda_gan_pix * terms["gan_pix_source"]
            out.real_source, out.fake_source = real[:ns].detach(), recon[:ns].detach()
            if xt is not None:
                terms["rec_target"] = losses.reconstruction_loss(recon[ns:], real[ns:])
                terms["gan_pix_target"] = losses.generator_loss(discs.pixel(recon[ns:]))
                total = total + cfg.lambda_rec * terms["rec_target"] + cfg.lambda_gan_pix * terms["gan_pix_target"]
                out.fake_target = recon[ns:].detach()
        if model.fusion is not None:
            fused = model.fused(fmap, model.recurrent(recon))
            fused_embedded = model.fused_neck(fused)
            ce, tri = _identity_loss(fused[:ns], model.fused_source_head(fused_embedded[:ns], seeds_s), ys, cfg, gather)
            terms["ce_fused_source"], terms["tri_fused_source"] = ce, tri
            total = total + ce + cfg.lambda_tri * tri
            if xt is not None:
                assert yt is not None
                ce, tri = _identity_loss(fused[ns:], model.fused_target_head(fused_embedded[ns:], seeds_t), yt, cfg, gather)
                terms["ce_fused_target"], terms["tri_fused_target"] = ce, tri
                total = total + ce + cfg.lambda_tri * tri

    out.loss = total
    out.terms = terms
    return out


def discriminator_step(discs: Discriminators, step: StepOutput, cfg: LossConfig) -> tuple[torch.Tensor | None, dict[str, torch.Tensor]]:
    """The discriminators' loss on the step's detached tensors (None when there is nothing to judge).

    Dis_feat: source maps real, target maps fake (Eq. 8). Dis_pix: real source images real, their
    reconstructions fake (Eq. 13), and target reconstructions fake too when `pix_disc_sees_target`.
    """
    terms: dict[str, torch.Tensor] = {}
    total: torch.Tensor | None = None
    if discs.feature is not None and step.source_map is not None:
        terms["dis_feat"] = losses.discriminator_loss(discs.feature(step.source_map), discs.feature(step.target_map))
        total = terms["dis_feat"]
    if discs.pixel is not None and step.real_source is not None:
        fakes = [step.fake_source]
        if cfg.pix_disc_sees_target and step.fake_target is not None:
            fakes.append(step.fake_target)
        terms["dis_pix"] = losses.discriminator_loss(discs.pixel(step.real_source), discs.pixel(torch.cat(fakes)))
        total = terms["dis_pix"] if total is None else total + terms["dis_pix"]
    return total, terms
