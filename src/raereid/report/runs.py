"""Run folders as a report reads them: metrics, config, command, checkpoint, warnings, and the target they share.

A run folder is what `raereid train --out RUN` writes. A folder that is not a run but holds runs
(e.g. the demo's output) stands for every run inside it, in the order they finished.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from raereid.engine.checkpoint import ModelRecord, load_checkpoint
from raereid.engine.run_folder import LAST, MARKERS, METRICS, MODEL, RunFolder, read_command
from raereid.errors import RaeReidError
from raereid.inference.metrics import MetricsRecord, UnreadableMetrics
from raereid.learners import paper_row
from raereid.tools.inputs import dataset_name


class ReportError(RaeReidError):
    """The given folders cannot make a report: not runs, unreadable metrics, or runs that cannot be compared."""


@dataclass
class Run:
    """One training run: what it scored, how it was configured and started, and what is missing."""

    path: Path
    name: str
    metrics: MetricsRecord | None = None
    config: dict | None = None
    checkpoint: Path | None = None
    iteration: int | None = None
    command: str | None = None
    notes: list[str] = field(default_factory=list)  # what the report cannot show for this run, and why
    warnings: list[str] = field(default_factory=list)  # WARNING lines of train.log

    @property
    def scored(self) -> bool:
        """Whether the run has target scores (a metrics.json with an mAP)."""
        return self.metrics is not None and self.metrics.scored

    @property
    def variant(self) -> str:
        found = self.metrics.variant if self.metrics else None
        return str(found or (self.config or {}).get("train", {}).get("variant") or "?")

    @property
    def learner(self) -> str:
        """The pseudo-label learner (learner.name); runs written before learners existed used the classifier."""
        found = (self.metrics.learner if self.metrics else None) or (self.config or {}).get("learner", {}).get("name")
        return str(found or ("classifier" if self.metrics or self.config else "?"))

    @property
    def paper_row(self) -> str | None:
        """The row of the paper's Tables II / III this run stands for (e.g. "MMCL + RAE"), if any."""
        return paper_row(self.learner, self.variant)

    @property
    def source(self) -> str | None:
        if self.metrics and self.metrics.source:
            return self.metrics.source
        return dataset_name(self.config["data"]["source"]) if self.config else None

    @property
    def target(self) -> str | None:
        if self.metrics and self.metrics.target:
            return self.metrics.target
        return dataset_name(self.config["data"]["target"]) if self.config else None

    def data_root(self, override: str | Path | None = None) -> Path | None:
        """The folder the run's datasets are read from: `override`, else the config's data.root."""
        if override is not None:
            return Path(override).expanduser().resolve()
        return Path(self.config["data"]["root"]).expanduser().resolve() if self.config else None


def _read_metrics(path: Path) -> MetricsRecord:
    try:
        return MetricsRecord.read(path)
    except UnreadableMetrics as exc:
        raise ReportError(str(exc), where=path,
                          fix="delete it to report the run as unfinished, or train the run again") from None


def read_run(folder: Path, name: str | None = None) -> Run:
    """Everything a report shows about the run in `folder` (the checkpoint is opened for its config only)."""
    run = Run(path=folder.resolve(), name=name or folder.resolve().name, command=read_command(folder))
    files = RunFolder(folder)
    metrics = files.metrics
    if metrics.is_file():
        run.metrics = _read_metrics(metrics)
        if not run.metrics.scored:
            run.notes.append(f"{METRICS} holds no scores: the target has no query/gallery split to evaluate")
    else:
        run.notes.append(f"no {METRICS}: the run has not finished (still training, interrupted or crashed)")
    found = files.checkpoints()
    if found:
        record = ModelRecord.from_state(load_checkpoint(found[0]), found[0])
        run.checkpoint, run.config, run.iteration = found[0], record.config, record.iteration
        if found[0] == files.last:
            run.notes.append(f"no {MODEL}: ranked lists and pictures use {LAST} (iteration {run.iteration})")
    else:
        run.notes.append(f"no {MODEL} or {LAST}: no config, ranked lists or reconstructions")
    log = files.log
    if log.is_file():
        lines = log.read_text(encoding="utf-8", errors="replace").splitlines()
        run.warnings = [line for line in lines if " WARNING " in line]
    return run


def _expand(folder: Path) -> list[Path]:
    """`folder` if it is a run, else the runs directly inside it (in the order they finished)."""
    if not folder.exists():
        raise ReportError("no such folder", where=folder, fix="pass run folders written by raereid train --out")
    if not folder.is_dir():
        raise ReportError("not a folder", where=folder, fix=f"pass the run folder that holds it: {folder.parent}")
    if RunFolder(folder).is_run():
        return [folder]
    runs = (RunFolder(p) for p in folder.iterdir() if p.is_dir())
    inside = [f.path for f in sorted((f for f in runs if f.is_run()), key=lambda f: (f.finished_at(), f.path.name))]
    if not inside:
        raise ReportError(
            f"not a run folder: it holds none of {', '.join(MARKERS)}, and no folder inside it does",
            where=folder,
            fix="pass the --out folder of raereid train, or a folder of such runs (e.g. demo_output)",
        )
    return inside


def _unique_names(folders: list[Path]) -> list[str]:
    """Folder names, with the parent's name added where two runs share one."""
    names = [f.name for f in folders]
    names = [f"{f.parent.name}/{f.name}" if names.count(f.name) > 1 else f.name for f in folders]
    return [f"{n} ({i + 1})" if names.count(n) > 1 else n for i, n in enumerate(names)]


def collect_runs(paths: list[str | Path]) -> list[Run]:
    """The runs of the given folders (each a run or a folder of runs), each once, in the given order."""
    if not paths:
        raise ReportError("no run folders given", fix="pass one or more folders written by raereid train --out")
    folders: list[Path] = []
    for path in paths:
        for folder in _expand(Path(path).expanduser()):
            if folder.resolve() not in {f.resolve() for f in folders}:
                folders.append(folder)
    return [read_run(folder, name) for folder, name in zip(folders, _unique_names(folders))]


def target_groups(runs: list[Run], data_root: str | Path | None = None) -> dict[tuple[str, str], list[Run]]:
    """Runs grouped by the target they were evaluated on: (dataset name, data folder); runs of unknown target left out.

    A run without a config (no checkpoint) joins the group of its target's name when there is one.
    """
    groups: dict[tuple[str, str], list[Run]] = {}
    for run in sorted(runs, key=lambda r: r.config is None):
        if run.target is None:
            continue
        root = run.data_root(data_root)
        key = (run.target, str(root) if root else "")
        if root is None:
            key = next((k for k in groups if k[0] == run.target), key)
        groups.setdefault(key, []).append(run)
    order = {run.name: i for i, run in enumerate(runs)}
    return {k: sorted(v, key=lambda r: order[r.name])
            for k, v in sorted(groups.items(), key=lambda kv: min(order[r.name] for r in kv[1]))}


def describe_groups(groups: dict[tuple[str, str], list[Run]]) -> str:
    """One line per target: its name, data folder and runs."""
    return "; ".join(f"{name}{f' in {root}' if root else ''}: {', '.join(r.name for r in members)}"
                     for (name, root), members in groups.items())
