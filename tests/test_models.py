"""Shapes of every module and where the gradients of each loss go."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torchvision

from raereid.adapt.objective import StepModule, StepOutput, discriminator_step, generator_step
from raereid.config.schema import Config, LossConfig
from raereid.config.variants import get_variant
from raereid.errors import CheckpointError, ConfigError
from raereid.learners import Labels, build_learner
from raereid.learners.classifier import ClassifierLearner
from raereid.models import RAE, BilinearFusion, Classifier, Decoder, Discriminators, Encoder

SIZE = (64, 32)


def _model(variant: str, backbone: str = "resnet18") -> tuple[RAE, Discriminators]:
    torch.manual_seed(0)
    cfg = Config().model
    cfg.backbone, cfg.pretrained, cfg.fusion_dim, cfg.fusion_out = backbone, "none", 64, 48
    cfg.decoder_channels, cfg.discriminator_channels = [32, 16], [8, 16, 32]
    model = RAE(cfg, get_variant(variant), num_source_ids=5, input_size=SIZE)
    return model, Discriminators(model, (8, 16, 32))


def _batch() -> tuple[torch.Tensor, ...]:
    g = torch.Generator().manual_seed(1)
    xs, xt = torch.randn(8, 3, *SIZE, generator=g), torch.randn(8, 3, *SIZE, generator=g)
    return xs, torch.tensor([0, 0, 1, 1, 2, 2, 4, 4]), xt, torch.tensor([0, 0, 1, 1, 2, 2, 0, 0])


def _learner(model: RAE) -> ClassifierLearner:
    """The paper's classifier learner with three target classes (random centroids)."""
    learner = build_learner("classifier", model, Config(), num_source_ids=5)
    dims = {"encoder": model.encoder.out_channels, "fused": 48}
    learner.set_target_classes({b: torch.randn(3, dims[b]) for b in learner.branches})
    return learner


def _step(model: RAE, discs: Discriminators, xs: torch.Tensor, ys: torch.Tensor, xt: torch.Tensor | None = None,
          yt: torch.Tensor | None = None, learner: ClassifierLearner | None = None,
          loss: LossConfig | None = None) -> StepOutput:
    """The generator step with the paper's classifier learner."""
    return generator_step(model, discs, learner or _learner(model), xs, xt, Labels(ys, yt), loss or LossConfig())


def _grad_norm(module: torch.nn.Module) -> float:
    return sum(float(p.grad.abs().sum()) for p in module.parameters() if p.grad is not None)


@pytest.mark.parametrize("backbone, channels", [("resnet18", 512), ("resnet50", 2048), ("shufflenet_v2_x0_5", 1024)])
def test_encoder_last_stride_one(backbone: str, channels: int) -> None:
    enc = Encoder(backbone, "none", last_stride=1)
    assert enc(torch.zeros(2, 3, 256, 128)).shape == (2, channels, 16, 8)
    assert Encoder(backbone, "none", last_stride=2)(torch.zeros(2, 3, 256, 128)).shape[-2:] == (8, 4)


def test_module_shapes() -> None:
    fmap = torch.randn(3, 40, 16, 8)
    assert Decoder(40, (32, 16))(fmap).shape == (3, 3, 128, 64)
    assert Decoder(40, (32, 16))(fmap).abs().max() <= 1.0
    assert Discriminators.__name__ and BilinearFusion(40, 24, 12)(fmap, fmap).shape == (3, 12)
    assert Classifier(40, 7)(torch.randn(3, 40)).shape == (3, 7)
    model, discs = _model("full")
    assert model.map_size == (4, 2) and model.reconstruction_size == (32, 16)
    x = torch.randn(2, 3, *SIZE)
    model.eval()
    d = model.descriptors(x)
    assert d["encoder"].shape == (2, 512) and d["final"].shape == (2, 48)
    assert torch.allclose(model(x), d["final"], atol=1e-5)
    assert discs.feature(torch.randn(2, 512, 4, 2)).shape == (2,)
    assert discs.pixel(torch.randn(2, 3, 32, 16)).shape == (2,)


def test_variants_build_only_their_modules() -> None:
    direct, discs = _model("direct")
    assert direct.decoder is None and direct.fusion is None and not discs.any()
    ft, discs = _model("ft")
    assert ft.decoder is None and discs.feature is not None and discs.pixel is None
    pt, discs = _model("pt")
    assert pt.decoder is not None and pt.fusion is None and discs.pixel is not None and discs.feature is None


@pytest.mark.parametrize("scale", [0.0, 0.01, 1.0])
def test_pixel_transfer_loss_reaches_encoder_scaled_by_decoder_grad_scale(scale: float) -> None:
    """Dec always learns from its losses; Enc gets `loss.decoder_grad_scale` of their gradient (0 by default)."""
    grads = {}
    for s in (1.0, scale):
        model, discs = _model("pt")
        discs.requires_grad_(False)
        out = _step(model, discs, *_batch(), loss=LossConfig(decoder_grad_scale=s))
        (out.terms["rec_target"] + out.terms["gan_pix_target"]).backward()
        assert _grad_norm(model.decoder) > 0 and _grad_norm(discs) == 0
        grads[s] = torch.cat([p.grad.flatten() for p in model.encoder.parameters() if p.grad is not None] or
                             [torch.zeros(1)])
    assert torch.allclose(grads[scale], scale * grads[1.0], rtol=1e-3, atol=1e-6 * float(grads[1.0].abs().max()))
    assert (grads[scale].abs().sum() > 0) == (scale > 0)


def test_feature_gan_reaches_encoder_not_discriminator_step() -> None:
    model, discs = _model("ft")
    discs.requires_grad_(False)
    out = _step(model, discs, *_batch())
    out.terms["gan_feat"].backward()
    assert _grad_norm(model.encoder) > 0
    assert all(p.grad is None for p in discs.parameters())  # the generator step never updates Dis_feat
    model.zero_grad(set_to_none=True)
    discs.requires_grad_(True)
    loss_d, terms = discriminator_step(discs, out, LossConfig())
    loss_d.backward()
    assert _grad_norm(discs.feature) > 0 and "dis_feat" in terms
    assert all(p.grad is None for p in model.parameters())  # the discriminator step never reaches Enc


def test_fusion_loss_reaches_every_part() -> None:
    model, discs = _model("full")
    discs.requires_grad_(False)
    learner = _learner(model)
    out = _step(model, discs, *_batch(), learner=learner)
    (out.terms["ce_fused_target"] + out.terms["tri_fused_target"]).backward()
    assert set(learner.modules()) == {"target_head", "fused_target_head"}
    assert not any("target" in k for k in model.state_dict())
    fused_head = learner.modules()["fused_target_head"]
    for part in (model.fusion.u, model.fusion.v, model.fusion.q, model.decoder, model.encoder, fused_head):
        assert _grad_norm(part) > 0


def test_the_step_module_trains_the_learners_modules_but_not_the_discriminators() -> None:
    """DDP wraps StepModule: it averages the gradients of what StepModule registers, so the learner's target
    classifiers must be among its parameters and the discriminators (wrapped on their own) must not."""
    model, discs = _model("full")
    learner = _learner(model)
    step = StepModule(model, discs, learner, LossConfig(), lambda x: x)
    params = {id(p) for p in step.parameters()}
    assert {id(p) for p in learner.modules().parameters()} <= params and {id(p) for p in model.parameters()} <= params
    assert not params & {id(p) for p in discs.parameters()} and step.discs is discs and step.learner is learner


def test_source_only_step_has_no_target_terms() -> None:
    model, discs = _model("full")
    xs, ys, _, _ = _batch()
    out = _step(model, discs, xs, ys)
    assert not any("target" in k for k in out.terms) and "gan_feat" not in out.terms
    assert {"ce_source", "tri_source", "rec_source", "gan_pix_source", "ce_fused_source"} <= set(out.terms)


def test_pix_discriminator_sees_target_reconstructions_when_configured() -> None:
    model, discs = _model("pt")
    out = _step(model, discs, *_batch())
    with_target, _ = discriminator_step(discs, out, LossConfig(pix_disc_sees_target=True))
    without, _ = discriminator_step(discs, out, LossConfig(pix_disc_sees_target=False))
    assert with_target.item() != pytest.approx(without.item())


def test_target_classifier_from_centroids() -> None:
    centroids = torch.tensor([[3.0, 4.0], [0.0, 2.0]])
    head = Classifier.from_centroids(centroids)
    assert torch.allclose(head.fc.weight, torch.tensor([[0.6, 0.8], [0.0, 1.0]]))
    assert head.num_classes == 2


def test_local_pretrained_weights(tmp_path: Path) -> None:
    torch.manual_seed(3)
    reference = torchvision.models.resnet18(weights=None)
    path = tmp_path / "resnet18.pth"
    torch.save(reference.state_dict(), path)
    enc = Encoder("resnet18", str(path))
    assert torch.equal(enc.body[0][0].weight, reference.conv1.weight)
    torch.save(torchvision.models.resnet34(weights=None).state_dict(), tmp_path / "r34.pth")
    with pytest.raises(CheckpointError, match="do not fit resnet18"):
        Encoder("resnet18", str(tmp_path / "r34.pth"))
    with pytest.raises(ConfigError, match="not found"):
        Encoder("resnet18", str(tmp_path / "missing.pth"))
    with pytest.raises(ConfigError, match="unknown backbone"):
        Encoder("vgg11", "none")


def test_recurrent_pass_leaves_running_statistics_alone() -> None:
    model, _ = _model("full")
    model.train()
    xs = _batch()[0]
    model.encoder(xs)
    before = {k: v.clone() for k, v in model.encoder.state_dict().items() if "running" in k or "num_batches" in k}
    recon = model.reconstruct(model.encoder(xs))
    after_first = {k: v.clone() for k, v in model.encoder.state_dict().items() if k in before}
    assert any(not torch.equal(before[k], after_first[k]) for k in before)  # the first pass updates them
    model.recurrent(recon)
    assert all(torch.equal(after_first[k], v) for k, v in model.encoder.state_dict().items() if k in before)
    model.recurrent_updates_bn = True
    model.recurrent(recon)
    assert any(not torch.equal(after_first[k], v) for k, v in model.encoder.state_dict().items() if k in before)


def test_fusion_l2_norm_gives_unit_descriptors() -> None:
    f1, f2 = torch.randn(4, 16, 4, 2), torch.randn(4, 16, 4, 2)
    plain, unit = BilinearFusion(16, 8, 6), BilinearFusion(16, 8, 6, l2_norm=True)
    unit.load_state_dict(plain.state_dict())
    z, u = plain(f1, f2), unit(f1, f2)
    assert torch.allclose(u.norm(dim=1), torch.ones(4), atol=1e-6)
    assert torch.allclose(u, z / z.norm(dim=1, keepdim=True), atol=1e-6)
