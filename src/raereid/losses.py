"""The losses of RAE: identity (cross-entropy, batch-hard triplet), GAN (Eq. 8, 13, 16), reconstruction (Eq. 12, 15).

GAN losses use the non-saturating binary cross-entropy form: the discriminator learns
real -> 1, fake -> 0; the generator side (Enc, Dec) is trained so that its outputs are scored 1.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def cross_entropy(logits: torch.Tensor, labels: torch.Tensor, label_smoothing: float = 0.0) -> torch.Tensor:
    """Identity classification loss (Eq. 3, 6, 22, 23), optionally label-smoothed."""
    return F.cross_entropy(logits, labels, label_smoothing=label_smoothing)


def pairwise_euclidean(x: torch.Tensor) -> torch.Tensor:
    """Euclidean distances between the rows of x (numerically safe at 0). Rows are centred first:
    distances do not change, and |a|^2 + |b|^2 - 2ab no longer cancels catastrophically when the
    rows share a large common component (as features from a young network do)."""
    x = x - x.mean(0, keepdim=True)
    sq = x.pow(2).sum(1, keepdim=True)
    d2 = (sq + sq.t() - 2.0 * x @ x.t()).clamp_min(1e-12)
    return d2.sqrt()


def batch_hard_triplet(features: torch.Tensor, labels: torch.Tensor, margin: float = 0.3) -> torch.Tensor:
    """Batch-hard triplet loss (Hermans et al.; Eq. 4, 7): for each anchor, its farthest positive and
    nearest negative in the batch, hinge with `margin`. Anchors without a positive or a negative
    in the batch do not contribute."""
    dist = pairwise_euclidean(features.float())
    same = labels.unsqueeze(0) == labels.unsqueeze(1)
    eye = torch.eye(len(labels), dtype=torch.bool, device=labels.device)
    pos_mask, neg_mask = same & ~eye, ~same
    valid = pos_mask.any(1) & neg_mask.any(1)
    if not valid.any():
        return features.sum() * 0.0
    hardest_pos = dist.masked_fill(~pos_mask, float("-inf")).amax(1)
    hardest_neg = dist.masked_fill(~neg_mask, float("inf")).amin(1)
    return F.relu(hardest_pos - hardest_neg + margin)[valid].mean()


def discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """Discriminator side of Eq. 8 / 13: real -> 1, fake -> 0 (each term a mean over its batch)."""
    real = F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits))
    fake = F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))
    return real + fake


def generator_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """Generator side of Eq. 8 / 13 / 16: make the discriminator score these inputs as real."""
    return F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))


def reconstruction_loss(reconstruction: torch.Tensor, target: torch.Tensor, norm: str) -> torch.Tensor:
    """Eq. 12 / 15, "[||I - I_hat||2]" per image averaged over the batch (images in [-1, 1]), in one of its two
    readings: `l2`, the Euclidean norm of the image's difference (the reading of the same glyph in Eq. 4's triplet
    distance), or `squared`, its square (a sum over channels and pixels: at 128x64, 24,576 times the per-pixel mean
    squared error). docs/interpretations.md argues the choice."""
    diff = (reconstruction.float() - target.float()).flatten(1)
    if norm == "squared":
        return diff.pow(2).sum(1).mean()
    if norm == "l2":
        return torch.linalg.vector_norm(diff, dim=1).mean()
    raise ValueError(f"unknown reconstruction norm {norm!r}: l2 or squared")
