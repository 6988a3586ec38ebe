"""The MMCL and JVTC learners against hand-computed cases: MPLP's labels on a hand-made memory, the MMCL loss with
hard-negative mining, JVTC's local and global terms, both memory updates, the state round trip, and each learner
training and resuming exactly on tiny data.

The memories are unit vectors in a plane, written by their angle (degrees), padded with zeros to the model's
256 dimensions: the cosine similarity of two entries is the cosine of their angle difference."""

from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import tiny_overrides
from test_recipe import InterruptAt

from raereid.adapt.checks import check_names
from raereid.adapt.recipe import train_stages
from raereid.cli.train import train
from raereid.config import load_config
from raereid.config.schema import Config
from raereid.config.variants import get_variant
from raereid.engine.checkpoint import load_checkpoint
from raereid.engine.run_folder import RunFolder
from raereid.engine.runtime import setup_runtime
from raereid.engine.train_loop import Interrupted
from raereid.errors import ConfigError
from raereid.learners import Labels, Learner, build_learner
from raereid.learners.base import Branch, ClusterRound
from raereid.learners.jvtc import global_loss, local_loss, singleton_outliers
from raereid.learners.mmcl import hard_count, mmcl_loss, mplp_positives
from raereid.models import RAE
from raereid.report.curves import read_scalars

DIM = 256
ANGLES = [0.0, 30.0, 50.0, 55.0, 180.0]  # memory entries A, B, C, D, E


def _plane(*points: tuple[float, float]) -> torch.Tensor:
    """Rows (x, y, 0, ..., 0) of DIM dimensions."""
    out = torch.zeros(len(points), DIM)
    out[:, :2] = torch.tensor(points, dtype=torch.float32)
    return out


def _at(*degrees: float) -> torch.Tensor:
    return _plane(*[(math.cos(math.radians(a)), math.sin(math.radians(a))) for a in degrees])


def _cos(a: float, b: float) -> float:
    return math.cos(math.radians(a - b))


def _small_model(variant: str = "baseline") -> RAE:
    torch.manual_seed(0)
    cfg = Config().model
    cfg.backbone, cfg.pretrained, cfg.last_stride, cfg.neck = "convnet_small", "none", 2, "bn"
    cfg.fusion_dim, cfg.fusion_out, cfg.decoder_channels = 16, 12, [16, 8]
    return RAE(cfg, get_variant(variant), num_source_ids=3, input_size=(64, 32))


def _terms(learner: Learner, emb: torch.Tensor, labels: Labels) -> dict[str, tuple[float, float]]:
    return {n: (float(v.detach()), w) for n, v, w in learner.branch_terms(Branch("encoder", emb, emb, 1), labels)}


def test_mplp_keeps_candidates_above_the_threshold_while_cycle_consistency_holds() -> None:
    """Similarities (cosines of angle differences), t = 0.6:
        A(0):   A 1, B .866, C .643, D .574, E -1      -> candidates A B C (3 above t)
        B(30):  B 1, C .940, D .906, A .866, E -.866   -> candidates B C D A (4)
        C(50):  C 1, D .996, B .940, A .643, E -.643   -> candidates C D B A (4)
        E(180): E 1, D -.574, C -.643, B -.866, A -1   -> candidate E only
    The rankings: A: A B C D E; B: B C D A E; C: C D B A E; D: D C B A E.
    With at least 2 candidates in the neighbourhood (k_i = max(#candidates, 2)):
    - A (k = 3): A ranks itself first; B ranks A 4th (position 3, not < 3): B breaks the cycle, the list stops
      there (C is not reached). Positives {A}. (MMCL's code would start its count at 2 and keep B: see the note.)
    - B (k = 4): C ranks B at 2, D at 2, A at 1, all < 4: {B, C, D, A}. (B takes A, A does not take B.)
    - C (k = 4): D ranks C at 1, B at 2, A at 2: {C, D, B, A}.
    - E: {E}.
    With a neighbourhood of at least 4, A's list passes B (position 3 < 4) and C (C ranks A at 3 < 4): {A, B, C};
    D stays out (.574 < t)."""
    memory = _at(*ANGLES)
    rows = torch.tensor([0, 1, 2, 4])
    got = mplp_positives(memory, rows, threshold=0.6, min_candidates=2)
    assert got.tolist() == [[True, False, False, False, False],
                            [True, True, True, True, False],
                            [True, True, True, True, False],
                            [False, False, False, False, True]]
    lenient = mplp_positives(memory, torch.tensor([0]), threshold=0.6, min_candidates=4)
    assert lenient.tolist() == [[True, True, True, False, False]]


def test_mmcl_loss_with_hard_negative_mining_matches_a_hand_computed_case() -> None:
    """Row 0: positives s = .9, .7; negatives .5, .2, -.1, .4; r = 0.5 keeps floor(0.5 * 4) = 2 hardest (.5, .4):
        5 * ((1 - .9)^2 + (1 - .7)^2) / 2 + ((1 + .5)^2 + (1 + .4)^2) / 2 = 5 * .05 + (2.25 + 1.96) / 2 = 2.355
    Row 1: positives .1, .3, -.2, .8, 0; one negative .6; floor(0.5 * 1) = 0, raised to one hard negative:
        5 * (.81 + .49 + 1.44 + .04 + 1) / 5 + 1.6^2 = 3.78 + 2.56 = 6.34
    Loss: the rows' mean, 4.3475. d loss / d s for row 0's positive .9: -2 * 5 * (1 - .9) / 2 / 2 = -.25; the
    negatives left out (.2, -.1) get no gradient."""
    sim = torch.tensor([[0.9, 0.5, 0.2, -0.1, 0.4, 0.7], [0.1, 0.3, -0.2, 0.8, 0.0, 0.6]], requires_grad=True)
    pos = torch.tensor([[1, 0, 0, 0, 0, 1], [1, 1, 1, 1, 1, 0]], dtype=torch.bool)
    loss = mmcl_loss(sim, pos, delta=5.0, hard_ratio=0.5)
    assert loss.item() == pytest.approx(4.3475, rel=1e-6)
    loss.backward()
    assert sim.grad[0, 0].item() == pytest.approx(-0.25, rel=1e-6)
    assert sim.grad[0, 2].item() == 0.0 and sim.grad[0, 3].item() == 0.0
    assert sim.grad[0, 1].item() == pytest.approx(2 * 1.5 / 2 / 2, rel=1e-6)  # (1 + .5)^2 / 2, halved by the mean
    assert [hard_count(0.01, n) for n in (0, 5, 99, 100, 250, 12935)] == [0, 1, 1, 1, 2, 129]


def test_mmcl_learner_single_labels_then_mplp_and_its_memory_update() -> None:
    """Memory A..E (0, 30, 50, 55, 180 degrees); target rows: image 0 seen at 10 degrees, image 2 at 60 degrees.
    Before mplp_start (10% of 100 iterations) each image's only positive is itself and r = 1% of 4 negatives
    keeps one, the hardest:
        image 0: 5 (1 - cos 10)^2 + (1 + cos 20)^2        (B, at 30, is the nearest other entry)
        image 2: 5 (1 - cos 10)^2 + (1 + cos 5)^2         (D, at 55)
    At step 50, MPLP (t = 0.6, at least 10 candidates: every candidate is consistent in a memory of 5):
        image 0: positives A B C: 5 mean((1 - cos 10)^2, (1 - cos 20)^2, (1 - cos 40)^2) + (1 + cos 45)^2
        image 2: positives A B C D: 5 mean((1 - cos 60)^2, (1 - cos 30)^2, (1 - cos 10)^2, (1 - cos 5)^2)
                 + (1 + cos 120)^2
    The update at step 50 uses momentum 0.5 * 50 / 100 = 0.25: M[0] <- normalise(.25 M[0] + .75 x)."""
    cfg = Config()
    cfg.optim.iterations = 100
    learner = build_learner("mmcl", _small_model(), cfg, num_source_ids=3)
    assert learner.sampling_labels(np.array([3, -1, 3])).tolist() == [0, 1, 2]
    assert not learner.uses_clusters and learner.min_target_k == 1
    learner.on_target_features({"encoder": _at(*ANGLES).numpy()})
    learner.on_target_features({"encoder": _at(90, 90, 90, 90, 90).numpy()})  # later extractions: memory kept
    emb = torch.cat([torch.randn(1, DIM, generator=torch.Generator().manual_seed(0)), _at(10.0, 60.0)])
    labels = Labels(ys=torch.tensor([0]), yt=torch.tensor([0, 2]), index_t=torch.tensor([0, 2]))
    terms = _terms(learner, emb, labels)
    assert set(terms) == {"ce_source", "tri_source", "mmcl_target"} and terms["mmcl_target"][1] == 1.0
    single = [5 * (1 - _cos(10, 0)) ** 2 + (1 + _cos(10, 30)) ** 2,
              5 * (1 - _cos(60, 50)) ** 2 + (1 + _cos(60, 55)) ** 2]
    assert terms["mmcl_target"][0] == pytest.approx(np.mean(single), rel=1e-5)

    learner.steps = 50
    pos0 = np.mean([(1 - _cos(10, a)) ** 2 for a in (0, 30, 50)])
    pos2 = np.mean([(1 - _cos(60, a)) ** 2 for a in (0, 30, 50, 55)])
    multi = [5 * pos0 + (1 + _cos(10, 55)) ** 2, 5 * pos2 + (1 + _cos(60, 180)) ** 2]
    assert _terms(learner, emb, labels)["mmcl_target"][0] == pytest.approx(np.mean(multi), rel=1e-5)

    before = learner.memories["encoder"].clone()
    learner.update({"encoder": emb}, labels)
    assert learner.steps == 51
    for row, new in ((0, 10.0), (2, 60.0)):
        mixed = 0.25 * before[row] + 0.75 * _at(new)[0]
        assert torch.allclose(learner.memories["encoder"][row], mixed / mixed.norm(), atol=1e-6)
    assert torch.equal(learner.memories["encoder"][[1, 3, 4]], before[[1, 3, 4]])


def test_jvtc_local_term_classifies_each_view_among_the_batch_images() -> None:
    """Views of image 1: (1, 0), (0, 1): weight (1, 1)/sqrt2. Views of image 3: (-1, 0), (-1, 0): weight (-1, 0).
    Classes in increasing image order (1, 3); temperature 1:
        (1, 0):  logits (1/sqrt2, -1) -> -log softmax[0]
        (0, 1):  logits (1/sqrt2,  0) -> -log softmax[0]
        (-1, 0): logits (-1/sqrt2, 1), twice -> -log softmax[1]"""
    r = 1 / math.sqrt(2)

    def ce(logits: list[float], target: int) -> float:
        return math.log(sum(math.exp(v) for v in logits)) - logits[target]

    expected = (ce([r, -1], 0) + ce([r, 0], 0) + 2 * ce([-r, 1], 1)) / 4
    feats = torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [-1.0, 0.0]])
    assert local_loss(feats, torch.tensor([1, 1, 3, 3]), 1.0).item() == pytest.approx(expected, rel=1e-6)
    # An image's weight is the mean of its raw views: (2, 0) and (0, 4) give (1, 2)/sqrt5, not (1, 1)/sqrt2.
    # With image 6 seen once at (-1, 0): rows (1, 0) -> (1/sqrt5, -1), (0, 1) -> (2/sqrt5, 0), (-1, 0) -> (-1/sqrt5, 1).
    q = 1 / math.sqrt(5)
    expected = (ce([q, -1], 0) + ce([2 * q, 0], 0) + ce([-q, 1], 1)) / 3
    feats = torch.tensor([[2.0, 0.0], [0.0, 4.0], [-1.0, 0.0]])
    assert local_loss(feats, torch.tensor([5, 5, 6]), 1.0).item() == pytest.approx(expected, rel=1e-6)


def test_jvtc_global_term_and_memory_update_match_hand_computed_cases() -> None:
    """Memory (1, 0), (0, 1), (-1, 0), (0, -1); pseudo-labels 0, 0, -1, 1: the outlier (image 2) is a class of its
    own (2), so classes are 0, 0, 2, 1 and image 1's label is 1/2 on images 0 and 1, image 3's is 1 on image 3.
    Temperature 0.05; a row's loss is logsumexp(logits) - sum(label * logits):
        image 1 seen as (1, 0):      logits (20, 0, -20, 0)          -> LSE - 10
        image 1 seen as (0, 1):      logits (0, 20, 0, -20)          -> LSE - 10
        image 3 seen as (0, -1):     logits (0, -20, 0, 20)          -> LSE - 20
        image 3 seen as (1, -1)/r2:  logits (14.14, -14.14, -14.14, 14.14) -> LSE - 14.14
    The weight is 0 before 10% of training, 0.2 after. The update at step 50 of 100 (momentum min(0.5, 0.8)):
    image 1's views (2, 0), (0, 2) average to (1, 1)/sqrt2, so M[1] = .5 (0, 1) + .5 (1, 1)/sqrt2, not
    renormalised; image 3's views (0, -3), (1, -1) average to (.5, -2)/|(.5, -2)|."""
    assert singleton_outliers(np.array([0, 0, -1, 1, -1])).tolist() == [0, 0, 2, 1, 3]
    cfg = Config()
    cfg.optim.iterations = 100
    learner = build_learner("jvtc", _small_model(), cfg, num_source_ids=3)
    memory = _plane((1, 0), (0, 1), (-1, 0), (0, -1))
    learner.on_target_features({"encoder": memory.numpy()})
    assert learner.classes.tolist() == [0, 1, 2, 3]  # before a clustering: each image a class of its own
    learner.on_clustering(ClusterRound(np.array([0, 0, -1, 1]), {"encoder": -memory.numpy()}, dict,
                                       np.zeros(1, dtype=int)))
    assert learner.classes.tolist() == [0, 0, 2, 1]

    def lse(v: list[float]) -> float:
        return math.log(sum(math.exp(x) for x in v))

    s = 20 / math.sqrt(2)
    expected = np.mean([lse([20, 0, -20, 0]) - 10, lse([0, 20, 0, -20]) - 10, lse([0, -20, 0, 20]) - 20,
                        lse([s, -s, -s, s]) - s])
    views = _plane((1, 0), (0, 1), (0, -1), (1 / math.sqrt(2), -1 / math.sqrt(2)))
    rows = torch.tensor([1, 1, 3, 3])
    assert global_loss(views, learner.memories["encoder"], learner.classes, rows, 0.05).item() == pytest.approx(
        expected, rel=1e-6)

    emb = torch.cat([torch.zeros(1, DIM), _plane((2, 0), (0, 2), (0, -3), (1, -1))])
    labels = Labels(ys=torch.tensor([0]), yt=rows, index_t=rows)
    terms = learner.branch_terms(Branch("encoder", emb, emb, 1), labels)
    assert [(n, w) for n, _, w in terms] == [("ce_source", 1.0), ("tri_source", 1.0), ("jvtc_local_target", 1.0),
                                             ("jvtc_global_target", 0.0)]
    learner.steps = 50
    assert learner.branch_terms(Branch("encoder", emb, emb, 1), labels)[-1][2] == 0.2
    before = learner.memories["encoder"].clone()
    learner.update({"encoder": emb}, labels)
    r = 1 / math.sqrt(2)
    m3 = torch.tensor([0.5, -2.0]) / math.hypot(0.5, 2.0)
    got = learner.memories["encoder"]
    assert torch.allclose(got[1, :2], torch.tensor([0.5 * r, 0.5 + 0.5 * r]), atol=1e-6)
    assert torch.allclose(got[3, :2], 0.5 * torch.tensor([0.0, -1.0]) + 0.5 * m3, atol=1e-6)
    assert torch.equal(got[[0, 2]], before[[0, 2]]) and learner.steps == 51


@pytest.mark.parametrize("name", ["mmcl", "jvtc"])
def test_state_round_trips_through_a_weights_only_checkpoint(name: str) -> None:
    cfg = Config()
    cfg.optim.iterations = 100
    learner = build_learner(name, _small_model(), cfg, num_source_ids=3)
    learner.on_target_features({"encoder": _at(*ANGLES).numpy()})
    learner.on_clustering(ClusterRound(np.array([0, 0, 1, 1, -1]), {"encoder": _at(*ANGLES).numpy()}, dict,
                                       np.zeros(1, dtype=int)))
    emb = torch.cat([torch.zeros(1, DIM), _at(10.0, 12.0, 60.0, 61.0)])
    labels = Labels(ys=torch.tensor([0]), yt=torch.tensor([0, 0, 2, 2]), index_t=torch.tensor([0, 0, 2, 2]))
    for _ in range(30):
        learner.update({"encoder": emb}, labels)
    buffer = io.BytesIO()
    torch.save(learner.state(), buffer)
    buffer.seek(0)
    fresh = build_learner(name, _small_model(), cfg, num_source_ids=3)
    fresh.load_state(torch.load(buffer, weights_only=True))
    assert fresh.steps == 30 and torch.equal(fresh.memories["encoder"], learner.memories["encoder"])
    if name == "jvtc":
        assert torch.equal(fresh.classes, learner.classes)
    key = f"{name}_target" if name == "mmcl" else "jvtc_global_target"
    assert _terms(fresh, emb, labels)[key] == _terms(learner, emb, labels)[key]


# Each learner's target batch: MMCL draws 8 distinct images (uniform over images), JVTC 4 images x 2 views.
TARGET_BATCH = {"mmcl": ("data.target_p=8", "data.target_k=1"), "jvtc": ()}


def _two_stages(root: Path, out: Path, learner: str) -> Config:
    """A tiny two-stage run of `X + RAE`: 3 source iterations, then 7 of adaptation (`full`: a memory per branch)."""
    return load_config("synthetic", tiny_overrides(root, out, "full", 7, "source.iterations=3",
                                                   f"learner.name={learner}", *TARGET_BATCH[learner],
                                                   "train.gap_picture=false", "train.checkpoint_every=1",
                                                   "train.iters_per_epoch=3"))


@pytest.mark.parametrize(("learner", "stage", "at"), [("mmcl", "adaptation", 4), ("jvtc", "adaptation", 4),
                                                      ("mmcl", "source", 2)])
def test_learner_trains_both_stages_and_resumes_exactly(tiny_bench: Path, tmp_path: Path, learner: str, stage: str,
                                                        at: int) -> None:
    """`X + RAE` from one command (the source stage, then adaptation), and the same run interrupted (in adaptation
    after 4 of its 7 steps, or in the source stage) and resumed, end with the same model, learner state,
    pseudo-labels and metrics. The interruption is a stop, not a shorter run: MPLP's start and the momentum follow
    the share of optim.iterations done."""
    runtime = setup_runtime("cpu")
    straight = train(_two_stages(tiny_bench, tmp_path / "a", learner), runtime)
    assert straight["learner"] == learner and straight["iterations"] == 7
    out = tmp_path / "b"
    stop_in = out / "source" if stage == "source" else out
    with pytest.raises(Interrupted):
        train_stages(_two_stages(tiny_bench, out, learner), runtime,
                     hooks=lambda cfg: [InterruptAt(at)] if Path(cfg.train.output) == stop_in else [])
    assert not (out / "model.pt").exists()
    resumed = train(_two_stages(tiny_bench, out, learner), runtime, resume=True)
    a, b = (load_checkpoint(tmp_path / d / "model.pt") for d in ("a", "b"))
    assert set(a["learner"]) >= {"steps", "memory.encoder", "memory.fused"} and int(a["learner"]["steps"]) == 7
    for part in ("model", "learner"):
        differ = [k for k in a[part] if not torch.equal(a[part][k], b[part][k])]
        assert not differ, f"{part}: {differ[:3]}"
    assert torch.equal(a["pseudo"]["labels"], b["pseudo"]["labels"])
    assert {k: v for k, v in resumed.items() if k != "seconds"} == {k: v for k, v in straight.items() if k != "seconds"}
    log = (tmp_path / "a" / "train.log").read_text()
    if learner == "mmcl":  # no clustering: every target image a class of its own
        assert torch.equal(a["pseudo"]["labels"], torch.arange(len(a["pseudo"]["labels"])))
        assert "each a class of its own (learner mmcl does not cluster)" in log and " clusters, " not in log
    else:
        assert " clusters, " in log and int(a["pseudo"]["labels"].max()) < 4  # k-means' 4 clusters


def test_target_batch_is_its_own_and_each_learner_names_its_least_views() -> None:
    """data.target_p / target_k (0 = the source's P / K) size the target batch; a learner refuses fewer views of a
    class than it needs (a target triplet needs a positive; JVTC's local term a second view), MMCL trains with one."""
    cfg = load_config("synthetic", ["data.p=16", "data.k=4"])
    assert cfg.data.target_batch == (16, 4)
    cfg = load_config("synthetic", ["data.target_p=72", "data.target_k=1", "learner.name=mmcl"])
    assert cfg.data.target_batch == (72, 1) and check_names(cfg) is cfg
    for learner in ("classifier", "memory", "hybrid", "jvtc"):
        with pytest.raises(ConfigError, match=f"learner.name={learner} needs at least 2 images") as err:
            check_names(load_config("synthetic", ["data.target_k=1", f"learner.name={learner}"]))
        assert "data.target_k" in err.value.fix


@pytest.mark.parametrize("learner", ["mmcl", "jvtc"])
def test_every_variant_with_a_target_trains_with_the_learner(tiny_bench: Path, tmp_path: Path, learner: str) -> None:
    """`X` (baseline), the Table IV rows between, and `X + RAE` (full): two adaptation steps each, the learner's
    terms logged for every trained descriptor (the fused one too once fusion is on)."""
    for variant in ("baseline", "ft", "pt", "ft+pt", "full"):
        out = tmp_path / variant
        cfg = load_config("synthetic", tiny_overrides(tiny_bench, out, variant, 2, f"learner.name={learner}",
                                                       *TARGET_BATCH[learner], "train.gap_picture=false"))
        result = train(cfg, setup_runtime("cpu"))
        assert (result["variant"], result["learner"], result["iterations"]) == (variant, learner, 2)
        tags = set(read_scalars(RunFolder(out).tensorboard))
        name = "loss/mmcl_" if learner == "mmcl" else "loss/jvtc_global_"
        assert f"{name}target" in tags and (f"{name}fused_target" in tags) == (variant == "full"), sorted(tags)
