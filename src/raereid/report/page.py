"""The report's HTML: one static page with its results table, curves and pictures sections, assembled with the
ranked lists (`ranked_section`) and the runs (`runs_section`); standard library only.

The style and the script (sorting, query filter) are package data (`report/static/report.css`, `report.js`),
inlined into the page.

Every picture is a file next to the page referenced by a relative path, so the folder opens from
disk anywhere, with no server and no network.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

from raereid.report.curves import CurveFigure
from raereid.report.label_free_section import label_free_section
from raereid.report.markup import e, run_anchor, swatch
from raereid.report.pictures import Picture
from raereid.report.ranked_section import TargetRanking, ranked_section
from raereid.report.runs import Run
from raereid.report.runs_section import runs_section

# (heading, metrics.json key; "a.b" = key b of the object a): the target's test scores, its validation mAP, and the
# PSNR (dB) of source and target reconstructions Dec(Enc(I)) for runs with a decoder.
COLUMNS = (("R1", "rank1"), ("R5", "rank5"), ("R10", "rank10"), ("mAP", "mAP"), ("mINP", "mINP"),
           ("val mAP", "val.mAP"), ("PSNR s", "psnr_source"), ("PSNR t", "psnr_target"))


STATIC = files("raereid.report").joinpath("static")  # package data: the page's style and script, inlined
CSS = STATIC.joinpath("report.css").read_text(encoding="utf-8")
SCRIPT = STATIC.joinpath("report.js").read_text(encoding="utf-8")


@dataclass
class Report:
    """Everything the page shows."""

    runs: list[Run]
    colours: dict[str, str]
    curves: list[CurveFigure]
    rankings: list[TargetRanking]
    pictures: dict[str, list[Picture]]
    notes: dict[str, list[str]]  # run -> what the page cannot show and why (beyond Run.notes)
    topk: int
    created: str
    version: str
    mixed_targets: str | None = None


def _number(value: float | None, template: str) -> str:
    """A table cell sorted by the exact value and shown through `template` (a dash when missing)."""
    if value is None:
        return '<td data-value="">&ndash;</td>'
    return f'<td data-value="{value}">{template.format(value)}</td>'


def _paper_row(run: Run) -> str:
    """The paper's row a run stands for, under its learner's name (empty when it stands for none)."""
    row = run.paper_row
    return f'<br><span class="note">paper: {e(row)}</span>' if row else ""


def _table(report: Report) -> str:
    heads = ['<th class="text">run</th>', '<th class="text">variant</th>', '<th class="text">learner</th>',
             '<th class="text">source &rarr; target</th>']
    heads += [f'<th data-first="descending">{name}</th>' for name, _ in COLUMNS]
    heads += ['<th data-first="descending">iters</th>', '<th>time</th>']
    rows = []
    for run in report.runs:
        m = run.metrics
        cells = [
            f'<td class="text">{swatch(report.colours[run.name])}<a href="#{run_anchor(run)}">{e(run.name)}</a></td>',
            f'<td class="text">{e(run.variant)}</td>',
            f'<td class="text">{e(run.learner)}{_paper_row(run)}</td>',
            f'<td class="text">{e(run.source or "?")} &rarr; {e(run.target or "?")}</td>',
            *(_number(m.value(key) if m else None, "{:.1f}") for _, key in COLUMNS),
            _number(m.iterations if m and m.iterations is not None else run.iteration, "{}"),
            _number(m.seconds if m else None, "{:.0f}s"),
        ]
        rows.append(f'<tr class="{"" if run.scored else "incomplete"}">{"".join(cells)}</tr>')
    notes = [f"<li><b>{e(run.name)}</b>: {e(run.notes[0])}</li>" for run in report.runs if not run.scored and run.notes]
    return (
        '<section id="results"><h2>Results</h2>'
        '<p class="note">Target query/gallery in percent (R1/R5/R10: rank-k accuracy), from each run\'s '
        "metrics.json, as <code>raereid demo</code> prints them; the mAP on the target's validation split; the PSNR "
        "(dB) of the source's and the target's test images reconstructed by Dec(Enc(I)); iterations and training "
        "time. Click a column to sort.</p>"
        f'<table id="results-table" class="sortable"><thead><tr>{"".join(heads)}</tr></thead>'
        f'<tbody>{"".join(rows)}</tbody></table>'
        + (f'<ul class="note">{"".join(notes)}</ul>' if notes else "")
        + "</section>"
    )


def _curves(report: Report, rel: Callable[[Path], str]) -> str:
    parts = ['<section id="curves"><h2>Training curves</h2>']
    if report.curves:
        parts.append('<p class="note">From each run\'s TensorBoard log (tensorboard/), one line per run; long noisy '
                     "curves are drawn faint with a smoothed line over them. Values logged only once (eval/ of a run "
                     "evaluated only at its end) are in the table, not drawn.</p>")
    figures = "".join(f'<figure id="curves-{e(fig.key)}"><figcaption><b>{e(fig.title)}</b></figcaption>'
                      f'<img src="{e(rel(fig.file))}" alt="{e(fig.title)}"></figure>' for fig in report.curves)
    parts.append(f'<div class="pictures">{figures}</div>')
    logged = {run for fig in report.curves for run in fig.runs}
    missing = [run.name for run in report.runs if run.name not in logged]
    if missing:
        parts.append(f'<p class="note">No TensorBoard scalars in: {e(", ".join(missing))}.</p>')
    return "".join(parts) + "</section>"


def _pictures(report: Report, rel: Callable[[Path], str]) -> str:
    cards = []
    for run in report.runs:
        pictures, notes = report.pictures.get(run.name, []), report.notes.get(run.name, [])
        if not pictures and not notes:
            continue
        figures = "".join(f'<figure><img src="{e(rel(p.file))}" alt="{e(run.name)}: {e(p.title)}">'
                          f"<figcaption><b>{e(p.title)}.</b> {e(p.caption)}</figcaption></figure>" for p in pictures)
        remarks = "".join(f'<p class="note">{e(n)}</p>' for n in notes)
        cards.append(f'<div class="card"><h3>{swatch(report.colours[run.name])}{e(run.name)}</h3>{remarks}'
                     f'<div class="pictures">{figures}</div></div>')
    body = "".join(cards) or '<p class="note">No run has a domain-gap picture or a model with a decoder.</p>'
    return f'<section id="pictures"><h2>Pictures</h2><div class="pictures">{body}</div></section>'


def render(report: Report, base: Path, thumb: Callable[[str], str]) -> str:
    """The whole page; file paths are written relative to `base` (the page's folder), dataset images through `thumb`."""

    def rel(path: Path) -> str:
        return Path(path).resolve().relative_to(base.resolve()).as_posix()

    names = ", ".join(run.name for run in report.runs)
    pairs = sorted({f"{run.source or '?'} → {run.target or '?'}" for run in report.runs})
    meta = (f"{len(report.runs)} run{'s' if len(report.runs) != 1 else ''} · {' · '.join(pairs)} · "
            f"written {report.created} by raereid {report.version}")
    banner = ('<div class="banner" id="mixed-targets"><b>These runs were evaluated on different targets</b> '
              f"({e(report.mixed_targets)}): compare scores only between runs of the same target.</div>"
              ) if report.mixed_targets else ""
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>raereid report: {e(names)}</title><style>{CSS}</style></head><body>"
        f'<header><h1>raereid report: {e(names)}</h1><p class="meta">{e(meta)}</p>'
        '<nav><a href="#results">Results</a><a href="#label-free">Label-free</a><a href="#curves">Training curves</a>'
        '<a href="#pictures">Pictures</a>'
        '<a href="#ranked">Ranked lists</a><a href="#runs">Runs, commands and configs</a></nav></header>'
        + banner
        + _table(report)
        + label_free_section(report.runs, report.colours)
        + _curves(report, rel)
        + _pictures(report, rel)
        + ranked_section(report.rankings, report.colours, report.topk, thumb)
        + runs_section(report.runs, report.colours)
        + f"<script>{SCRIPT}</script></body></html>\n"
    )
