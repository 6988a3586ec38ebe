"""docs/development.md's learner and backbone examples, run as written: imported as a plugin file, they train through
both stages of `raereid train` (the source stage calls the learner with `labels.yt = None`); and an exception in a
plugin is reported with the plugin's file and line, exit code 2, not as a bug of raereid."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest
from conftest import tiny_overrides
from markdown_commands import section

from raereid.cli.main import main

DOC = Path(__file__).resolve().parents[1] / "docs" / "development.md"


def examples() -> dict[str, str]:
    """The python blocks of the "Adding a learner, a backbone, ..." section, by what they register."""
    text = section(DOC.read_text(encoding="utf-8"), "Adding a learner")
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    return {kind: next(b for b in blocks if f"@register_{kind}(" in b) for kind in ("learner", "backbone")}


def _train(tmp_path: Path, plugin: Path, *extra: str) -> list[str]:
    sets = tiny_overrides(tmp_path / "data", tmp_path / "run", "full", 2, "source.iterations=2",
                          "train.gap_picture=false", *extra)
    return ["--import", str(plugin), "train", "--config", "synthetic", *[a for kv in sets for a in ("--set", kv)]]


def test_the_learner_and_backbone_examples_train_through_both_stages(tiny_bench, tmp_path, capsys) -> None:
    (tmp_path / "data").symlink_to(tiny_bench)
    blocks = examples()
    plugin = tmp_path / "my_plugins.py"
    plugin.write_text(blocks["backbone"] + "\n\n" + blocks["learner"])
    code = main(_train(tmp_path, plugin, "model.backbone=my_net", "learner.name=mine"))
    err = capsys.readouterr().err
    assert code == 0, err
    source = [line for line in err.splitlines() if line.startswith("[raereid] source ")]
    adapt = [line for line in err.splitlines() if line.startswith("[raereid] adapt ")]
    assert source and "ce_source" in source[-1] and "tri_source" in source[-1], source  # the source identity terms
    assert adapt and "my_target" in adapt[-1] and "my_fused_target" in adapt[-1], adapt  # the learner's own terms
    log = (tmp_path / "run" / "train.log").read_text()
    assert "learner mine" in log and "model.backbone=my_net" in log


BROKEN = '''
from raereid.learners import Learner, register_learner


@register_learner("broken")
class Broken(Learner):
    def branch_terms(self, branch, labels):
        return [("x", labels.yt.unsqueeze(0).float().sum(), 1.0)]   # labels.yt is None in the source stage
'''


def test_an_error_inside_a_plugin_names_the_plugin_file_and_line(tiny_bench, tmp_path, capsys) -> None:
    (tmp_path / "data").symlink_to(tiny_bench)
    plugin = tmp_path / "broken_learner.py"
    plugin.write_text(textwrap.dedent(BROKEN))
    assert main(_train(tmp_path, plugin, "learner.name=broken")) == 2
    err = capsys.readouterr().err
    line = next(i for i, text in enumerate(plugin.read_text().splitlines(), 1) if "labels.yt.unsqueeze" in text)
    assert "error in a plugin: AttributeError: 'NoneType' object has no attribute 'unsqueeze'" in err, err
    assert f"where: {plugin}, line {line}, in branch_terms" in err and "bug in raereid" not in err, err


@pytest.mark.parametrize("kind", ["learner", "backbone"])
def test_the_examples_are_complete_code(kind: str) -> None:
    """No `...` placeholders: the blocks are what a user copies."""
    assert "..." not in examples()[kind]
