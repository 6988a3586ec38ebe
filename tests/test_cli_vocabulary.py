"""One CLI vocabulary: every sub-command's parser (cli/main.py COMMANDS) spells the shared flags the same way, has
no second spelling of any, and shows each flag's default in its help."""

from __future__ import annotations

import argparse
import re
import subprocess
import sys

import pytest

from raereid.cli.common import SetAction
from raereid.cli.main import COMMANDS, build_parser

OLD = ("--output", "--root", "--data", "--queries", "--config-file")  # spellings of the unreleased 0.1.0: gone
# The shared flags each command must have: where it writes, where the datasets are, where a model runs.
OUT = {"synth", "train", "translate", "demo", "extract", "rank", "reconstruct", "export", "index", "gap", "report",
       "table"}
DATA_ROOT = {"datasets", "train", "translate", "demo", "evaluate", "extract", "rank", "reconstruct", "gap", "report"}
DEVICE = {"train", "translate", "evaluate", "extract", "rank", "reconstruct", "index", "search", "gap", "report"}
CONFIG = {"train", "translate"}  # --config, --print-config
SET = {"train", "translate", "demo", "config"}  # --set KEY=VALUE or --set KEY VALUE
LIST_PRESETS = {"train", "translate", "config"}


def _subparsers() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    (sub,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(sub.choices)


def test_every_command_is_walked():
    assert set(_subparsers()) == set(COMMANDS)


@pytest.mark.parametrize("name", list(COMMANDS))
def test_shared_flags_are_spelled_alike(name):
    parser = _subparsers()[name]
    formatter = parser._get_formatter()
    text = parser.format_usage() + " ".join(formatter._format_action_invocation(a) for a in parser._actions)
    flags = {s for a in parser._actions for s in a.option_strings}
    shown = set(re.findall(r"(?<![\w-])--[a-z][a-z-]*", text))  # in the usage and the list of options
    for old in OLD:
        assert old not in flags, f"raereid {name} still accepts {old}"
    assert all(len([s for s in a.option_strings if s.startswith("--")]) <= 1 for a in parser._actions), \
        f"raereid {name}: a flag with two long spellings"
    for flag, commands in (("--out", OUT), ("--data-root", DATA_ROOT), ("--device", DEVICE)):
        assert (flag in flags) == (name in commands), f"raereid {name}: {flag}"
        assert (flag in shown) == (name in commands)
    for flag, commands in (("--config", CONFIG), ("--print-config", CONFIG), ("--set", SET),
                           ("--list-presets", LIST_PRESETS)):
        assert (flag in flags) == (name in commands), f"raereid {name}: {flag}"
    assert all(isinstance(a, SetAction) for a in parser._actions if "--set" in a.option_strings)
    for flag in ("--debug", "--import"):
        assert flag in flags


@pytest.mark.parametrize("name", list(COMMANDS))
def test_every_flag_shows_its_default(name):
    parser = _subparsers()[name]
    formatter = parser._get_formatter()
    for action in parser._actions:
        default = action.default
        if action.help == argparse.SUPPRESS or default is None or default is False or default == [] \
                or default == argparse.SUPPRESS or not action.option_strings:
            continue
        help_text = formatter._expand_help(action)
        assert "default" in help_text and str(default) in help_text, (name, action.option_strings, help_text)


def test_top_level_help_has_the_workflow_and_the_demo_as_it_is(capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--help"])
    text = capsys.readouterr().out
    steps = [text.index(f"raereid {cmd} ") for cmd in ("datasets", "train", "evaluate", "rank", "export")]
    assert "the workflow on your data" in text and steps == sorted(steps)
    demo = COMMANDS["demo"][1]
    assert "source stage" in demo and "full RAE" in demo and "report" in demo
    assert "source stage, then adaptation" in COMMANDS["train"][1]


def test_import_works_on_the_top_level_and_on_every_subparser():
    parser = build_parser()
    assert parser.parse_args(["--import", "a", "config", "--list"]).imports == ["a"]
    for name in COMMANDS:
        dests = {a.dest for a in _subparsers()[name]._actions}
        assert "sub_imports" in dests, name


def test_the_parser_imports_no_torch():
    """cli/main.py imports every command module statically: each keeps its heavy imports inside run(), so that
    `raereid --help` stays fast."""
    code = ("import sys; from raereid.cli.main import build_parser; build_parser(); "
            "assert 'torch' not in sys.modules, 'torch was imported'")
    subprocess.run([sys.executable, "-c", code], check=True)
