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
from raereid.models.recurrent_bn import add_recurrent_stats
from raereid.pixels import from_unit_range

SIZE = (64, 32)


def _model(variant: str, backbone: str = "resnet18", recurrent_bn: str = "own") -> tuple[RAE, Discriminators]:
    """A small RAE; its recurrent pass keeps batch-norm statistics of its own (`own`, every preset's) unless a test
    names another mode."""
    torch.manual_seed(0)
    cfg = Config().model
    cfg.backbone, cfg.pretrained, cfg.fusion_dim, cfg.fusion_out = backbone, "none", 64, 48
    cfg.recurrent_bn = recurrent_bn
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


def _encoder_grad(model: RAE) -> torch.Tensor:
    return torch.cat([p.grad.flatten() if p.grad is not None else torch.zeros(p.numel())
                      for p in model.encoder.parameters()])


def _pixel_groups(out: StepOutput, loss: LossConfig) -> dict[str, torch.Tensor]:
    return {d: loss.lambda_rec * out.terms[f"rec_{d}"] + loss.lambda_gan_pix * out.terms[f"gan_pix_{d}"]
            for d in ("source", "target")}


def _routed_step(variant: str, loss: LossConfig,
                 built: tuple[RAE, Discriminators] | None = None) -> tuple[RAE, Discriminators, StepOutput]:
    """One generator step of a fresh `variant` model, or of `built` (same weights, centroids and dropout draws for
    every call)."""
    model, discs = built or _model(variant)
    discs.requires_grad_(False)
    torch.manual_seed(3)
    learner = _learner(model)
    torch.manual_seed(4)
    return model, discs, _step(model, discs, *_batch(), learner=learner, loss=loss)


def _per_term_encoder_grads(variant: str, shares: float) -> dict[str, torch.Tensor]:
    """Encoder gradients of each pixel group and of the rest of the step, every share at `shares` (no routing)."""
    loss = LossConfig(source_pix_to_encoder=shares, target_pix_to_encoder=shares, fusion_to_encoder=shares)
    model, _, out = _routed_step(variant, loss)
    params = list(model.encoder.parameters())
    groups = _pixel_groups(out, loss)

    def grad(x: torch.Tensor) -> torch.Tensor:
        grads = torch.autograd.grad(x, params, retain_graph=True, allow_unused=True)
        return torch.cat([g.flatten() if g is not None else torch.zeros(p.numel()) for g, p in zip(grads, params)])

    return {"rest": grad(out.loss - groups["source"] - groups["target"]), **{d: grad(v) for d, v in groups.items()}}


def _close(a: torch.Tensor, b: torch.Tensor) -> bool:
    return torch.allclose(a, b, rtol=1e-4, atol=1e-5 * float(b.abs().max()))


@pytest.mark.parametrize("source_share, target_share", [(0.0, 1.0), (0.0, 0.5), (1.0, 0.0), (0.0, 0.0), (0.5, 0.25)])
def test_each_pixel_term_reaches_encoder_with_its_own_share(source_share: float, target_share: float) -> None:
    """pt: Enc's gradient is the identity terms' + source_pix_to_encoder x Eq. 11-13's + target_pix_to_encoder x Eq.
    14-16's (each taken with the whole gradient through Dec); Dec always learns from every pixel term."""
    ref = _per_term_encoder_grads("pt", 1.0)
    loss = LossConfig(source_pix_to_encoder=source_share, target_pix_to_encoder=target_share)
    model, discs, out = _routed_step("pt", loss)
    out.loss.backward()
    assert _grad_norm(model.decoder) > 0 and _grad_norm(discs) == 0
    expected = ref["rest"] + source_share * ref["source"] + target_share * ref["target"]
    assert _close(_encoder_grad(model), expected)
    assert float(ref["target"].abs().sum()) > 0 and float(ref["source"].abs().sum()) > 0
    weighted = sum(float(v.detach()) * w for v, w in _weighted_terms(out, loss))
    assert float(out.loss.detach()) == pytest.approx(weighted, rel=1e-6)


def _weighted_terms(out: StepOutput, loss: LossConfig) -> list[tuple[torch.Tensor, float]]:
    """Every logged term with its weight in the step's loss (the routing adds a zero-valued term only)."""
    weights = {"gan_feat": loss.lambda_gan_feat, "rec_source": loss.lambda_rec, "rec_target": loss.lambda_rec,
               "gan_pix_source": loss.lambda_gan_pix, "gan_pix_target": loss.lambda_gan_pix}
    return [(v, weights.get(k, loss.lambda_tri if k.startswith("tri") else 1.0)) for k, v in out.terms.items()]


@pytest.mark.parametrize("source_share, target_share, fusion_share",
                         [(0.0, 1.0, 0.0), (0.0, 1.0, 0.5), (1.0, 0.0, 1.0)])
def test_fused_branch_keeps_its_share_when_pixel_terms_are_routed(source_share: float, target_share: float,
                                                                  fusion_share: float) -> None:
    """full: with every share at the fusion's, Dec's input passes that share of everything (no routing); routing the
    pixel terms apart adds (share - fusion's) x each pixel group's whole gradient, and nothing else changes."""
    ref = _per_term_encoder_grads("full", 1.0)
    same = LossConfig(source_pix_to_encoder=fusion_share, target_pix_to_encoder=fusion_share,
                      fusion_to_encoder=fusion_share)
    model, _, out = _routed_step("full", same)
    out.loss.backward()
    unrouted = _encoder_grad(model)
    loss = LossConfig(source_pix_to_encoder=source_share, target_pix_to_encoder=target_share,
                      fusion_to_encoder=fusion_share)
    model, _, out = _routed_step("full", loss)
    out.loss.backward()
    expected = unrouted + (source_share - fusion_share) * ref["source"] + (target_share - fusion_share) * ref["target"]
    assert _close(_encoder_grad(model), expected)


def test_pt_differs_from_the_baseline_under_the_paper_preset_and_not_when_detached() -> None:
    """Table IV's +PT is its own row under the paper presets (Eq. 14-16 reach Enc); with every pixel share at 0 its
    encoder gradient is the baseline's to the bit."""
    from raereid.config import load_config

    paper = load_config("duke2market").loss
    detached = LossConfig(**{**vars(paper), "target_pix_to_encoder": 0.0, "source_pix_to_encoder": 0.0})
    grads = {}
    for name, variant, loss in (("baseline", "baseline", paper), ("pt", "pt", paper), ("pt0", "pt", detached)):
        model, _, out = _routed_step(variant, loss)
        out.loss.backward()
        grads[name] = _encoder_grad(model)
    assert torch.equal(grads["pt0"], grads["baseline"])
    assert float((grads["pt"] - grads["baseline"]).abs().max()) > 1e-3 * float(grads["baseline"].abs().max())


def test_ft_pt_trains_the_encoder_as_ft_does_when_every_pixel_share_is_zero() -> None:
    """The CPU preset's + FT + PT: with the decoder's losses off Enc, its encoder gradient is + FT's to the bit once
    Dis_feat starts from the same weights (in training the two rows differ by random draws only: building Dec moves
    the generator before Dis_feat is initialised)."""
    from raereid.config import load_config

    cpu = load_config("synthetic").loss
    assert cpu.target_pix_to_encoder == cpu.source_pix_to_encoder == 0.0
    ft = _model("ft")
    both = _model("ft+pt")
    assert not torch.equal(ft[1].feature.fc.weight, both[1].feature.fc.weight)
    both[1].feature.load_state_dict(ft[1].feature.state_dict())
    grads = []
    for variant, built in (("ft", ft), ("ft+pt", both)):
        model, _, out = _routed_step(variant, cpu, built)
        out.loss.backward()
        grads.append(_encoder_grad(model))
    assert torch.equal(grads[0], grads[1]) and float(grads[0].abs().max()) > 0


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


def _running(model: RAE) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in model.encoder.state_dict().items() if "running" in k or "num_batches" in k}


def _changed(before: dict[str, torch.Tensor], model: RAE, prefix: str = "") -> bool:
    now = model.encoder.state_dict()
    return any(not torch.equal(v, now[prefix + k if prefix else k]) for k, v in before.items()
               if "recurrent_" not in k)


@pytest.mark.parametrize("mode", ["batch", "shared", "running", "own"])
def test_recurrent_pass_batch_norm_modes(mode: str) -> None:
    """model.recurrent_bn: which statistics normalise reconstructions in training and at inference, and which move."""
    model, _ = _model("full", recurrent_bn="running")  # no statistics of its own until the mode below adds them
    model.recurrent_bn = mode
    if mode == "own":
        add_recurrent_stats(model.encoder)
    model.train()
    xs = _batch()[0]
    recon = model.reconstruct(model.encoder(xs)).detach()
    real = _running(model)
    train_out = model.recurrent(recon)
    assert _changed(real, model) == (mode == "shared")  # only "shared" lets reconstructions move real images' stats
    model.eval()
    eval_out = model.recurrent(recon)
    if mode == "running":  # reconstructions are normalised alike in training and at inference
        assert torch.allclose(train_out, eval_out, atol=1e-5)
    if mode in ("batch", "shared"):  # training used the batch's statistics, inference the running ones
        assert not torch.allclose(train_out, eval_out, atol=1e-3)
    if mode == "own":  # their own statistics moved in training, and inference uses them
        own = {k.replace("recurrent_", ""): v for k, v in model.encoder.state_dict().items() if "recurrent_" in k}
        assert any(not torch.equal(own[k], real[k]) for k in real)
        plain, _ = _model("full", recurrent_bn="running")
        plain.load_state_dict({**{k: v for k, v in model.state_dict().items() if "recurrent_" not in k},
                               **{f"encoder.{k}": v for k, v in own.items()}})
        plain.eval()
        assert torch.allclose(eval_out, plain.encoder(from_unit_range(torch.nn.functional.interpolate(
            recon, size=SIZE, mode="bilinear", align_corners=False))), atol=1e-5)


def test_fusion_l2_norm_gives_unit_descriptors() -> None:
    f1, f2 = torch.randn(4, 16, 4, 2), torch.randn(4, 16, 4, 2)
    plain, unit = BilinearFusion(16, 8, 6), BilinearFusion(16, 8, 6, l2_norm=True)
    unit.load_state_dict(plain.state_dict())
    z, u = plain(f1, f2), unit(f1, f2)
    assert torch.allclose(u.norm(dim=1), torch.ones(4), atol=1e-6)
    assert torch.allclose(u, z / z.norm(dim=1, keepdim=True), atol=1e-6)


def test_reconstruction_statistics_start_from_the_loaded_ones(tmp_path: Path) -> None:
    """recurrent_bn=own, started from a model without them (a source stage): they begin as its real images' ones."""
    from raereid.adapt.resume import init_from
    from raereid.engine.checkpoint import save_checkpoint

    direct, _ = _model("direct")
    for m in direct.encoder.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.normal_()
    save_checkpoint({"model": direct.state_dict()}, tmp_path / "direct.pt")
    model, discs = _model("full")  # recurrent_bn own: the fused variants add the statistics when built
    init_from(model, discs, str(tmp_path / "direct.pt"), "resnet18")
    state = model.encoder.state_dict()
    stats = [k for k in state if "recurrent_running_mean" in k]
    assert stats and all(torch.equal(state[k], state[k.replace("recurrent_", "")]) for k in stats)
    assert all(torch.equal(state[k.replace("recurrent_", "")], direct.encoder.state_dict()[k.replace("recurrent_", "")])
               for k in stats)
