"""Config presets, YAML files and command-line overrides."""

from __future__ import annotations

from pathlib import Path

import pytest

from raereid.cli.train import add_arguments, overrides_from_args
from raereid.config import config_from_dict, config_to_dict, list_presets, load_config
from raereid.config.variants import VARIANTS, get_variant, variant_names
from raereid.errors import ConfigError


def test_defaults_are_the_papers() -> None:
    cfg = load_config()
    assert (cfg.data.height, cfg.data.width, cfg.data.p, cfg.data.k) == (256, 128, 18, 4)
    assert (cfg.optim.lr_encoder, cfg.optim.lr_other, cfg.optim.momentum, cfg.optim.weight_decay) == (0.05, 0.5, 0.9,
                                                                                                      5e-5)
    assert (cfg.optim.iterations, cfg.optim.lr_step, cfg.optim.lr_gamma) == (20000, 8000, 0.1)
    assert (cfg.loss.lambda_tri, cfg.loss.lambda_gan_feat, cfg.loss.lambda_gan_pix) == (1.0, 10.0, 10.0)
    assert (cfg.model.backbone, cfg.model.last_stride, cfg.model.dropout) == ("resnet50", 1, 0.5)


@pytest.mark.parametrize("preset", ["duke2market", "market2duke", "market2msmt", "duke2msmt"])
def test_paper_presets(preset: str) -> None:
    assert preset in list_presets()
    cfg = load_config(preset)
    src, tgt = preset.split("2")
    assert cfg.data.source.startswith(src) and cfg.data.target.startswith(tgt)
    assert cfg.optim.iterations == 20000 and cfg.train.variant == "full"


def test_overrides_are_typed() -> None:
    cfg = load_config("duke2market", ["optim.iterations=500", "loss.margin=0.5", "model.flip_test=true",
                                      "model.decoder_channels=64,32", "cluster.eps=auto", "cluster.k1=20"])
    assert cfg.optim.iterations == 500 and cfg.loss.margin == 0.5 and cfg.model.flip_test is True
    assert cfg.model.decoder_channels == [64, 32] and cfg.cluster.eps == "auto" and cfg.cluster.k1 == 20
    assert load_config(None, ["cluster.eps=0.5"]).cluster.eps == 0.5


@pytest.mark.parametrize(
    "override, message",
    [
        ("optim.iteratons=5", "unknown config key 'optim.iteratons'"),
        ("nosection.x=1", "unknown config section 'nosection'"),
        ("optim.iterations=many", "expected an integer"),
        ("optim.iterations=1.5", "expected an integer"),
        ("model.flip_test=maybe", "expected true or false"),
        ("loss.margin=wide", "expected a number"),
        ("iterations=5", "must be section.key"),
        ("optim.iterations", "is not key=value"),
    ],
)
def test_bad_overrides(override: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_config(None, [override])


def test_unknown_preset_and_bad_yaml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown preset 'nope'") as info:
        load_config("nope")
    assert "duke2market" in info.value.fix
    bad = tmp_path / "bad.yaml"
    bad.write_text("optim:\n  iterations: [1\n")
    with pytest.raises(ConfigError, match="invalid YAML"):
        load_config(str(bad))
    wrong = tmp_path / "wrong.yaml"
    wrong.write_text("optim:\n  iterations: ten\n")
    with pytest.raises(ConfigError, match="expected an integer") as info:
        load_config(str(wrong))
    assert str(wrong) in info.value.where


def test_yaml_file_then_overrides(tmp_path: Path) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text("train:\n  variant: baseline\noptim:\n  iterations: 100\n")
    cfg = load_config(str(path), ["optim.iterations=7"])
    assert cfg.train.variant == "baseline" and cfg.optim.iterations == 7


def test_round_trip_through_dict() -> None:
    cfg = load_config("market2duke", ["optim.iterations=3"])
    assert config_from_dict(config_to_dict(cfg)) == cfg


def test_cli_flags_become_overrides_and_set_wins() -> None:
    import argparse

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(["--config", "duke2market", "--data-root", "/d", "--variant", "ft", "--seed", "3",
                              "--set", "train.seed=4"])
    cfg = load_config(args.config, overrides_from_args(args))
    assert cfg.data.root == "/d" and cfg.train.variant == "ft" and cfg.train.seed == 4


def test_variants() -> None:
    assert list(VARIANTS) == ["direct", "baseline", "ft", "pt", "ft+pt", "full", "ft+prept+f"]
    full = get_variant("full")
    assert full.use_target and full.feature_transfer and full.pixel_transfer and full.fusion
    assert not get_variant("direct").use_target
    with pytest.raises(ConfigError, match="unknown variant 'fancy'"):
        get_variant("fancy")
    import argparse

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    assert " | ".join(VARIANTS) in " ".join(parser.format_help().split())  # the help lists the registry
    assert variant_names(has_decoder=True) == "pt, ft+pt, full, ft+prept+f"


def test_resuming_with_a_changed_learner_key_is_refused(tmp_path: Path) -> None:
    from raereid.adapt.resume import RESUMABLE_CHANGES
    from raereid.engine.checkpoint import check_resumable

    saved = config_to_dict(load_config("synthetic", ["learner.name=memory", "learner.memory_momentum=0.3"]))
    check_resumable(load_config("synthetic", ["learner.name=memory", "learner.memory_momentum=0.3",
                                              "optim.iterations=9"]), saved, tmp_path / "last.pt",
                    RESUMABLE_CHANGES.__contains__)
    with pytest.raises(ConfigError, match="learner.memory_momentum: 0.3 -> 0.5"):
        changed = load_config("synthetic", ["learner.name=memory", "learner.memory_momentum=0.5"])
        check_resumable(changed, saved, tmp_path / "last.pt", RESUMABLE_CHANGES.__contains__)


def test_old_learner_key_spellings_are_unknown_keys() -> None:
    """cluster.learner and its siblings became learner.* before any release: the old spelling is an unknown key."""
    with pytest.raises(ConfigError, match="unknown config key 'cluster.learner'"):
        load_config("synthetic", ["cluster.learner=memory"])


def test_color_jitter_is_off_by_default_and_validated() -> None:
    from raereid.data.transforms import train_transform

    assert load_config("duke2market").data.color_jitter == [0.0, 0.0, 0.0, 0.0]
    plain = [type(t).__name__ for t in train_transform(64, 32).transforms]
    assert "ColorJitter" not in plain
    cfg = load_config(None, ["data.color_jitter=0.4,0.4,0.4,0.1"])
    jitter = [t for t in train_transform(64, 32, color_jitter=tuple(cfg.data.color_jitter)).transforms
              if type(t).__name__ == "ColorJitter"]
    assert len(jitter) == 1 and jitter[0].hue == (-0.1, 0.1) and jitter[0].brightness == (0.6, 1.4)
    for bad in [(0.4, 0.4, 0.4), (0.4, -0.1, 0.4, 0.1), (0.4, 0.4, 0.4, 0.7)]:
        with pytest.raises(ConfigError, match="data.color_jitter"):
            train_transform(64, 32, color_jitter=bad)


def test_clustered_feature_is_checked() -> None:
    from raereid.adapt.pseudo import make_label_generator

    # the paper clusters the encoder's features ("represented by features by encoder Enc")
    assert load_config("synthetic").cluster.feature == "encoder" and load_config().cluster.feature == "encoder"
    make_label_generator(load_config(None, ["cluster.feature=final"]).cluster)
    with pytest.raises(ConfigError, match="cluster.feature"):
        make_label_generator(load_config(None, ["cluster.feature=fused"]).cluster)


def test_presets_build_on_a_base(tmp_path: Path) -> None:
    """`base: NAME` applies another preset (or a file beside this one) first; the learner presets use it."""
    paper, memory = load_config("market2duke"), load_config("market2duke-memory")
    assert memory.learner.name == "memory" and paper.learner.name == "classifier"
    assert (memory.data.source, memory.optim.iterations, memory.optim.lr_encoder) == (paper.data.source,
                                                                                      paper.optim.iterations, 0.05)
    hybrid = load_config("duke2msmt-hybrid")
    assert hybrid.learner.name == "hybrid" and hybrid.model.dsbn and hybrid.data.target == "msmt17"
    (tmp_path / "mine.yaml").write_text("base: other.yaml\noptim:\n  iterations: 7\n")
    (tmp_path / "other.yaml").write_text("base: synthetic\noptim:\n  iterations: 5\n  lr_step: 3\n")
    mine = load_config(str(tmp_path / "mine.yaml"), ["optim.lr_step=2"])
    assert (mine.optim.iterations, mine.optim.lr_step, mine.model.backbone) == (7, 2, "convnet_small")
    (tmp_path / "loop.yaml").write_text("base: loop.yaml\n")
    with pytest.raises(ConfigError, match="in a loop"):
        load_config(str(tmp_path / "loop.yaml"))
    (tmp_path / "bad.yaml").write_text("base: [1]\n")
    with pytest.raises(ConfigError, match="base must be a preset name"):
        load_config(str(tmp_path / "bad.yaml"))


def test_the_clean_image_is_the_one_before_random_erasing() -> None:
    """Dec reconstructs the image before erasing; without erasing the image is its own clean copy."""
    import torch
    from PIL import Image

    from raereid.data.transforms import train_transform

    image = Image.new("RGB", (32, 64), (200, 120, 40))
    torch.manual_seed(0)
    erased, clean = train_transform(64, 32, pad=0, erasing=1.0)(image)
    assert erased.shape == clean.shape == (3, 64, 32) and not torch.equal(erased, clean)
    assert torch.equal(erased[erased != 0], clean[erased != 0])  # only the erased box differs
    assert isinstance(train_transform(64, 32, pad=0, erasing=0.0)(image), torch.Tensor)
