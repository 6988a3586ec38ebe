"""One training step's losses: Eq. 9 (feature transfer) + Eq. 17 (pixel transfer) + Eq. 21 (fusion)
for Enc / Dec / P / heads, and the two discriminators' losses, for any variant and any learner.

Source and target batches go through the encoder together, so batch-norm statistics cover both
domains (with domain-specific batch norm, each part gets its own). The identity terms of each
trained descriptor (the encoder's, and the fused one) come from the pseudo-label learner
(`raereid.learners`); `Labels.gather` collects rows from every process for the batch-hard triplet
loss and the memories, so they see the global batch whatever the number of processes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import nn

from raereid import losses
from raereid.config.schema import LossConfig
from raereid.learners.base import Branch, Labels, Learner
from raereid.models.dsbn import domain_split
from raereid.models.rae import RAE, Discriminators


@dataclass
class StepOutput:
    """The generator loss to minimise, logged loss terms, and detached tensors for the discriminators and the
    learner."""

    loss: torch.Tensor
    terms: dict[str, torch.Tensor] = field(default_factory=dict)
    source_map: torch.Tensor | None = None
    target_map: torch.Tensor | None = None
    real_source: torch.Tensor | None = None
    fake_source: torch.Tensor | None = None
    fake_target: torch.Tensor | None = None
    # each branch's embeddings (detached), for `Learner.update`
    embedded: dict[str, torch.Tensor] = field(default_factory=dict)

    def add(self, name: str, value: torch.Tensor, weight: float = 1.0) -> None:
        """Log `value` as `name` and add `weight * value` to the loss."""
        self.terms[name] = value
        self.loss = self.loss + (value if weight == 1.0 else weight * value)


def _branch(out: StepOutput, learner: Learner, branch: Branch, labels: Labels) -> None:
    for name, value, weight in learner.branch_terms(branch, labels):
        out.add(name, value, weight)
    out.embedded[branch.name] = branch.embedded.detach()


def scale_grad(x: torch.Tensor, scale: float) -> torch.Tensor:
    """`x` in the forward pass; in the backward pass its gradient is multiplied by `scale` (0: detached)."""
    if scale == 1.0:
        return x
    if scale == 0.0:
        return x.detach()
    return x.detach() + scale * (x - x.detach())


class _AddGradient(torch.autograd.Function):
    """A zero scalar whose gradient with respect to `x` is `g` (times the incoming gradient, e.g. a loss scale)."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, g: torch.Tensor) -> torch.Tensor:  # noqa: ANN001 - autograd's context
        ctx.save_for_backward(g)
        return x.new_zeros(())

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor, None]:  # noqa: ANN001
        (g,) = ctx.saved_tensors
        return grad * g, None


def _pixel_terms(out: StepOutput, discs: Discriminators, recon: torch.Tensor, real: torch.Tensor,
                 ns: int, has_target: bool, cfg: LossConfig) -> dict[str, torch.Tensor]:
    """Eq. 11-16 on the step's reconstructions, added to `out`; returns each domain's weighted pixel loss."""
    groups: dict[str, torch.Tensor] = {}
    domains = [("source", slice(None, ns))] + ([("target", slice(ns, None))] if has_target else [])
    for domain, rows in domains:
        rec = losses.reconstruction_loss(recon[rows], real[rows], cfg.reconstruction_norm)
        out.add(f"rec_{domain}", rec, cfg.lambda_rec)
        groups[domain] = cfg.lambda_rec * rec
        if discs.pixel is not None:
            gan = losses.generator_loss(discs.pixel(recon[rows]))
            out.add(f"gan_pix_{domain}", gan, cfg.lambda_gan_pix)
            groups[domain] = groups[domain] + cfg.lambda_gan_pix * gan
    if discs.pixel is not None:
        out.real_source, out.fake_source = real[:ns].detach(), recon[:ns].detach()
        if has_target:
            out.fake_target = recon[ns:].detach()
    return groups


def generator_step(
    model: RAE, discs: Discriminators, learner: Learner, xs: torch.Tensor, xt: torch.Tensor | None, labels: Labels,
    cfg: LossConfig, clean: torch.Tensor | None = None,
) -> StepOutput:
    """Forward pass and generator-side loss. `xt` is None when the step is source-only (direct
    transfer, or an epoch whose clustering found fewer than two clusters). `clean` holds the same images before
    random erasing (source rows first), what Dec reconstructs; None or empty: the inputs themselves.

    Each loss that passes through Dec reaches the encoder's map with its own share of the gradient:
    `loss.source_pix_to_encoder` (Eq. 11-13), `loss.target_pix_to_encoder` (Eq. 14-16) and `loss.fusion_to_encoder`
    (Eq. 21's recurrent pass); Dec always learns from all of them."""
    variant = model.variant
    ns = xs.shape[0]
    images = xs if xt is None else torch.cat([xs, xt])
    with domain_split(model, ns):
        fmap = model.encoder(images)
        feat = model.pool(fmap)
        out = StepOutput(loss=feat.new_zeros(()))
        _branch(out, learner, Branch("encoder", feat, model.neck(feat), ns), labels)
        if xt is not None and discs.feature is not None:
            out.add("gan_feat", losses.generator_loss(discs.feature(fmap[ns:])), cfg.lambda_gan_feat)
            out.source_map, out.target_map = fmap[:ns].detach(), fmap[ns:].detach()
        if model.decoder is None:
            return out
        # Dec's input passes `base` of every gradient back to the map; a pixel-transfer term's own share is routed apart
        base = cfg.fusion_to_encoder if model.fusion is not None else cfg.source_pix_to_encoder
        shares = {"source": cfg.source_pix_to_encoder, "target": cfg.target_pix_to_encoder}
        present = ("source", "target") if xt is not None else ("source",)
        extra = {d: shares[d] - base for d in present if variant.pixel_transfer and shares[d] != base}
        dec_in = scale_grad(fmap, base)
        if extra and not dec_in.requires_grad:
            dec_in = dec_in.requires_grad_(True)
        recon = model.reconstruct(dec_in)
        if variant.reconstructs:
            real = model.reconstruction_target(images if clean is None or clean.numel() == 0 else clean)
            groups = _pixel_terms(out, discs, recon, real, ns, xt is not None, cfg)
            if extra and fmap.requires_grad:
                _route(out, fmap, dec_in, sum(extra[d] * groups[d] for d in extra))
        if model.fusion is not None:
            fused = model.fused(fmap, model.recurrent(recon))
            _branch(out, learner, Branch("fused", fused, model.fused_neck(fused), ns), labels)
    return out


def _route(out: StepOutput, fmap: torch.Tensor, dec_in: torch.Tensor, loss: torch.Tensor) -> None:
    """Add the gradient of `loss` with respect to Dec's input to the encoder map's gradient (one backward pass through
    Dec and Dis_pix, then a zero-valued term in the step's loss): exact, also where Dec's batch norms mix the rows of
    both domains."""
    (grad,) = torch.autograd.grad(loss, dec_in, retain_graph=True)
    out.loss = out.loss + _AddGradient.apply(fmap, grad.detach())


def discriminator_step(discs: Discriminators, step: StepOutput,
                       cfg: LossConfig) -> tuple[torch.Tensor | None, dict[str, torch.Tensor]]:
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


class StepModule(nn.Module):
    """The generator objective as a module, so DistributedDataParallel can wrap it (and average its gradients).

    Its parameters are the model's and the learner's trainable modules (`learner_modules`). The discriminators
    are used but not registered (they have their own optimiser and DDP wrapper), nor are the learner's memories."""

    def __init__(self, model: RAE, discs: Discriminators, learner: Learner, cfg: LossConfig,
                 gather: Callable[[torch.Tensor], torch.Tensor]):
        super().__init__()
        self.model = model
        self.learner_modules = learner.modules()
        object.__setattr__(self, "discs", discs)  # a plain attribute: not a submodule
        self.learner = learner
        self.loss_cfg, self.gather = cfg, gather

    # DDP passes tensors through, unannotated
    def forward(self, xs, ys, xt, yt, seeds_s, seeds_t, index_t, clean=None):  # noqa: ANN001, ANN201
        labels = Labels(ys, yt, seeds_s, seeds_t, index_t, self.gather)
        return generator_step(self.model, self.discs, self.learner, xs, xt, labels, self.loss_cfg, clean)


class DiscriminatorStepModule(nn.Module):
    """The discriminators' objective as a module, so DistributedDataParallel averages their gradients."""

    def __init__(self, discs: Discriminators, cfg: LossConfig):
        super().__init__()
        self.discs = discs
        self.loss_cfg = cfg

    def forward(self, step: StepOutput):  # noqa: ANN201
        return discriminator_step(self.discs, step, self.loss_cfg)
