"""The resolved config on disk and on the command line: OUTPUT/config.yaml (round trip to bit-identical weights),
--print-config, `raereid config`, --set KEY VALUE, --config-file, "did you mean", and keys a command does not use."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import yaml
from conftest import tiny_overrides

from raereid.cli.main import main
from raereid.config import config_to_dict, load_config
from raereid.config.keys import key_table, schema_comments
from raereid.config.schema import flat_values
from raereid.engine.checkpoint import load_checkpoint
from raereid.engine.run_folder import RunFolder
from raereid.errors import ConfigError


def _sets(*overrides: str) -> list[str]:
    return [a for kv in overrides for a in ("--set", kv)]


@pytest.fixture
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_config_yaml_trains_again_to_bit_identical_weights(tiny_bench, tmp_path, capsys, one_thread):
    first, second = RunFolder(tmp_path / "first"), RunFolder(tmp_path / "second")
    assert main(["train", "--config", "synthetic", *_sets(*tiny_overrides(tiny_bench, first.path, "full", 4))]) == 0
    written = yaml.safe_load(first.config.read_text())
    assert written["optim"]["iterations"] == 4 and written["train"]["output"] == str(first.path)
    assert flat_values(written).keys() == flat_values(load_config()).keys()  # every key, nothing else
    err = capsys.readouterr().err
    assert f"config: {first.config}" in err and "--set optim.iterations=4" in err and "preset synthetic: " in err

    assert main(["train", "--config", str(first.config), "--out", str(second.path)]) == 0
    saved = [load_checkpoint(run.model) for run in (first, second)]
    assert saved[0]["model"].keys() == saved[1]["model"].keys()
    assert all(torch.equal(saved[0]["model"][k], saved[1]["model"][k]) for k in saved[0]["model"])
    configs = [s["config"] for s in saved]
    configs[1]["train"]["output"] = configs[0]["train"]["output"]
    assert configs[0] == configs[1]
    assert yaml.safe_load(second.config.read_text())["train"]["output"] == str(second.path)


def test_print_config_prints_yaml_that_loads_back_and_reads_no_data(tmp_path, capsys):
    argv = ["train", "--config", "synthetic", "--data-root", str(tmp_path / "absent"), "--out", str(tmp_path / "run"),
            "--device", "cpu", "--set", "optim.iterations", "7", "--print-config"]
    assert main(argv) == 0
    text = capsys.readouterr().out
    (tmp_path / "c.yaml").write_text(text)
    cfg = load_config(str(tmp_path / "c.yaml"))
    assert (cfg.optim.iterations, cfg.train.device, cfg.data.root) == (7, "cpu", str(tmp_path / "absent"))
    expected = load_config("synthetic", ["optim.iterations=7", "train.device=cpu", f"data.root={tmp_path / 'absent'}",
                                         f"train.output={tmp_path / 'run'}"])
    assert config_to_dict(cfg) == config_to_dict(expected)
    assert not (tmp_path / "run").exists()

    argv = ["translate", "--config", "translate-synthetic", "--set", "translate.iterations=3", "--print-config"]
    assert main(argv) == 0
    assert yaml.safe_load(capsys.readouterr().out)["translate"]["iterations"] == 3


def test_set_takes_key_value_pairs_and_config_file_is_an_alias(capsys):
    assert main(["config", "--show", "synthetic", "--set", "optim.iterations", "5", "train.seed=2",
                 "--set", "loss.margin", "-1.5", "--set", "data.root", "a=b"]) == 2  # margin < 0 refused, by value
    assert "loss.margin=-1.5 is invalid" in capsys.readouterr().err
    assert main(["config", "--show", "synthetic", "--set", "optim.iterations", "5", "train.seed=2",
                 "--set", "data.root", "a=b"]) == 0
    shown = yaml.safe_load(capsys.readouterr().out)
    assert (shown["optim"]["iterations"], shown["train"]["seed"], shown["data"]["root"]) == (5, 2, "a=b")
    with pytest.raises(SystemExit):  # a key without a value: the sub-command's usage, not the top level's
        main(["config", "--show", "synthetic", "--set", "optim.iterations"])
    assert "usage: raereid config" in capsys.readouterr().err


@pytest.mark.parametrize(("override", "suggestion"), [
    ("optim.iteration=5", "did you mean optim.iterations?"),
    ("train.iterations=5", "did you mean translate.iterations or optim.iterations or source.iterations?"),
    ("optimizer.iterations=5", "unknown config section 'optimizer' (did you mean optim?)"),
    ("iterations=5",
     "must be section.key (did you mean optim.iterations or source.iterations or translate.iterations?)"),
])
def test_unknown_keys_and_sections_get_a_did_you_mean(override, suggestion):
    with pytest.raises(ConfigError) as info:
        load_config("synthetic", [override])
    assert suggestion in info.value.message()


def test_a_key_the_command_does_not_use_is_refused(tmp_path, capsys):
    assert main(["translate", "--out", str(tmp_path / "t"), "--set", "optim.iterations=20"]) == 2
    err = capsys.readouterr().err
    assert "raereid translate does not use optim.iterations" in err and "did you mean translate.iterations?" in err
    assert "reads data.root, data.source, data.target, train.seed, train.device, translate.*" in err
    assert main(["train", "--config", "synthetic", "--set", "translate.iterations=20", "--print-config"]) == 2
    assert "raereid train does not use translate.iterations" in capsys.readouterr().err
    assert main(["demo", "--out", str(tmp_path / "d"), "--set", "translate.lr=0.1"]) == 2
    assert "raereid demo does not use translate.lr" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())  # refused before anything was written


def test_config_list_shows_every_key_with_default_rule_and_meaning(capsys):
    rows = key_table()
    assert [r.key for r in rows] == list(flat_values(load_config()))
    assert all(r.meaning and r.rule for r in rows), [r.key for r in rows if not (r.meaning and r.rule)]
    assert len(schema_comments()) == len(rows)  # every field of schema.py carries its meaning as a comment
    assert main(["config", "--list"]) == 0
    text = capsys.readouterr().out
    assert ("optim.iterations = 20000\n"
            "    training iterations (batches of the source and the target) [an integer >= 1]") in text
    assert main(["config", "--list", "learner"]) == 0
    listed = [line.split(" = ")[0] for line in capsys.readouterr().out.splitlines() if " = " in line]
    assert listed == ["learner.name", "learner.temperature", "learner.memory_momentum", "learner.hybrid_momentum",
                      "learner.mplp_threshold", "learner.mplp_min_candidates", "learner.mplp_start",
                      "learner.mmcl_delta", "learner.mmcl_hard_ratio", "learner.mmcl_momentum",
                      "learner.jvtc_local_temperature", "learner.jvtc_global_temperature", "learner.jvtc_global_weight",
                      "learner.jvtc_global_start", "learner.jvtc_momentum_max"]
    assert main(["config", "--list", "momentum"]) == 0
    listed = {line.split(" = ")[0] for line in capsys.readouterr().out.splitlines()}
    assert {"optim.momentum", "learner.memory_momentum"} <= listed
    assert main(["config", "--list", "no-such-word"]) == 2


def test_list_presets_one_line_each_grouped_by_command(capsys):
    assert main(["train", "--list-presets"]) == 0
    train = capsys.readouterr().out
    assert train.startswith("raereid train --config PRESET:") and "translate-paper" not in train
    assert "  duke2market          The paper's setting DukeMTMC-reID -> Market-1501, with the paper's recipe\n" in train
    assert main(["config", "--list-presets"]) == 0
    both = capsys.readouterr().out
    assert "\n\nraereid translate --config PRESET:\n  translate-paper      raereid translate at paper scale\n" in both
    assert main(["translate", "--list-presets"]) == 0
    names = [line.split()[0] for line in capsys.readouterr().out.splitlines()[1:]]
    assert names == ["translate-paper", "translate-synthetic"]


def test_translator_writes_its_config_and_translate_says_when_it_is_paper_scale(tiny_bench, tmp_path, capsys):
    out = tmp_path / "t"
    argv = ["translate", "--config", "translate-synthetic", "--data-root", str(tiny_bench), "--out", str(out),
            *_sets("translate.iterations=2", "translate.batch_size=2", "translate.sample_images=2")]
    assert main(argv) == 0
    written = yaml.safe_load((out / "translator" / "config.yaml").read_text())
    assert written["translate"]["iterations"] == 2 and written["data"]["root"] == str(tiny_bench)
    assert "--set translate.iterations=2" in capsys.readouterr().err
    assert main(["translate", "--data-root", str(tmp_path / "none"), "--out", str(tmp_path / "u")]) == 2
    assert "no --config, so the paper-scale defaults: 80,000 iterations at 256x128" in capsys.readouterr().err


def test_errors_name_the_flag_that_set_the_value(tmp_path, capsys):
    (tmp_path / "afile").write_text("x")
    assert main(["train", "--config", "synthetic", "--out", str(tmp_path / "afile")]) == 2
    assert "train.output (from --out " in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert main(["datasets", "--data-root", str(tmp_path / "empty")]) == 2
    assert "no dataset and no images" in capsys.readouterr().err
    assert Path(tmp_path / "afile").read_text() == "x"


def test_a_moved_run_folder_evaluates_and_trains_again_from_its_config_yaml(tiny_bench, tmp_path, monkeypatch, capsys,
                                                                           one_thread):
    """A two-stage run trained with relative paths (`--data-root DATA --out runs/x`), then moved to another folder:
    `raereid evaluate --checkpoint` finds its data from anywhere (config.yaml and the checkpoints hold absolute
    paths), and `--config MOVED/config.yaml` trains both stages again into a new folder of its own, to the same
    weights. With train.init set, the log says the source stage was skipped."""
    import shutil

    (tmp_path / "work").mkdir()
    shutil.copytree(tiny_bench, tmp_path / "work" / "DATA")
    monkeypatch.chdir(tmp_path / "work")
    sets = [kv for kv in tiny_overrides(Path("DATA"), Path("runs/x"), "full", 2, "source.iterations=2")
            if not kv.startswith(("data.root=", "train.output="))]
    assert main(["train", "--config", "synthetic", "--data-root", "DATA", "--out", "runs/x", *_sets(*sets)]) == 0
    written = yaml.safe_load(Path("runs/x/config.yaml").read_text())
    assert written["data"]["root"] == str(tmp_path / "work" / "DATA") and written["train"]["init"] == ""
    assert written["train"]["output"] == str(tmp_path / "work" / "runs" / "x")
    shutil.move("runs/x", tmp_path / "moved")
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    capsys.readouterr()
    assert main(["evaluate", "--checkpoint", str(tmp_path / "moved" / "model.pt"), "--device", "cpu"]) == 0
    assert "market1501" in capsys.readouterr().out
    assert main(["train", "--config", str(tmp_path / "moved" / "config.yaml"), "--out", "again"]) == 0
    again = tmp_path / "elsewhere" / "again"
    assert (again / "source" / "model.pt").is_file()  # both stages trained again: the new folder stands alone
    for name in ("source/model.pt", "model.pt"):
        first, second = (load_checkpoint(folder / name)["model"] for folder in (tmp_path / "moved", again))
        assert all(torch.equal(first[k], second[k]) for k in first), name
    assert str(tmp_path / "moved" / "source") not in (again / "train.log").read_text()  # nothing read from there
    source = str(again / "source" / "model.pt")
    assert main(["train", "--config", str(again / "config.yaml"), "--out", "from-init", *_sets(f"train.init={source}")
                 ]) == 0
    assert f"source stage skipped: train.init is set ({source})" in Path("from-init/train.log").read_text()
    assert not Path("from-init/source").exists()
