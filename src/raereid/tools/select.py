"""`raereid select`'s work: read finished runs' label-free records (metrics.json `label_free`) and rank the runs, or
every kept checkpoint of them, by the label-free score (`raereid.selection`). A run's labelled mAP, where its target
has labels, is shown beside the score for the record; the ranking never reads it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from raereid.config.loader import read_yaml
from raereid.engine.run_folder import MARKERS, METRICS, RunFolder
from raereid.errors import ConfigError, InputError, PathError
from raereid.inference.metrics import MetricsRecord, UnreadableMetrics
from raereid.selection.ranking import Ranking, rank_candidates
from raereid.selection.record import LabelFreeRecord
from raereid.selection.score import DEFAULT_SPEC, TERMS

RUN_FIX = "pass the --out folder of raereid train, or a folder of such runs"


@dataclass
class FinishedRun:
    """A finished run as `raereid select` reads it: its label-free record, its metrics and the target it adapted to
    (dataset name, data folder, number of target training images)."""

    path: Path
    name: str
    record: LabelFreeRecord
    metrics: MetricsRecord
    target: tuple[str, str, int]

    def labelled(self) -> dict[str, float | None]:
        """The final model's labelled mAP on the test / val split (None without labels), for the record."""
        return {"test": self.metrics.scores.get("mAP"), "val": (self.metrics.val or {}).get("mAP")}


def run_folders(paths: Sequence[str | Path]) -> list[Path]:
    """Each path if it is a run folder, else the run folders directly inside it (sorted by name), each once."""
    if not paths:
        raise PathError("no run folder given", fix=RUN_FIX)
    found: list[Path] = []
    for given in paths:
        folder = Path(given).expanduser()
        if not folder.is_dir():
            raise PathError("no such folder" if not folder.exists() else "not a folder", where=folder, fix=RUN_FIX)
        inside = [folder] if RunFolder(folder).is_run() else sorted(
            p for p in folder.iterdir() if p.is_dir() and RunFolder(p).is_run())
        if not inside:
            raise PathError(f"not a run folder: it holds none of {', '.join(MARKERS)}, and no folder inside it does",
                            where=folder, fix=RUN_FIX)
        found += [p for p in inside if p.resolve() not in {f.resolve() for f in found}]
    return found


def _names(folders: list[Path]) -> list[str]:
    """Short unique names: the folder's name, with its parents' names added until the names differ."""
    depth = 1
    while True:
        names = ["/".join(f.resolve().parts[-depth:]) for f in folders]
        if len(set(names)) == len(names) or depth > 8:
            return names
        depth += 1


def _target(folder: Path, metrics: MetricsRecord, record: LabelFreeRecord) -> tuple[str, str, int]:
    config = RunFolder(folder).config
    try:
        data = read_yaml(str(config))[0].get("data") if config.is_file() else None
    except ConfigError as exc:
        raise PathError(f"unreadable run config: {exc.what.splitlines()[0]}", where=config,
                        fix="a run's config.yaml is the YAML raereid train wrote; a record kept by "
                            "benchmarks/records.py holds {base}/ placeholders: restore it first "
                            "(python benchmarks/records.py restore NAME FOLDER) and select in FOLDER") from None
    root = data.get("root") if isinstance(data, dict) else None
    images = next((int(j.signals["images"]) for j in record.judged() if j.signals.get("images") is not None), -1)
    return (metrics.target or "?", str(Path(root).expanduser().resolve()) if root else "?", images)


class NoLabelFreeRecord(PathError):
    """The folder holds no finished run with a label-free record: not finished, or trained before the record existed
    (a folder a sweep may pass over, unlike one whose files are unreadable)."""


def read_finished_run(folder: Path, name: str) -> FinishedRun:
    """The run in `folder`; NoLabelFreeRecord naming it when it has not finished or has no label-free record,
    PathError when its files are unreadable."""
    metrics_path = RunFolder(folder).metrics
    if not metrics_path.is_file():
        raise NoLabelFreeRecord(f"the run has not finished: no {METRICS}", where=folder,
                        fix="let it finish (or continue it: the same raereid train command plus --resume)")
    try:
        metrics = MetricsRecord.read(metrics_path)
    except UnreadableMetrics as exc:
        raise PathError(str(exc), where=metrics_path, fix="train the run again") from None
    if metrics.label_free is None:
        raise NoLabelFreeRecord(f"{METRICS} has no label_free record: the run was trained by a raereid without "
                                "label-free signals", where=metrics_path, fix="train the run again with this raereid")
    record = LabelFreeRecord.from_json(metrics.label_free, where=str(metrics_path))
    if record.final is None:
        raise NoLabelFreeRecord("the label-free record has no final model", where=metrics_path,
                                fix="train the run again with this raereid")
    return FinishedRun(folder, name, record, metrics, _target(folder, metrics, record))


def read_runs(paths: Sequence[str | Path]) -> list[FinishedRun]:
    """The finished runs of `paths` (runs or folders of runs); refused when they adapted to different targets."""
    folders = run_folders(paths)
    runs = [read_finished_run(f, n) for f, n in zip(folders, _names(folders))]
    targets = {run.target for run in runs}
    if len(targets) > 1:
        seen = "; ".join(f"{name} in {root} ({images} training images): "
                         + ", ".join(r.name for r in runs if r.target == (name, root, images))
                         for name, root, images in sorted(targets))
        raise InputError(f"the runs adapted to different targets ({seen}), so their scores cannot be compared",
                         fix="rank the runs of one target at a time (one draw, one dataset folder)")
    return runs


def rank_runs(runs: Sequence[FinishedRun], checkpoints: bool = False, score: str = DEFAULT_SPEC) -> Ranking:
    """Rank the runs' final models, or with `checkpoints` every kept snapshot and final model of every run."""
    candidates = [c for run in runs for c in run.record.candidates(run.name, checkpoints, run.labelled())]
    return rank_candidates(candidates, score)


# ------------------------------------------------------------------ output
SHORT = {"coverage": "cov", "cross_camera": "cam", "stability": "stab", "separation": "sep", "balance": "bal",
         "agreement": "agr", "density": "snd"}


def _cell(value: float | None, digits: int) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def format_ranking(ranking: Ranking, runs: int, checkpoints: bool) -> str:
    """The ranking as a text table, best first, then the choice(s) and the dropped terms."""
    what = "checkpoints" if checkpoints else "final models"
    head = [f"label-free ranking of {len(ranking.records)} {what} of {runs} run(s); score {ranking.spec}: the "
            f"geometric mean of {', '.join(ranking.terms)} (no label read)"]
    labelled = any(r.labelled_map is not None or r.labelled_val_map is not None for r in ranking.records)
    name_width = max(len(r.run) for r in ranking.records)
    ckpt_width = max(len(r.checkpoint) for r in ranking.records)
    columns = [f"{'rank':>4}", f"{'run':<{name_width}}", f"{'checkpoint':<{ckpt_width}}", f"{'iter':>6}",
               f"{'score':>6}", *(f"{SHORT.get(t, t):>5}" for t in ranking.terms)]
    columns += [f"{'mAP*':>6}", f"{'val*':>6}"] if labelled else []
    lines = [*head, "  ".join(columns)]
    for r in ranking.records:
        cells = [f"{r.rank:>4}", f"{r.run:<{name_width}}", f"{r.checkpoint:<{ckpt_width}}",
                 f"{'-' if r.iteration is None else r.iteration:>6}", f"{r.score:>6.3f}",
                 *(f"{_cell(r.terms[t], 2):>5}" for t in ranking.terms)]
        cells += [f"{_cell(r.labelled_map, 1):>6}", f"{_cell(r.labelled_val_map, 1):>6}"] if labelled else []
        lines.append("  ".join(cells))
    for term, why in ranking.dropped.items():
        lines.append(f"term {term} left out for every candidate: it {why}")
    if checkpoints:
        lines.append("checkpoint choice per run: " + "; ".join(f"{r.run}: {r.checkpoint} (score {r.score:.3f})"
                                                               for r in ranking.best_per_run()))
    chosen = ranking.chosen
    lines.append(f"choice: {chosen.run} {chosen.checkpoint} (score {chosen.score:.3f})")
    if labelled:
        lines.append("* mAP / val: labelled mAP on the target's test / validation split, for the record only: never "
                     "an input to the score")
    return "\n".join(lines)


def ranking_json(ranking: Ranking, runs: Sequence[FinishedRun], checkpoints: bool) -> dict[str, Any]:
    """The JSON document of `raereid select --json`: the ranking (records with at least run, checkpoint and score),
    the choice, and each run's folder."""
    doc = ranking.as_json()
    doc["candidates"] = "checkpoints" if checkpoints else "final"
    doc["choice"] = ranking.chosen.as_record()
    doc["runs"] = {run.name: str(run.path) for run in runs}
    doc["term_meanings"] = {t: TERMS[t][0] for t in ranking.terms}
    return doc

