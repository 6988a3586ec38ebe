"""Each loss on inputs whose value can be computed by hand."""

from __future__ import annotations

import math

import pytest
import torch

from raereid import losses


def test_batch_hard_triplet_by_hand() -> None:
    # 1-D points: ids a = {0, 1}, b = {3, 7}
    x = torch.tensor([[0.0], [1.0], [3.0], [7.0]])
    y = torch.tensor([0, 0, 1, 1])
    # anchor 0: pos 1, neg 3 -> 1-3+0.3<0 -> 0;   anchor 1: pos 1, neg 2 -> 0
    # anchor 3: pos 4, neg 2 -> 4-2+.3 = 2.3;     anchor 7: pos 4, neg 6 -> 0
    assert losses.batch_hard_triplet(x, y, margin=0.3).item() == pytest.approx(2.3 / 4, abs=1e-5)


def test_triplet_ignores_anchors_without_positive() -> None:
    x = torch.tensor([[0.0], [1.0], [5.0]])
    y = torch.tensor([0, 0, 1])  # id 1 has no positive
    # anchor 0: pos 1, neg 5 -> 0; anchor 1: pos 1, neg 4 -> 0
    assert losses.batch_hard_triplet(x, y, margin=0.5).item() == pytest.approx(0.0)
    assert losses.batch_hard_triplet(x, torch.tensor([0, 1, 2]), 0.3).item() == 0.0  # no positives at all


def test_triplet_gradient_finite_at_identical_points() -> None:
    x = torch.zeros(4, 3, requires_grad=True)
    losses.batch_hard_triplet(x, torch.tensor([0, 0, 1, 1]), 0.3).backward()
    assert torch.isfinite(x.grad).all()


def test_cross_entropy_uniform_logits() -> None:
    logits = torch.zeros(2, 4)
    assert losses.cross_entropy(logits, torch.tensor([0, 3])).item() == pytest.approx(math.log(4))
    assert losses.cross_entropy(logits, torch.tensor([0, 3]), label_smoothing=0.1).item() == pytest.approx(math.log(4))


def test_gan_losses_at_zero_logits() -> None:
    zero = torch.zeros(5)
    assert losses.discriminator_loss(zero, zero).item() == pytest.approx(2 * math.log(2))
    assert losses.generator_loss(zero).item() == pytest.approx(math.log(2))
    big = torch.full((3,), 20.0)
    assert losses.discriminator_loss(big, -big).item() == pytest.approx(0.0, abs=1e-6)  # a perfect discriminator
    # non-saturating: large when fooled badly
    assert losses.generator_loss(-big).item() == pytest.approx(20.0, abs=1e-6)


def test_reconstruction_loss_squared_reading_is_the_squared_norm_per_image() -> None:
    """Eq. 12 / 15 read as ||I - I_hat||^2: summed over an image's 3 x 4 x 4 values, averaged over the batch."""
    a = torch.zeros(2, 3, 4, 4)
    b = torch.full((2, 3, 4, 4), 0.5)
    b[1] = 1.0  # image 0: 48 x 0.25 = 12; image 1: 48 x 1 = 48
    assert losses.reconstruction_loss(a, b, "squared").item() == pytest.approx((12.0 + 48.0) / 2)


def test_reconstruction_loss_l2_reading_is_the_norm_per_image() -> None:
    """Eq. 12 / 15 read as ||I - I_hat||_2, the glyph of Eq. 4's distance: the Euclidean norm of each image's
    difference, averaged over the batch."""
    a = torch.zeros(2, 3, 4, 4)
    b = torch.full((2, 3, 4, 4), 0.5)
    b[1] = 1.0  # image 0: sqrt(48 x 0.25) = sqrt(12); image 1: sqrt(48 x 1) = sqrt(48) = 2 sqrt(12)
    assert losses.reconstruction_loss(a, b, "l2").item() == pytest.approx((12.0 ** 0.5 + 48.0 ** 0.5) / 2)
    c = torch.zeros(1, 3, 2, 2)
    c[0, 0, 0, 0], c[0, 1, 1, 1] = 3.0, 4.0  # a 3-4-5 triangle: norm 5
    assert losses.reconstruction_loss(c, torch.zeros_like(c), "l2").item() == pytest.approx(5.0)
    x = torch.zeros(1, 3, 2, 2, requires_grad=True)  # a perfect reconstruction: a finite (zero) gradient, not NaN
    losses.reconstruction_loss(x, torch.zeros_like(x), "l2").backward()
    assert torch.isfinite(x.grad).all()
    with pytest.raises(ValueError, match="l2 or squared"):
        losses.reconstruction_loss(a, b, "l1")


@pytest.mark.parametrize("scale", [0.0, 0.25, 1.0])
def test_scale_grad_keeps_the_value_and_scales_the_gradient(scale: float) -> None:
    from raereid.adapt.objective import scale_grad

    x = torch.tensor([1.0, -2.0, 3.0], requires_grad=True)
    y = scale_grad(x, scale)
    assert torch.equal(y, x)
    ((y * torch.tensor([1.0, 2.0, 3.0])).sum() + 0.0 * x.sum()).backward()  # x takes part, so it gets a gradient
    assert torch.allclose(x.grad, scale * torch.tensor([1.0, 2.0, 3.0]))
