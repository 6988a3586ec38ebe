"""Write a report: read the runs, draw their curves, rank queries and draw pictures with each model, write the page."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from raereid._version import __version__
from raereid.data.records import ReidDataset
from raereid.data.registry import load_dataset
from raereid.engine.run_folder import GAP_PICTURE, RunFolder
from raereid.errors import DatasetError
from raereid.inference.model_io import TrainedModel
from raereid.report.curves import curve_figures, read_scalars, run_colours
from raereid.report.page import Report, render
from raereid.report.pictures import Picture, domain_gap, reconstructions
from raereid.report.ranked import Thumbnails, rank_run
from raereid.report.ranked_section import TargetRanking
from raereid.report.runs import ReportError, Run, collect_runs, describe_groups, target_groups
from raereid.tools.inputs import open_model

PAGE = "index.html"


class _Datasets:
    """Datasets read once per (spec, data root); a dataset that cannot be read is remembered as its error."""

    def __init__(self) -> None:
        self._cache: dict[tuple[str, str], ReidDataset | DatasetError] = {}

    def get(self, spec: str, root: Path | None) -> ReidDataset | DatasetError:
        key = (spec, str(root))
        if key not in self._cache:
            try:
                self._cache[key] = load_dataset(spec, root)
            except DatasetError as exc:
                self._cache[key] = exc
        return self._cache[key]


def _unavailable(what: str, error: DatasetError) -> str:
    where = f" ({error.where})" if error.where else ""
    return f"{what}: {error.what}{where}; pass --data-root DIR if the data moved"


def write_report(
    paths: list[str | Path],
    out: str | Path,
    topk: int = 10,
    queries: int = 8,
    extremes: int = 5,
    device: str = "cpu",
    data_root: str | Path | None = None,
    allow_mixed_targets: bool = False,
    log: Callable[[str], None] | None = None,
) -> Path:
    """Write OUT/index.html (and its pictures) for the runs in `paths`; returns the page's path.

    Runs evaluated on different targets are refused unless `allow_mixed_targets` (then the page says so).
    """
    log = log or (lambda message: None)
    if min(topk, queries, extremes) < 1:
        raise ReportError("--topk, --num-queries and --extremes must be at least 1", fix="pass positive counts")
    runs = collect_runs(paths)
    groups = target_groups(runs, data_root)
    mixed = describe_groups(groups) if len(groups) > 1 else None
    if mixed and not allow_mixed_targets:
        raise ReportError(
            f"the runs were evaluated on different targets ({mixed}), so their scores cannot be compared",
            fix="write one report per target, pass --data-root DIR if it is the same dataset in two places, "
            "or --allow-mixed-targets for one page labelled by target",
        )
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    colours = run_colours([run.name for run in runs])
    scalars = {run.name: read_scalars(RunFolder(run.path).tensorboard) for run in runs}
    curves = curve_figures({name: s for name, s in scalars.items() if s}, colours, out / "curves")
    log(f"curves: {len(curves)} pictures ({time.perf_counter() - started:.1f} s)")
    datasets = _Datasets()
    pictures: dict[str, list[Picture]] = {}
    notes: dict[str, list[str]] = {}
    rankings = []
    for (name, root), members in groups.items():
        title = f"Target {name}" + (f" ({root})" if len(groups) > 1 else "")
        ranking = TargetRanking(title, [run.name for run in members])
        configured = next((run for run in members if run.config), None)
        target = datasets.get(configured.config["data"]["target"],
                              configured.data_root(data_root)) if configured else None
        if isinstance(target, DatasetError):
            ranking.note = _unavailable("no ranked lists: the target cannot be read", target)
            target = None
        elif target is not None and not target.has_test:
            ranking.note = f"no ranked lists: {target.name} has no query/gallery split"
            target = None
        for run in (run for run in members if run.checkpoint is not None):
            started = time.perf_counter()
            trained = open_model(run.checkpoint, device)
            if target is not None:
                ranking.lists[run.name] = rank_run(trained, target, topk, queries, extremes)
            pictures[run.name], notes[run.name] = _run_pictures(run, trained, datasets, data_root, out)
            log(f"{run.name}: ranked lists and pictures ({time.perf_counter() - started:.1f} s)")
        missing = [run.name for run in members if run.checkpoint is None]
        if missing:
            ranking.note = "; ".join(filter(None,
                                            [ranking.note, f"no checkpoint, so no ranked lists: {', '.join(missing)}"]))
        rankings.append(ranking)
    for run in runs:
        if run.name not in pictures:  # no checkpoint: the domain gap alone
            pictures[run.name], notes[run.name] = _run_pictures(run, None, datasets, data_root, out)
    report = Report(runs, colours, curves, rankings, pictures, notes, topk, time.strftime("%Y-%m-%d %H:%M"),
                    __version__, mixed)
    thumbs = Thumbnails(out / "images", out)
    page = out / PAGE
    page.write_text(render(report, out, thumbs), encoding="utf-8")
    return page


def _folder(run: Run) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "-" for c in run.name)


def _run_pictures(run: Run, trained: TrainedModel | None, datasets: _Datasets, data_root: str | Path | None,
                  out: Path) -> tuple[list[Picture], list[str]]:
    """The run's domain gap and (with a model that has a decoder) reconstructions of target and source images,
    and what is missing."""
    folder = out / "runs" / _folder(run)
    found, notes = [], []
    gap = domain_gap(run.path, folder / GAP_PICTURE)
    if gap:
        found.append(gap)
    if trained is None:
        return found, notes
    if trained.model.decoder is None:
        notes.append(f"no reconstructions: the {run.variant} model has no decoder")
        return found, notes
    root = run.data_root(data_root)
    read = {role: datasets.get(run.config["data"][role], root) for role in ("target", "source")}
    bad = {role: ds for role, ds in read.items() if isinstance(ds, DatasetError)}
    for role, error in bad.items():
        notes.append(_unavailable(f"no {role} reconstructions: the {role} cannot be read", error))
    usable = {role: ds for role, ds in read.items() if role not in bad}
    if usable:
        found.append(reconstructions(trained, usable, folder / "reconstructions.png"))
    return found, notes
