"""Plugins: a user's module, imported with `raereid --import` or the `custom_imports` config key, registers a
learner and a label generator that `raereid train` then uses; the checkpoint imports it again when loaded."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import one_thread_env, tiny_overrides

from raereid.cli.main import main
from raereid.config import load_config
from raereid.engine.checkpoint import load_checkpoint, save_checkpoint
from raereid.errors import ConfigError

PLUGIN = '''
"""A learner and a label generator from outside the package."""
import numpy as np

from raereid.clustering import register_label_generator
from raereid.learners import register_learner
from raereid.learners.classifier import ClassifierLearner

CALLS = {"learner": 0, "labels": 0}


@register_learner("plugin_classifier")
class PluginLearner(ClassifierLearner):
    def branch_terms(self, branch, labels):
        CALLS["learner"] += 1
        return super().branch_terms(branch, labels)


@register_label_generator("plugin_round_robin")
class RoundRobin:
    def __init__(self, num_clusters: int = 4):
        self.num_clusters = num_clusters

    def __call__(self, features):
        CALLS["labels"] += 1
        return np.arange(len(features)) % self.num_clusters
'''


def _write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(textwrap.dedent(text))
    return path


def _evaluate(checkpoint: Path) -> subprocess.CompletedProcess:
    """`raereid evaluate` in a new process, which has not imported the plugin: only the checkpoint can ask for it."""
    argv = [sys.executable, "-m", "raereid", "evaluate", "--checkpoint", str(checkpoint), "--device", "cpu"]
    return subprocess.run(argv, capture_output=True, text=True, env=one_thread_env(), cwd=checkpoint.parent)


def test_a_plugin_file_trains_through_raereid_train_and_its_checkpoint_imports_it_again(tiny_bench, tmp_path, capsys):
    plugin = _write(tmp_path / "elsewhere", "my_reid_plugin.py", PLUGIN)
    out = tmp_path / "run"
    sets = tiny_overrides(tiny_bench, out, "baseline", 2, "learner.name=plugin_classifier",
                          "cluster.method=plugin_round_robin", "train.gap_picture=false")
    argv = ["--import", str(plugin), "train", "--config", "synthetic", *[a for kv in sets for a in ("--set", kv)]]
    assert main(argv) == 0
    module = sys.modules["my_reid_plugin"]
    assert module.CALLS["labels"] >= 1 and module.CALLS["learner"] >= 2  # its code made the labels and the losses
    saved = load_checkpoint(out / "model.pt")["config"]
    assert saved["custom_imports"]["imports"] == [str(plugin.resolve())]
    assert (saved["learner"]["name"], saved["cluster"]["method"]) == ("plugin_classifier", "plugin_round_robin")
    assert "--import" in (out / "command.txt").read_text()

    done = _evaluate(out / "model.pt")
    assert done.returncode == 0, done.stderr
    assert "mAP" in done.stdout
    state = load_checkpoint(out / "model.pt")  # the same run, its plugin moved away since
    state["config"]["custom_imports"]["imports"] = [str(tmp_path / "moved" / "my_reid_plugin.py")]
    moved = save_checkpoint(state, tmp_path / "moved.pt")
    assert main(["evaluate", "--checkpoint", str(moved), "--device", "cpu"]) == 2
    err = capsys.readouterr().err
    assert "plugin file not found (custom_imports.imports)" in err, err
    assert f"where: {tmp_path / 'moved' / 'my_reid_plugin.py'} (from {moved})" in err, err


def test_custom_imports_in_a_yaml_config_by_module_name(tmp_path, monkeypatch):
    _write(tmp_path, "yaml_plugin.py", PLUGIN.replace("plugin_classifier", "yaml_learner")
           .replace("plugin_round_robin", "yaml_labels"))
    config = _write(tmp_path, "mine.yaml", """
        base: synthetic
        custom_imports: [yaml_plugin]
        learner:
          name: yaml_learner
        cluster:
          method: yaml_labels
    """)
    monkeypatch.chdir(tmp_path)  # a module in the current folder is found, as with `python -m`
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", str(tmp_path))])
    cfg = load_config(str(config), ["custom_imports.imports=yaml_plugin"])  # named twice: imported once
    assert cfg.custom_imports.imports == ["yaml_plugin"] and cfg.learner.name == "yaml_learner"
    assert load_config(str(config)).cluster.method == "yaml_labels"


def test_a_failing_plugin_is_a_clear_error_naming_the_module_and_the_fix(tmp_path, capsys, monkeypatch):
    broken = _write(tmp_path, "broken_plugin.py", "raise RuntimeError('half-written plugin')\n")
    _write(tmp_path, "needs_missing.py", "import raereid_no_such_dependency\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    cases = [
        ([str(broken)], "plugin module", "failed to import: RuntimeError: half-written plugin"),
        (["needs_missing"], "plugin module 'needs_missing'", "No module named 'raereid_no_such_dependency'"),
        (["raereid_no_such_plugin"], "cannot import plugin module 'raereid_no_such_plugin'", "PYTHONPATH"),
        ([str(tmp_path / "absent.py")], "plugin file not found", str(tmp_path / "absent.py")),
        (["not a module"], "is neither a module name", "--import not a module"),
    ]
    for given, what, detail in cases:
        argv = [a for g in given for a in ("--import", g)]
        assert main(["datasets", *argv, "--data-root", str(tmp_path)]) == 2, given
        err = capsys.readouterr().err
        assert what in err and detail in err and "fix:" in err and "Traceback" not in err, err
    assert "broken_plugin" not in sys.modules
    with pytest.raises(ConfigError, match="custom_imports.imports") as info:
        load_config("synthetic", ["custom_imports.imports=raereid_no_such_plugin"])
    assert info.value.where == "--set custom_imports.imports=raereid_no_such_plugin"
