"""Tiny runs and their report for the report tests, made once per test session.

`report_runs` trains direct, then full from it, through the `raereid train` command in this process
(so each run records its command.txt), on the tiny benchmark with a log line per iteration and two
reclusterings, so every curve group has something to draw. `report_page` writes their report once.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import pytest
from conftest import tiny_overrides

from raereid.cli.main import main


@dataclass(frozen=True)
class ReportRuns:
    data: Path
    direct: Path  # run folders
    full: Path


def train_cli(root: Path, out: Path, variant: str, iterations: int, *extra: str) -> Path:
    """A tiny run through `raereid train` (in this process), its resume state kept (the report tests copy it as an
    unfinished run); returns its folder."""
    sets = [arg for kv in tiny_overrides(root, out, variant, iterations, "train.iters_per_epoch=3",
                                         *extra) for arg in ("--set", kv)]
    assert main(["train", "--config", "synthetic", "--keep-last", *sets]) == 0
    return out


@functools.cache
def _train(bench: Path, base: Path) -> ReportRuns:
    direct = train_cli(bench, base / "report-runs" / "direct", "direct", 4)
    full = train_cli(bench, base / "report-runs" / "full", "full", 6, f"train.init={direct / 'model.pt'}")
    return ReportRuns(bench, direct, full)


@functools.cache
def _report(runs: ReportRuns, base: Path) -> Path:
    from raereid.report.build import write_report

    return write_report([runs.direct, runs.full], base / "report", topk=4, queries=3, extremes=2)


# Session fixtures (registered by conftest.py's pytest_plugins), cached by pytest's base temp folder: one training
# and one report for the whole session.
@pytest.fixture(scope="session")
def report_runs(tiny_bench: Path, tmp_path_factory: pytest.TempPathFactory) -> ReportRuns:
    return _train(tiny_bench, tmp_path_factory.getbasetemp())


@pytest.fixture(scope="session")
def report_page(report_runs: ReportRuns, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """OUT/index.html of the report of both runs (direct first), written once."""
    return _report(report_runs, tmp_path_factory.getbasetemp())


@dataclass
class Element:
    tag: str
    attrs: dict[str, str]
    text: str = ""
    children: list[Element] = field(default_factory=list)

    def classes(self) -> set[str]:
        return set(self.attrs.get("class", "").split())

    def find_all(self, tag: str | None = None, cls: str | None = None, **attrs: str) -> list[Element]:
        """Descendants (not self) matching a tag, a class and attribute values."""
        found = []
        for child in self.children:
            if (tag is None or child.tag == tag) and (cls is None or cls in child.classes()) and all(
                child.attrs.get(k.replace("_", "-")) == v for k, v in attrs.items()
            ):
                found.append(child)
            found.extend(child.find_all(tag, cls, **attrs))
        return found

    def all_text(self) -> str:
        return self.text + "".join(child.all_text() for child in self.children)


VOID = {"img", "meta", "br", "input", "link", "hr"}


class _TreeBuilder(HTMLParser):
    """A small DOM from html.parser: elements with attributes, text and children."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Element("document", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, {k: v or "" for k, v in attrs})
        self.stack[-1].children.append(element)
        if tag not in VOID:
            self.stack.append(element)

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID:
            return
        while len(self.stack) > 1:
            closed = self.stack.pop()
            if closed.tag == tag:
                return

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(Element("#text", {}, data))


def parse_page(path: Path) -> Element:
    """The page as a tree of Elements."""
    builder = _TreeBuilder()
    builder.feed(path.read_text(encoding="utf-8"))
    builder.close()
    return builder.root
