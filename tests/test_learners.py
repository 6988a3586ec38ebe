"""Pseudo-label learners: their losses and memory updates against hand-computed cases, SpCL's reliability
criterion, domain-specific batch norm, AdaBN, and each learner training and resuming on tiny data."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import tiny_overrides

from raereid.adapt.adabn import adapt_batch_norm
from raereid.adapt.resume import init_from
from raereid.adapt.trainer import Trainer
from raereid.clustering.dbscan import reliable_clusters
from raereid.config import load_config
from raereid.config.schema import Config
from raereid.config.variants import get_variant
from raereid.engine.checkpoint import load_checkpoint
from raereid.engine.runtime import setup_runtime
from raereid.errors import ConfigError
from raereid.learners import Labels, available_learners, build_learner
from raereid.learners.base import Branch, ClusterRound
from raereid.learners.hybrid import HybridLearner
from raereid.learners.memory import info_nce, momentum_update
from raereid.models import RAE, Discriminators
from raereid.models.dsbn import DomainSpecificBN, bn_domain, domain_split


def _small_model(variant: str = "baseline", dsbn: bool = False) -> RAE:
    torch.manual_seed(0)
    cfg = Config().model
    cfg.backbone, cfg.pretrained, cfg.last_stride, cfg.neck, cfg.dsbn = "convnet_small", "none", 2, "bn", dsbn
    cfg.fusion_dim, cfg.fusion_out, cfg.decoder_channels = 16, 12, [16, 8]
    return RAE(cfg, get_variant(variant), num_source_ids=3, input_size=(64, 32))


def test_info_nce_and_momentum_update_match_a_hand_computed_case() -> None:
    memory = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    x = torch.tensor([[3.0, 4.0]])  # normalised: (0.6, 0.8)
    loss = info_nce(x, memory, torch.tensor([1]), temperature=0.5)
    expected = -math.log(math.exp(0.8 / 0.5) / (math.exp(0.6 / 0.5) + math.exp(0.8 / 0.5)))
    assert loss.item() == pytest.approx(expected, rel=1e-6)
    # Two samples of the same cluster update it one after the other: m*c + (1-m)*x, then normalised.
    xs = torch.tensor([[0.6, 0.8], [1.0, 0.0]])
    momentum_update(memory, torch.tensor([1, 1]), xs, momentum=0.5)
    first = np.array([0.3, 0.9]) / np.linalg.norm([0.3, 0.9])
    second = 0.5 * first + 0.5 * np.array([1.0, 0.0])
    assert np.allclose(memory[1].numpy(), second / np.linalg.norm(second), atol=1e-6)
    assert torch.equal(memory[0], torch.tensor([1.0, 0.0]))  # other clusters untouched


def test_memory_learner_builds_centroid_memory_and_trains_the_target_on_it() -> None:
    cfg = Config()
    cfg.loss.lambda_tri = 0.5
    model = _small_model("baseline")
    learner = build_learner("memory", model, cfg, num_source_ids=3)
    feats = np.random.default_rng(0).normal(size=(4, 256)).astype(np.float32)
    learner.on_clustering(ClusterRound(np.array([0, 0, 1, -1]), {"encoder": feats}, dict, np.zeros(1, dtype=int)))
    unit = feats / np.linalg.norm(feats, axis=1, keepdims=True)
    centre = unit[:2].mean(0)
    expected = np.stack([centre / np.linalg.norm(centre), unit[2]])  # the outlier is left out
    assert np.allclose(learner.memories["encoder"].numpy(), expected, atol=1e-6)
    emb = torch.randn(3, 256, generator=torch.Generator().manual_seed(1))
    labels = Labels(ys=torch.tensor([0]), yt=torch.tensor([1, 1]))
    terms = {name: (value, weight)
             for name, value, weight in learner.branch_terms(Branch("encoder", emb, emb, 1), labels)}
    assert set(terms) == {"ce_source", "tri_source", "mem_target", "tri_target"} and terms["tri_target"][1] == 0.5
    assert terms["ce_source"][1] == 1.0 and terms["tri_source"][1] == 0.5
    cfg.loss.lambda_source = 0.25  # scales the source identity terms only
    weights = {name: weight for name, _, weight in learner.branch_terms(Branch("encoder", emb, emb, 1), labels)}
    assert weights == {"ce_source": 0.25, "tri_source": 0.125, "mem_target": 1.0, "tri_target": 0.5}
    sims = (emb[1:] / emb[1:].norm(dim=1, keepdim=True)).numpy() @ expected.T / cfg.learner.temperature
    manual = np.mean([np.log(np.exp(row).sum()) - row[1] for row in sims])
    assert terms["mem_target"][0].item() == pytest.approx(manual, rel=1e-5)


def test_hybrid_learner_contrasts_source_classes_clusters_and_outliers() -> None:
    cfg = Config()
    model = _small_model("baseline")
    learner = build_learner("hybrid", model, cfg, num_source_ids=2)
    assert isinstance(learner, HybridLearner)
    pseudo = np.array([0, -1, 0, -1])
    assert learner.sampling_labels(pseudo).tolist() == [0, 1, 0, 2]  # each outlier a class of its own
    source = {"encoder": np.array([[1.0, 0.0], [1.0, 0.2], [0.0, 1.0]], dtype=np.float32)}
    target = {"encoder": np.array([[1.0, 1.0], [-1.0, 0.0], [1.0, -1.0], [0.0, -1.0]], dtype=np.float32)}
    learner.on_clustering(ClusterRound(pseudo, target, lambda: source, np.array([0, 0, 1])))
    assert learner.classes.tolist() == [0, 1, 2, 3, 2, 4] and learner.num_classes == 5
    mem = learner.memories["encoder"]
    assert torch.allclose(mem[2], torch.tensor([1.0, 1.0]) / math.sqrt(2))  # target instances, L2-normalised
    emb = torch.tensor([[0.0, 1.0], [1.0, 0.0]])
    labels = Labels(ys=torch.tensor([1]), yt=torch.tensor([0]), index_t=torch.tensor([2]))
    terms = {name: value for name, value, _ in learner.branch_terms(Branch("encoder", emb, emb, 1), labels)}
    centres = torch.stack([mem[0], mem[1], (mem[2] + mem[4]) / 2, mem[3], mem[5]])  # class 2 = the cluster {0, 2}
    logits = emb @ centres.t() / cfg.learner.temperature
    ce = torch.nn.functional.cross_entropy
    assert terms["hyb_source"].item() == pytest.approx(ce(logits[:1], torch.tensor([1])).item(), rel=1e-5)
    assert terms["hyb_target"].item() == pytest.approx(ce(logits[1:], torch.tensor([2])).item(), rel=1e-5)
    before = mem.clone()
    learner.update({"encoder": emb}, labels)  # source class 1 (row 1) and target image 2 (row 2 + 2) move
    m = cfg.learner.hybrid_momentum
    for row, x in ((1, emb[0]), (4, emb[1])):
        mixed = m * before[row] + (1 - m) * x
        assert torch.allclose(mem[row], mixed / mixed.norm(), atol=1e-6)
    untouched = [0, 2, 3, 5]
    assert torch.equal(mem[untouched], before[untouched])


def test_reliability_criterion_matches_a_hand_computed_case() -> None:
    """SpCL's criterion: image 3 leaves cluster 0 (its tight cluster is itself: compactness 1 - 1/4), every
    cluster stays independent under the 90th-percentile threshold of the first call (0.667 here)."""
    labels = np.array([0, 0, 0, 0, 1, 1, 1, -1, 2, 2])
    tight = np.array([0, 0, 0, -1, 1, 1, 1, -1, 2, -1])
    loose = np.array([0, 0, 0, 0, 1, 1, 1, 1, 0, 0])
    kept, threshold = reliable_clusters(labels, tight, loose)
    assert kept.tolist() == [0, 0, 0, -1, 1, 1, 1, -1, 2, 2] and threshold == pytest.approx(2 / 3)
    kept, _ = reliable_clusters(labels, tight, loose, indep_threshold=0.5)  # cluster 2 (independence 2/3) now fails
    assert kept.tolist() == [0, 0, 0, -1, 1, 1, 1, -1, -1, -1]


def test_unknown_learner_is_a_config_error() -> None:
    # the built-in learners (tests that train with a plugin leave theirs registered in this process)
    assert {"classifier", "hybrid", "jvtc", "memory", "mmcl"} <= set(available_learners())
    with pytest.raises(ConfigError, match="learner.name must be one of ") as info:
        build_learner("nope", _small_model(), Config(), 3)
    assert all(name in str(info.value) for name in ("classifier", "hybrid", "jvtc", "memory", "mmcl"))


def test_dsbn_normalises_each_domain_with_its_own_statistics() -> None:
    model = _small_model("baseline", dsbn=True)
    layers = [m for m in model.modules() if isinstance(m, DomainSpecificBN)]
    assert layers and model.neck.__class__ is DomainSpecificBN
    first = layers[0]
    xs, xt = torch.randn(4, 3, 64, 32), torch.randn(4, 3, 64, 32) + 2.0
    model.train()
    with domain_split(model, 4):
        model.encoder(torch.cat([xs, xt]))
    with torch.no_grad():
        conv = model.encoder.body[0][0]
        expect_s, expect_t = conv(xs).mean((0, 2, 3)), conv(xt).mean((0, 2, 3))
    assert torch.allclose(first.source.running_mean, 0.1 * expect_s, atol=1e-5)
    assert torch.allclose(first.target.running_mean, 0.1 * expect_t, atol=1e-5)
    model.eval()
    with torch.no_grad():
        target_out = model.encoder(xt)
        with bn_domain(model, "source"):
            source_out = model.encoder(xt)
    assert not torch.allclose(target_out, source_out)  # evaluation uses the target copy unless told otherwise


def test_dsbn_model_starts_from_a_plain_checkpoint(tmp_path: Path) -> None:
    plain = _small_model("direct")
    with torch.no_grad():
        plain.encoder.body[0][1].running_mean.fill_(0.25)
    from raereid.engine.checkpoint import save_checkpoint

    save_checkpoint({"model": plain.state_dict()}, tmp_path / "direct.pt")
    model = _small_model("baseline", dsbn=True)
    note, _ = init_from(model, Discriminators(model), str(tmp_path / "direct.pt"), "convnet_small")
    bn = model.encoder.body[0][1]
    assert torch.all(bn.source.running_mean == 0.25) and torch.all(bn.target.running_mean == 0.25)
    assert "initialised" in note


def test_adabn_reestimates_target_statistics_only(tiny_bench: Path) -> None:
    from raereid.data.registry import load_dataset

    model = _small_model("baseline", dsbn=True)
    records = load_dataset("market1501", tiny_bench).train[:20]
    first = model.encoder.body[0][1]
    source_before = first.source.running_mean.clone()
    assert adapt_batch_norm(model, records, 64, 32, torch.device("cpu"), batch_size=8) > 0
    from raereid.data.loaders import ImageDataset, test_loader
    from raereid.data.transforms import test_transform

    conv = model.encoder.body[0][0]
    with torch.no_grad():
        means = [conv(x).mean((0, 2, 3)) for x, *_ in test_loader(ImageDataset(records, test_transform(64, 32)), 8, 0)]
    assert torch.allclose(first.target.running_mean, torch.stack(means).mean(0), atol=1e-5)  # the average over batches
    assert torch.equal(first.source.running_mean, source_before)
    assert model.training  # the mode is restored


def _train(root: Path, out: Path, variant: str, learner: str, iterations: int, *extra: str,
           resume: bool = False, keep_last: bool = False) -> dict:
    cfg = load_config("synthetic", tiny_overrides(root, out, variant, iterations, f"learner.name={learner}",
                                                   "train.gap_picture=false", "train.checkpoint_every=1", *extra))
    return Trainer(cfg, setup_runtime("cpu"), resume=resume, keep_last=keep_last).train()


@pytest.mark.parametrize(("learner", "variant", "extra"), [
    ("memory", "baseline", ()),
    ("memory", "full", ("model.dsbn=true", "train.adabn=true")),
    ("hybrid", "full",
     ("cluster.method=dbscan", "cluster.eps=0.6", "cluster.min_samples=2", "cluster.reliability_gap=0.02")),
])
def test_each_learner_trains_and_resumes_exactly(tiny_bench: Path, tmp_path: Path, learner: str, variant: str,
                                                 extra: tuple[str, ...]) -> None:
    run = ("train.iters_per_epoch=3", *extra)
    straight = _train(tiny_bench, tmp_path / "a", variant, learner, 7, *run)
    assert straight["learner"] == learner and straight["iterations"] == 7
    log = (tmp_path / "a" / "train.log").read_text()
    assert f"learner {learner}" in log and log.count(" clusters, ") == 3
    _train(tiny_bench, tmp_path / "b", variant, learner, 4, *run, keep_last=True)  # stops mid-epoch
    resumed = _train(tiny_bench, tmp_path / "b", variant, learner, 7, *run, resume=True)
    a, b = (load_checkpoint(tmp_path / d / "model.pt") for d in ("a", "b"))
    assert a["learner"].keys() == b["learner"].keys() and a["learner"]
    for part in ("model", "learner"):
        differ = [k for k in a[part] if not torch.equal(a[part][k], b[part][k])]
        assert not differ, f"{part}: {differ[:3]}"
    assert {k: v for k, v in resumed.items() if k != "seconds"} == {k: v for k, v in straight.items() if k != "seconds"}


def test_cached_images_give_the_same_tensors(tiny_bench: Path) -> None:
    """data.cache_images keeps images decoded and resized in memory; what the transforms make of them is unchanged."""
    from raereid.data.loaders import ImageDataset
    from raereid.data.registry import load_dataset
    from raereid.data.transforms import test_transform, train_transform

    records = load_dataset("market1501", tiny_bench).train[:6]
    for transform in (train_transform(64, 32, erasing=0.5), test_transform(64, 32)):
        plain, cached = ImageDataset(records, transform), ImageDataset(records, transform, cache=(64, 32))
        for i in range(len(records)):
            for _ in range(2):  # the second read comes from memory
                assert torch.equal(plain[(i, 7 + i)][0], cached[(i, 7 + i)][0])
