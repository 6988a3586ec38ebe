"""Every config key has a range rule, and every rule refuses its bad values with the key, the value,
where it came from and the fix (exit code 2 through `raereid train`, before any work).

A new key in `config/schema.py` makes `test_every_key_has_a_rule` fail until it has a line in
`RULES` (src/raereid/config/validation.py).
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from raereid.adapt.checks import REGISTRIES, check_names, name_rules
from raereid.cli.main import main
from raereid.config import config_from_dict, config_to_dict, list_presets, load_config
from raereid.config.schema import Config
from raereid.config.validation import RULES, flat_values, missing_rules, origin
from raereid.errors import ConfigError

BAD_CASES = [(key, bad) for key, rule in RULES.items() for bad in rule.bad]


def test_every_key_has_a_rule() -> None:
    missing = missing_rules()
    assert not missing, (
        f"config key(s) without a validation rule: {', '.join(missing)}. Add one line per key to RULES in "
        "src/raereid/config/validation.py, e.g. \"learner.name\": choice(\"classifier\", \"memory\", \"hybrid\"), "
        "or \"learner.temperature\": positive(\"softmax temperature\"); the rule's bad values are then tested here."
    )
    stale = sorted(set(RULES) - set(flat_values(Config())))
    assert not stale, f"RULES has rules for keys that are not in schema.py: {', '.join(stale)}; remove them"


@pytest.mark.parametrize("key", sorted(RULES))
def test_every_rule_has_bad_values_and_accepts_the_default(key: str) -> None:
    rule = RULES[key]
    assert rule.bad, f"the rule of {key} lists no bad value, so nothing tests it: give it at least one"
    assert rule.ok(flat_values(Config())[key]), f"the default of {key} breaks its own rule ({rule.expected})"


@pytest.mark.parametrize("preset", list_presets())
def test_shipped_presets_pass(preset: str) -> None:
    load_config(preset)


@pytest.mark.parametrize("key, bad", BAD_CASES, ids=[f"{k}={b}" for k, b in BAD_CASES])
def test_bad_value_exits_2_naming_the_key(key: str, bad: str, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """Through the command line, as a user types it; a value no check caught would fail here on the missing
    data root instead, without naming the key."""
    out = tmp_path / "out"
    argv = ["train", "--config", "synthetic", "--data-root", str(tmp_path / "no-data"), "--out", str(out),
            "--set", f"{key}={bad}"]
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2, err
    assert key in err and "where:" in err and "Traceback" not in err, err
    assert not out.exists()


def test_message_names_value_origin_and_fix(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_config("duke2market", ["optim.iterations=-5"])
    assert "optim.iterations=-5 is invalid: expected an integer >= 1" in info.value.what
    assert info.value.where == "--set optim.iterations=-5"
    assert "optim.iterations=20000" in info.value.fix
    yaml = tmp_path / "mine.yaml"
    yaml.write_text("data:\n  flip: 1.5\n")
    with pytest.raises(ConfigError, match=r"data.flip=1.5 is invalid: expected a number in \[0, 1\]") as info:
        load_config(str(yaml))
    assert info.value.where == str(yaml)
    saved = config_to_dict(load_config("synthetic"))
    saved["cluster"]["eps"] = 2.0
    with pytest.raises(ConfigError, match="cluster.eps=2.0") as info:
        config_from_dict(saved, where="runs/x/model.pt")
    assert info.value.where == "runs/x/model.pt"


def test_flags_are_named_as_typed(capsys: pytest.CaptureFixture, tmp_path: Path) -> None:
    assert main(["train", "--config", "synthetic", "--seed", "-1", "--out", str(tmp_path / "o")]) == 2
    assert "where: --seed -1" in capsys.readouterr().err


def test_cross_rule_names_both_keys_and_origins() -> None:
    with pytest.raises(ConfigError, match="convnet_small has no ImageNet weights") as info:
        check_names(load_config("duke2market", ["model.backbone=convnet_small"]))
    assert info.value.where == ("model.backbone from --set model.backbone=convnet_small; "
                                "model.pretrained from preset duke2market")
    with pytest.raises(ConfigError, match="no ImageNet weights") as info:
        check_names(load_config("market2duke", ["model.backbone=convnet_small"]))
    assert info.value.where.endswith("model.pretrained from preset market2duke (from duke2market)")
    check_names(load_config("duke2market", ["model.backbone=convnet_small", "model.pretrained=none"]))


def test_registry_names_are_checked_after_loading_by_the_names_stage() -> None:
    """config imports none of the packages it configures: load_config takes any backbone, learner or label generator
    name, and check_names (run by every command right after loading, and by the trainer) refuses an unknown one,
    with the message of any other rule."""
    names = {key for key, rule in RULES.items() if rule.stage == "names"}
    assert names == set(REGISTRIES) == {"model.backbone", "cluster.method", "learner.name"}
    cfg = load_config("synthetic", ["learner.name=nope"])
    with pytest.raises(ConfigError, match="unknown learner 'nope' for learner.name: expected one of the registered "
                                          "learners: ") as info:
        check_names(cfg)
    listed = str(info.value).split("registered learners: ")[1].split(" (")[0].split(", ")
    assert {"classifier", "hybrid", "jvtc", "memory", "mmcl"} <= set(listed) and listed == sorted(listed)
    assert info.value.where == "--set learner.name=nope"
    for key, rule in name_rules().items():
        assert rule.ok(flat_values(Config())[key]) and not any(map(rule.ok, rule.bad)), key


def test_origins_are_recorded() -> None:
    cfg = load_config("synthetic", ["optim.iterations=7", ("train.output=/tmp/x", "--out /tmp/x")])
    assert origin(cfg, "optim.iterations") == "--set optim.iterations=7"
    assert origin(cfg, "train.output") == "--out /tmp/x"
    assert origin(cfg, "model.backbone") == "preset synthetic"
    assert origin(cfg, "data.flip") == "preset synthetic (from duke2market)"  # synthetic builds on the paper preset
    assert origin(load_config("market2duke"), "train.amp") == "preset market2duke (from duke2market)"
    assert origin(cfg, "train.seed").startswith("default")


def test_values_that_look_odd_but_are_meant() -> None:
    """0 learning rates freeze a part, eps=auto is the rho rule, any input size works (shapes tested in test_models)."""
    cfg = load_config("synthetic", ["optim.lr_encoder=0", "cluster.eps=auto", "data.height=63", "data.width=31",
                                    "model.discriminator_channels=8,16", "train.variant=FULL"])
    assert cfg.optim.lr_encoder == 0 and cfg.cluster.eps == "auto"


NUMERIC = sorted(k for k, v in flat_values(Config()).items() if isinstance(v, (int, float)) and not isinstance(v, bool))


@settings(max_examples=300, deadline=None)
@given(key=st.sampled_from(NUMERIC),
       value=st.one_of(st.integers(-10**6, 10**6), st.floats(allow_nan=True, allow_infinity=True)))
def test_load_config_accepts_exactly_what_the_rule_accepts(key: str, value: float) -> None:
    """Any number on the command line: either a ConfigError naming the key, or a config whose value obeys
    the key's rule; never another exception."""
    text = repr(value) if isinstance(value, float) else str(value)
    try:
        cfg = load_config(None, [f"{key}={text}"])
    except ConfigError as exc:
        assert key in exc.what
        return
    stored = flat_values(cfg)[key]
    assert RULES[key].ok(stored)
    assert not (isinstance(stored, float) and not math.isfinite(stored))
