"""The docs stay true to the repository: no machine's absolute paths in the shipped text, every relative link of
README.md, docs/*.md and benchmarks/tables/README.md leads to a file (and heading) that exists, every
`raereid COMMAND --flag` written in a code block of those files names a real subcommand and flags its parser
accepts, the README stays a front page that opens with the two commands, and docs/README.md links every page."""

from __future__ import annotations

import argparse
import re
import shlex
import unicodedata
from pathlib import Path

import pytest
from markdown_commands import FENCE, command_lines, section

from raereid.cli.main import build_parser

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), ROOT / "benchmarks" / "tables" / "README.md"]
TEXT_SUFFIXES = {".py", ".md", ".yaml", ".yml", ".txt", ".toml", ".sh", ".css", ".js", ".json", ".cfg", ".ini"}
# A path of one machine: /work/..., /home/..., /tmp/..., /Users/... (not inside a URL or a longer path).
MACHINE_PATH = re.compile(r"(?<![\w.~/-])/(?:work|home|tmp|Users|root)/")
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")


def shipped_text_files() -> list[Path]:
    """README.md, docs/*.md and the text files of src/, benchmarks/ and scripts/."""
    files = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    for folder in ("src", "benchmarks", "scripts"):
        files += [p for p in sorted((ROOT / folder).rglob("*")) if p.is_file() and p.suffix in TEXT_SUFFIXES
                  and "__pycache__" not in p.parts]
    return files


def test_no_absolute_machine_paths() -> None:
    found = [f"{p.relative_to(ROOT)}:{i}: {line.strip()}" for p in shipped_text_files()
             for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1) if MACHINE_PATH.search(line)]
    assert not found, "machine paths (write DATA, runs/..., or tempfile.gettempdir()):\n" + "\n".join(found)


def heading_anchors(markdown: str) -> set[str]:
    """GitHub's anchors of a file's headings: lower case, punctuation dropped, spaces to '-', -1, -2 for repeats."""
    text = FENCE.sub("", markdown)
    anchors: set[str] = set()
    for heading in re.findall(r"^#{1,6}\s+(.+?)\s*#*\s*$", text, flags=re.M):
        kept = "".join(c for c in heading.lower()
                       if c in " -_" or unicodedata.category(c)[0] in "LMN")
        slug, n = kept.replace(" ", "-"), 1
        while slug in anchors:
            slug, n = f"{kept.replace(' ', '-')}-{n}", n + 1
        anchors.add(slug)
    return anchors


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_lead_to_existing_files_and_headings(doc: Path) -> None:
    text = doc.read_text(encoding="utf-8")
    broken = []
    for target in LINK.findall(FENCE.sub("", text)):
        if re.match(r"[a-z][a-z0-9+.-]*:", target):  # http:, https:, mailto:
            continue
        path, _, anchor = target.partition("#")
        file = (doc.parent / path).resolve() if path else doc
        if not file.exists():
            broken.append(f"{target}: no file {path}")
        elif anchor and file.suffix == ".md" and anchor not in heading_anchors(file.read_text(encoding="utf-8")):
            broken.append(f"{target}: no heading #{anchor} in {file.relative_to(ROOT)}")
    assert not broken, f"{doc.relative_to(ROOT)}: broken links:\n" + "\n".join(broken)


def subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def check_command(line: str, parser: argparse.ArgumentParser,
                  commands: dict[str, argparse.ArgumentParser]) -> list[str]:
    """What is wrong with one `raereid ...` line: an unknown subcommand, or flags its parser does not know."""
    words = shlex.split(line.replace("[", " ").replace("]", " ").replace("|", " "))[1:]
    global_flags = {s for a in parser._actions for s in a.option_strings}
    while words and words[0].startswith("-"):
        flag = words.pop(0)
        if flag not in global_flags:
            return [f"{line}: unknown option {flag} before the command"]
        if flag == "--import" and words:
            words.pop(0)
    if not words or words[0] == "...":
        return []
    name, args = words[0], words[1:]
    if name not in commands:
        return [f"{line}: no subcommand {name!r} (known: {', '.join(commands)})"]
    known = {s for a in commands[name]._actions for s in a.option_strings}
    return [f"{line}: `raereid {name}` has no option {w.split('=')[0]}" for w in args
            if w.startswith("--") and w.split("=")[0] not in known]


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_documented_commands_use_real_subcommands_and_flags(doc: Path) -> None:
    parser = build_parser()
    commands = subparsers(parser)
    problems = [p for line in command_lines(doc.read_text(encoding="utf-8"))
                for p in check_command(line, parser, commands)]
    assert not problems, "\n".join(problems)


def test_the_readme_is_a_front_page_that_starts_with_the_two_commands() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    first_block = FENCE.search(readme)
    assert first_block and readme[:first_block.start()].strip() == "# raereid", "the README must open with the commands"
    commands = [line.split("#")[0].strip() for line in first_block.group(1).splitlines()]
    assert commands == ["bash scripts/demo.sh", "bash scripts/test.sh"], commands
    lines = len(readme.splitlines())
    assert lines <= 200, f"README.md has {lines} lines: it is the front page, the manual is docs/ (docs/README.md)"


def test_the_docs_index_links_every_page() -> None:
    index = (ROOT / "docs" / "README.md").read_text(encoding="utf-8")
    linked = {(ROOT / "docs" / target.partition("#")[0]).resolve() for target in LINK.findall(index)}
    pages = [p for p in sorted((ROOT / "docs").glob("*.md")) if p.name != "README.md"]
    missing = [p.name for p in pages if p.resolve() not in linked]
    assert not missing, f"docs/README.md (the index) does not link {missing}: add one line for each"


def test_the_readme_quick_start_is_the_five_steps_with_real_flags() -> None:
    lines = command_lines(section((ROOT / "README.md").read_text(encoding="utf-8"), "Quick start on real data"))
    steps = [line.split()[1] for line in lines]
    assert steps[:5] == ["datasets", "train", "evaluate", "report", "export"], steps
    assert {"rank", "index", "search"} <= set(steps), steps
    train = next(line for line in lines if line.split()[1] == "train")
    assert "--config duke2market" in train and "--data-root" in train, train
    parser = build_parser()
    for line in lines:  # each command parses as argparse would read it, placeholders and all
        argv = shlex.split(line)[1:]
        parser.parse_args(argv)


def test_the_checker_catches_what_it_should() -> None:
    parser = build_parser()
    commands = subparsers(parser)
    assert check_command("raereid train --config x --no-such-flag", parser, commands)
    assert check_command("raereid trian --config x", parser, commands)
    assert not check_command("raereid --import plugin.py train --config x --set a=b [--resume]", parser, commands)
    assert command_lines("```\n$ OMP_NUM_THREADS=1 raereid rank \\\n    --out x\nraereid rank: error: y\n```\n") == [
        "raereid rank      --out x"]
    assert command_lines("```\nraereid synth --out D && raereid datasets --data-root D\n```\n") == [
        "raereid synth --out D", "raereid datasets --data-root D"]
    assert MACHINE_PATH.search("see /tmp/x") and not MACHINE_PATH.search("https://host/home/x runs/tmp/x")
    assert {"what-to-expect", "pre-pixel-transfer-raereid-translate", "a-b-1", "a-b"} <= heading_anchors(
        "## What to expect\n### Pre-pixel transfer: `raereid translate`\n## A b\n## A b\n")
