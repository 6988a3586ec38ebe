"""The `raereid ...` commands written in markdown (README.md, docs/): read by test_docs.py, which checks their flags,
and by test_quickstart.py, which runs them."""

from __future__ import annotations

import re

FENCE = re.compile(r"^```[^\n]*\n(.*?)^```", re.M | re.S)
INLINE = re.compile(r"`([^`]+)`")  # an inline code span; it may wrap over a line break


def command_lines(markdown: str) -> list[str]:
    """The `raereid ...` commands in the code blocks of a markdown text: continuation lines joined, commands chained
    with && or ; apart, prompts (`$ `) and environment assignments (`OMP_NUM_THREADS=1 `) removed; output lines
    such as `raereid train: error` are not commands."""
    commands = []
    for block in FENCE.findall(markdown):
        for line in block.replace("\\\n", " ").splitlines():
            for part in re.split(r"\s*(?:&&|\|\||;)\s*", line.split(" #")[0]):  # commands chained by the shell
                part = re.sub(r"^\s*(\$\s+)?(\w+=\S+\s+)*", "", part)
                words = part.split()
                if len(words) >= 2 and words[0] == "raereid" and not words[1].endswith(":"):
                    commands.append(part)
    return commands


def section(markdown: str, heading: str) -> str:
    """The text of the `## ` section whose heading starts with `heading`, up to the next `## ` heading."""
    found = re.search(rf"^## {re.escape(heading)}.*?(?=^## |\Z)", markdown, flags=re.M | re.S)
    assert found, f"no '## {heading}' section"
    return found.group(0)


def commands_in_order(markdown: str) -> list[str]:
    """Every `raereid ...` command of a markdown text in reading order: those of the code blocks (`command_lines`)
    and the inline ones of the prose between them (whitespace collapsed)."""
    def inline(prose: str) -> list[str]:  # `raereid COMMAND ...` spans, not `raereid.FeatureExtractor`
        return [" ".join(span.split()) for span in INLINE.findall(prose) if re.match(r"raereid\s+[a-z]", span)]

    commands, start = [], 0
    for fence in FENCE.finditer(markdown):
        commands += inline(markdown[start:fence.start()]) + command_lines(fence.group(0))
        start = fence.end()
    return commands + inline(markdown[start:])
