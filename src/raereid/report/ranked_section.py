"""The report page's "Ranked lists" section: each query next to every run's top-k gallery images, with a filter."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from raereid.report.markup import e, swatch
from raereid.report.ranked import SHEETS
from raereid.tools.ranking import RankedQuery


@dataclass
class TargetRanking:
    """Ranked lists of the runs evaluated on one target (or why there are none)."""

    title: str
    runs: list[str]
    lists: dict[str, dict[str, list[RankedQuery]]] = field(default_factory=dict)  # run -> sheet -> queries
    note: str | None = None


def _camera(camid: int) -> str:
    """Cameras as the file names write them (c1 is camera id 0)."""
    return f"c{camid + 1}" if camid >= 0 else "c?"


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
        f'<div class="rlist"><div class="label"><b>{swatch(colour)}{e(label)}</b>{_score(ranked)}</div>'
        f"{_result_cells(ranked, thumb)}</div>"
        for label, colour, ranked in lists
    )
    q = row.query
    return (f'<div class="query" data-pid="{q.pid}" data-cam="{_camera(q.camid)}">{_query_cell(row, thumb)}'
            f'<div class="rows">{rlists}</div></div>')


def _ranking(target: TargetRanking, colours: dict[str, str], thumb: Callable[[str], str]) -> str:
    parts = [f"<h3>{e(target.title)}</h3>"]
    if target.note:
        parts.append(f'<p class="note warn">{e(target.note)}</p>')
    ranked = [run for run in target.runs if run in target.lists]
    if not ranked:
        return "".join(parts)
    parts.append(f"<h4>{e(SHEETS['chosen'])}</h4>")
    first = target.lists[ranked[0]]["chosen"]
    for i, row in enumerate(first):
        lists = [(run, colours[run], target.lists[run]["chosen"][i]) for run in ranked]
        parts.append(_query_block(row, lists, thumb))
    for run in ranked:
        parts.append(f"<details open><summary>{swatch(colours[run])}<b>{e(run)}</b>: "
                     "best and worst queries</summary>")
        for sheet in ("best", "worst"):
            parts.append(f"<h4>{e(SHEETS[sheet])}</h4>")
            parts.extend(_query_block(row, [(run, colours[run], row)], thumb)
                         for row in target.lists[run][sheet])
        parts.append("</details>")
    return "".join(parts)


def ranked_section(rankings: list[TargetRanking], colours: dict[str, str], topk: int,
                   thumb: Callable[[str], str]) -> str:
    """The section: one block per target, queries filtered by person id and camera (report.js)."""
    cams = sorted({row.query.camid for t in rankings for lists in t.lists.values()
                   for rows in lists.values() for row in rows})
    options = "".join(f'<option value="{_camera(c)}">{_camera(c)}</option>' for c in cams)
    return (
        '<section id="ranked"><h2>Ranked lists</h2>'
        f'<p class="note">Each query (blue border) and its top-{topk} gallery images: '
        '<span style="color:rgb(0,170,0)">green</span> '
        'the same person, <span style="color:rgb(220,0,0)">red</span> another person; the number is the cosine '
        "similarity. As in the evaluator, gallery images of the query's person taken by the query's camera, and junk "
        "images, are skipped, so a green first image is a rank-1 hit in the table above. Hover an image for its id, "
        "camera and file.</p>"
        '<div class="filter">Filter queries: <label>person id '
        '<input id="filter-pid" type="search" inputmode="numeric" placeholder="e.g. 790"></label> '
        f'<label>camera <select id="filter-cam"><option value="">any</option>{options}</select></label> '
        '<span id="filter-count" class="note"></span></div>'
        + "".join(_ranking(t, colours, thumb) for t in rankings)
        + ("" if rankings else '<p class="note">No run has a known target.</p>')
        + "</section>"
    )
