"""The report's HTML: one static page, standard library only, CSS and JavaScript inline (sorting, query filter).

The style and the script are package data (`report/static/report.css`, `report.js`), inlined into the page.

Every picture is a file next to the page referenced by a relative path, so the folder opens from
disk anywhere, with no server and no network.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path

import yaml

from raereid.report.curves import CurveFigure
from raereid.report.pictures import Picture
from raereid.report.ranked import SHEETS
from raereid.report.runs import Run
from raereid.tools.ranking import RankedQuery

# (heading, metrics.json key; "a.b" = key b of the object a): the target's test scores, its validation mAP, and the
# PSNR (dB) of source and target reconstructions Dec(Enc(I)) for runs with a decoder.
COLUMNS = (("R1", "rank1"), ("R5", "rank5"), ("R10", "rank10"), ("mAP", "mAP"), ("mINP", "mINP"), ("val mAP", "val.mAP"),
           ("PSNR s", "psnr_source"), ("PSNR t", "psnr_target"))


def _metric(metrics: dict, key: str) -> float | None:
    """The value at `key` ("a.b" looks into the object a), or None."""
    for part in key.split("."):
        metrics = metrics.get(part) if isinstance(metrics, dict) else None
    return metrics

STATIC = files("raereid.report").joinpath("static")  # package data: the page's style and script, inlined
CSS = STATIC.joinpath("report.css").read_text(encoding="utf-8")
SCRIPT = STATIC.joinpath("report.js").read_text(encoding="utf-8")


@dataclass
class TargetRanking:
    """Ranked lists of the runs evaluated on one target (or why there are none)."""

    title: str
    runs: list[str]
    lists: dict[str, dict[str, list[RankedQuery]]] = field(default_factory=dict)  # run -> sheet -> queries
    note: str | None = None


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


e = html.escape


def _link(run: Run) -> str:
    return f"run-{''.join(c if c.isalnum() else '-' for c in run.name)}"


def _swatch(colour: str) -> str:
    return f'<span class="swatch" style="background:{e(colour)}"></span>'


def _camera(camid: int) -> str:
    """Cameras as the file names write them (c1 is camera id 0)."""
    return f"c{camid + 1}" if camid >= 0 else "c?"


def _number(value: float | None, template: str) -> str:
    """A table cell sorted by the exact value and shown through `template` (a dash when missing)."""
    if value is None:
        return '<td data-value="">&ndash;</td>'
    return f'<td data-value="{value}">{template.format(value)}</td>'


def _table(report: Report) -> str:
    heads = ['<th class="text">run</th>', '<th class="text">variant</th>', '<th class="text">learner</th>',
             '<th class="text">source &rarr; target</th>']
    heads += [f'<th data-first="descending">{name}</th>' for name, _ in COLUMNS]
    heads += ['<th data-first="descending">iters</th>', '<th>time</th>']
    rows = []
    for run in report.runs:
        m = run.metrics or {}
        cells = [
            f'<td class="text">{_swatch(report.colours[run.name])}<a href="#{_link(run)}">{e(run.name)}</a></td>',
            f'<td class="text">{e(run.variant)}</td>',
            f'<td class="text">{e(run.learner)}</td>',
            f'<td class="text">{e(run.source or "?")} &rarr; {e(run.target or "?")}</td>',
            *(_number(_metric(m, key), "{:.1f}") for _, key in COLUMNS),
            _number(m.get("iterations", run.iteration), "{}"),
            _number(m.get("seconds"), "{:.0f}s"),
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


def _cell(src: str, css: str, caption: str, tip: str) -> str:
    return (f'<figure class="cell {css}" title="{e(tip)}"><img src="{e(src)}" alt="{e(tip)}" width="64" height="128">'
            f"<figcaption>{caption}</figcaption></figure>")


def _result_cells(row: RankedQuery, thumb: Callable[[str], str]) -> str:
    out = []
    hits = row.correct or [None] * len(row.results)
    for rank, (record, sim, hit) in enumerate(zip(row.results, row.similarity, hits), 1):
        css = "" if hit is None else ("hit" if hit else "miss")
        verdict = "" if hit is None else (" same person" if hit else " another person")
        tip = (f"rank {rank}: id {record.pid} {_camera(record.camid)},{verdict}, similarity {sim:.4f} "
               f"({Path(record.path).name})")
        out.append(_cell(thumb(record.path), css, f"{sim:.3f}", tip))
    return "".join(out)


def _query_cell(row: RankedQuery, thumb: Callable[[str], str]) -> str:
    q = row.query
    return _cell(thumb(q.path), "q", f"id {q.pid} {_camera(q.camid)}",
                 f"query: id {q.pid} {_camera(q.camid)} ({Path(q.path).name})")


def _score(row: RankedQuery) -> str:
    first = "" if row.first_match is None else f"first true match: rank {row.first_match + 1}"
    return f"AP {row.ap:.2f}<br>{first}" if row.ap is not None else first


def _query_block(row: RankedQuery, lists: list[tuple[str, str, RankedQuery]], thumb: Callable[[str], str]) -> str:
    """A query (blue) with one ranked list per (label, colour, ranking) next to it."""
    rlists = "".join(
        f'<div class="rlist"><div class="label"><b>{_swatch(colour)}{e(label)}</b>{_score(ranked)}</div>'
        f"{_result_cells(ranked, thumb)}</div>"
        for label, colour, ranked in lists
    )
    q = row.query
    return (f'<div class="query" data-pid="{q.pid}" data-cam="{_camera(q.camid)}">{_query_cell(row, thumb)}'
            f'<div class="rows">{rlists}</div></div>')


def _ranking(target: TargetRanking, report: Report, thumb: Callable[[str], str]) -> str:
    parts = [f"<h3>{e(target.title)}</h3>"]
    if target.note:
        parts.append(f'<p class="note warn">{e(target.note)}</p>')
    ranked = [run for run in target.runs if run in target.lists]
    if not ranked:
        return "".join(parts)
    parts.append(f"<h4>{e(SHEETS['chosen'])}</h4>")
    first = target.lists[ranked[0]]["chosen"]
    for i, row in enumerate(first):
        lists = [(run, report.colours[run], target.lists[run]["chosen"][i]) for run in ranked]
        parts.append(_query_block(row, lists, thumb))
    for run in ranked:
        parts.append(f"<details open><summary>{_swatch(report.colours[run])}<b>{e(run)}</b>: "
                     "best and worst queries</summary>")
        for sheet in ("best", "worst"):
            parts.append(f"<h4>{e(SHEETS[sheet])}</h4>")
            parts.extend(_query_block(row, [(run, report.colours[run], row)], thumb)
                         for row in target.lists[run][sheet])
        parts.append("</details>")
    return "".join(parts)


def _rankings(report: Report, thumb: Callable[[str], str]) -> str:
    cams = sorted({row.query.camid for t in report.rankings for lists in t.lists.values()
                   for rows in lists.values() for row in rows})
    options = "".join(f'<option value="{_camera(c)}">{_camera(c)}</option>' for c in cams)
    return (
        '<section id="ranked"><h2>Ranked lists</h2>'
        f'<p class="note">Each query (blue border) and its top-{report.topk} gallery images: '
        '<span style="color:rgb(0,170,0)">green</span> '
        'the same person, <span style="color:rgb(220,0,0)">red</span> another person; the number is the cosine '
        "similarity. As in the evaluator, gallery images of the query's person taken by the query's camera, and junk "
        "images, are skipped, so a green first image is a rank-1 hit in the table above. Hover an image for its id, "
        "camera and file.</p>"
        '<div class="filter">Filter queries: <label>person id '
        '<input id="filter-pid" type="search" inputmode="numeric" placeholder="e.g. 790"></label> '
        f'<label>camera <select id="filter-cam"><option value="">any</option>{options}</select></label> '
        '<span id="filter-count" class="note"></span></div>'
        + "".join(_ranking(t, report, thumb) for t in report.rankings)
        + ("" if report.rankings else '<p class="note">No run has a known target.</p>')
        + "</section>"
    )


def _pictures(report: Report, rel: Callable[[Path], str]) -> str:
    cards = []
    for run in report.runs:
        pictures, notes = report.pictures.get(run.name, []), report.notes.get(run.name, [])
        if not pictures and not notes:
            continue
        figures = "".join(f'<figure><img src="{e(rel(p.file))}" alt="{e(run.name)}: {e(p.title)}">'
                          f"<figcaption><b>{e(p.title)}.</b> {e(p.caption)}</figcaption></figure>" for p in pictures)
        remarks = "".join(f'<p class="note">{e(n)}</p>' for n in notes)
        cards.append(f'<div class="card"><h3>{_swatch(report.colours[run.name])}{e(run.name)}</h3>{remarks}'
                     f'<div class="pictures">{figures}</div></div>')
    body = "".join(cards) or '<p class="note">No run has a domain-gap picture or a model with a decoder.</p>'
    return f'<section id="pictures"><h2>Pictures</h2><div class="pictures">{body}</div></section>'


def _flat(config: dict) -> dict[str, object]:
    return {f"{s}.{k}": v for s, values in config.items() for k, v in values.items()}


def _config_differences(runs: list[Run]) -> str:
    configured = [r for r in runs if r.config]
    if len(configured) < 2:
        return ""
    flat = [_flat(r.config) for r in configured]
    keys = [k for k in flat[0] if any(f.get(k) != flat[0].get(k) for f in flat[1:])]
    keys += [k for f in flat[1:] for k in f if k not in flat[0] and k not in keys]
    if not keys:
        return '<p class="note">The runs have the same config.</p>'
    head = "".join(f'<th class="text">{e(r.name)}</th>' for r in configured)
    body = ""
    for key in keys:
        cells = "".join(f'<td class="text">{e(str(f[key]) or "(empty)") if key in f else "&ndash;"}</td>' for f in flat)
        body += f'<tr><td class="text"><code>{e(key)}</code></td>{cells}</tr>'
    return ('<h3>Config keys that differ between runs</h3><table id="config-differences"><thead><tr>'
            f'<th class="text">key</th>{head}</tr></thead><tbody>{body}</tbody></table>')


def _run(run: Run, report: Report) -> str:
    command = (f"<pre>{e(run.command)}</pre>" if run.command
               else '<span class="note">not recorded (command.txt is missing: the run predates it)</span>')
    rows = [
        ("folder", f"<code>{e(str(run.path))}</code>"),
        ("variant", e(run.variant)),
        ("learner", e(run.learner)),
        ("checkpoint",
         f"<code>{e(str(run.checkpoint))}</code> (iteration {run.iteration})" if run.checkpoint else "none"),
        ("command", command),
    ]
    if run.notes:
        rows.append(("notes", "<br>".join(e(n) for n in run.notes)))
    if run.warnings:
        shown = "".join(f"<li>{e(w)}</li>" for w in run.warnings[:20])
        more = f"<li>... and {len(run.warnings) - 20} more in train.log</li>" if len(run.warnings) > 20 else ""
        rows.append(("warnings", f'<ul class="warn">{shown}{more}</ul>'))
    config = (f"<details><summary>config (from {e(run.checkpoint.name)})</summary>"
              f"<pre>{e(yaml.safe_dump(run.config, sort_keys=False))}</pre></details>"
              if run.config and run.checkpoint else '<p class="note">config: not available (no checkpoint)</p>')
    items = "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in rows)
    return (f'<article id="{_link(run)}"><h3>{_swatch(report.colours[run.name])}{e(run.name)}</h3>'
            f"<dl>{items}</dl>{config}</article>")


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
        '<nav><a href="#results">Results</a><a href="#curves">Training curves</a><a href="#pictures">Pictures</a>'
        '<a href="#ranked">Ranked lists</a><a href="#runs">Runs, commands and configs</a></nav></header>'
        + banner
        + _table(report)
        + _curves(report, rel)
        + _pictures(report, rel)
        + _rankings(report, thumb)
        + '<section id="runs"><h2>Runs, commands and configs</h2>'
        + _config_differences(report.runs)
        + "".join(_run(run, report) for run in report.runs)
        + f"</section><script>{SCRIPT}</script></body></html>\n"
    )
