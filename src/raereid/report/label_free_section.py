"""The report page's "Label-free health and selection" section: the runs ranked by the label-free score as
`raereid select` ranks them (per target), and each run's kept checkpoints with their scores and the run's
label-free checkpoint choice. The labelled mAP stands beside the score for the record only."""

from __future__ import annotations

from raereid.errors import RaeReidError
from raereid.report.markup import e, run_anchor, swatch
from raereid.report.runs import Run
from raereid.selection.ranking import Ranked, Ranking, rank_candidates
from raereid.selection.record import LabelFreeRecord
from raereid.selection.score import DEFAULT_SPEC


def _record(run: Run) -> LabelFreeRecord | None:
    data = run.metrics.label_free if run.metrics else None
    if data is None:
        return None
    try:
        record = LabelFreeRecord.from_json(data)
    except RaeReidError:
        return None
    return record if record.final is not None else None


def _labelled(run: Run) -> dict[str, float | None]:
    m = run.metrics
    return {"test": m.scores.get("mAP") if m else None, "val": (m.val or {}).get("mAP") if m else None}


def _number(value: float | None, digits: int) -> str:
    if value is None:
        return '<td data-value="">&ndash;</td>'
    return f'<td data-value="{value}">{value:.{digits}f}</td>'


def _table(ranking: Ranking, runs: dict[str, Run], colours: dict[str, str], table_id: str) -> str:
    heads = ['<th data-first="ascending">rank</th>', '<th class="text">run</th>', '<th class="text">checkpoint</th>',
             '<th>iteration</th>', '<th data-first="descending">score</th>']
    heads += [f'<th data-first="descending">{e(term)}</th>' for term in ranking.terms]
    heads += ['<th data-first="descending">mAP (labelled, for the record)</th>',
              '<th data-first="descending">val mAP (for the record)</th>']
    rows = []
    for r in ranking.records:
        run = runs[r.run]
        cells = [_number(r.rank, 0),
                 f'<td class="text">{swatch(colours[run.name])}<a href="#{run_anchor(run)}">{e(run.name)}</a></td>',
                 f'<td class="text"><code>{e(r.checkpoint)}</code>{" &#10003;" if r.chosen else ""}</td>',
                 _number(r.iteration, 0), _number(r.score, 3),
                 *(_number(r.terms[t], 2) for t in ranking.terms),
                 _number(r.labelled_map, 1), _number(r.labelled_val_map, 1)]
        rows.append(f'<tr>{"".join(cells)}</tr>')
    dropped = "".join(f"<li>term <code>{e(t)}</code> left out for every candidate: it {e(why)}</li>"
                      for t, why in ranking.dropped.items())
    return (f'<table id="{e(table_id)}" class="sortable"><thead><tr>{"".join(heads)}</tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table>' + (f'<ul class="note">{dropped}</ul>' if dropped else ""))


def _choice(best: Ranked) -> str:
    return f"{e(best.checkpoint)}, score {best.score:.3f}"


def label_free_section(runs: list[Run], colours: dict[str, str]) -> str:
    """The section: the final models ranked per target, then each run's checkpoints ranked."""
    records = {run.name: rec for run in runs if (rec := _record(run)) is not None}
    by_name = {run.name: run for run in runs}
    parts = ['<section id="label-free"><h2>Label-free health and selection</h2>',
             '<p class="note">Scores computed without any target label (docs/selection.md): the geometric mean of '
             f"the <code>{DEFAULT_SPEC}</code> terms on each model's reference clustering, as "
             "<code>raereid select</code> ranks them. &#10003; marks the label-free choice. The labelled mAP is "
             "shown for the record and is never an input to the score.</p>"]
    if not records:
        parts.append('<p class="note">No run has a label-free record (runs trained before raereid logged one, or '
                     "unfinished).</p></section>")
        return "".join(parts)
    groups: dict[tuple[str, int], list[str]] = {}
    for name, rec in records.items():
        target = (by_name[name].target or "?", int(rec.final.signals.get("images") or -1))
        groups.setdefault(target, []).append(name)
    for i, ((target, images), names) in enumerate(groups.items()):
        candidates = [c for n in names for c in records[n].candidates(n, False, _labelled(by_name[n]))]
        parts.append(f"<h3>Runs on {e(target)} ({images} training images), final models</h3>")
        parts.append(_table(rank_candidates(candidates), by_name, colours, f"label-free-runs-{i}"))
    for name, rec in records.items():
        ranking = rank_candidates(rec.candidates(name, True, _labelled(by_name[name])))
        run = by_name[name]
        parts.append(f"<h3>{swatch(colours[name])}{e(name)}: checkpoints along the run "
                     f"(choice: {_choice(ranking.chosen)})</h3>")
        parts.append(_table(ranking, {name: run}, colours, f"label-free-{run_anchor(run)}"))
    return "".join(parts) + "</section>"
