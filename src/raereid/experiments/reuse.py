"""Reuse finished runs of other tables: a planned training job that another table's folder already holds, with the
same resolved config (the same preset, data, seed and every other key), is copied, not trained again.

Tables share runs: Table IV's baseline and full RAE are the learner table's classifier rows and the eps sweep's
"eps 0.6" row when their rows files set the same keys. A run is taken only when its config.yaml equals what the
job resolves to today (experiments/state.py, folder keys aside), and an adapted row only when the model.pt it
started from is, byte for byte, this table's own source stage's model.pt, so a reused row never sits on another
model than the one the table reports for its stage. The copy's job.json names where it came from.
"""

from __future__ import annotations

import filecmp
import json
import os
import shutil
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from raereid.engine.run_folder import CONFIG, METRICS, MODEL, RunFolder
from raereid.experiments.plan import Job
from raereid.experiments.state import FOLDER_KEYS, absolute_paths, resolved_now, state, write_record

RECORDS = ("job.json", "stderr.log")  # the runner's files of the other table's job: never copied


def _identity(values: dict[str, Any]) -> str:
    """What a run is, as text: every resolved key but those naming folders, paths made absolute."""
    kept = {k: v for k, v in absolute_paths(values).items() if k not in FOLDER_KEYS}
    return json.dumps(kept, sort_keys=True, default=str)


def finished_runs(roots: Iterable[Path]) -> dict[str, list[Path]]:
    """Every finished training run under `roots` (a folder with config.yaml, metrics.json and model.pt), by what
    it is (`_identity`)."""
    from raereid.config import load_config
    from raereid.config.schema import flat_values
    from raereid.errors import RaeReidError

    found: dict[str, list[Path]] = {}
    for root in roots:
        for config in sorted(Path(root).rglob(CONFIG)):
            folder = config.parent
            if not ((folder / METRICS).is_file() and (folder / MODEL).is_file()):
                continue
            try:
                values = flat_values(load_config(str(config)))
            except (RaeReidError, OSError):
                continue
            found.setdefault(_identity(values), []).append(folder.resolve())
    return found


def _started_from(folder: Path) -> Path | None:
    """The model.pt a run started from (its config's train.init), None without one."""
    from raereid.config import load_config

    init = load_config(str(folder / CONFIG)).train.init
    return Path(init) if init else None


def _same_file(a: Path, b: Path | None) -> bool:
    return b is not None and a.is_file() and b.is_file() and filecmp.cmp(a, b, shallow=False)


def reuse_runs(jobs: list[Job], out: Path, roots: Iterable[Path],
               log: Callable[[str], None] = print) -> dict[str, Path]:
    """Copy into this table's empty folders the finished runs of `roots` that its missing training jobs would
    make; returns job key -> the folder copied (stages first: plan order puts them before their rows)."""
    index = finished_runs(roots)
    by_key = {job.key: job for job in jobs}
    copied: dict[str, Path] = {}
    for job in jobs if index else []:
        if job.config is None or state(job, out) != "missing" or RunFolder(job.folder).run_entries():
            continue
        now = resolved_now(job)
        candidates = index.get(_identity(now), []) if now is not None else []
        if job.kind == "row":
            stage = by_key.get(job.needs[0]) if job.needs else None
            stage_model = stage.folder / MODEL if stage is not None else None
            candidates = [c for c in candidates if stage_model is not None and _same_file(stage_model,
                                                                                         _started_from(c))]
        if candidates:
            _copy(job, out, candidates[0])
            copied[job.key] = candidates[0]
            log(f"[table] {job.key}: reused {candidates[0]}")
    return copied


def _copy(job: Job, out: Path, source: Path) -> None:
    """Copy the run into the job's folder whole or not at all: into a sibling folder with its job.json, then
    renamed into place (an interrupted copy leaves only that sibling, which the next call replaces)."""
    partial = job.folder.with_name(job.folder.name + ".reusing")
    if partial.exists():
        shutil.rmtree(partial)
    shutil.copytree(source, partial, ignore=shutil.ignore_patterns(*RECORDS))
    write_record(job, out, None, _seconds(source), reused_from=source, folder=partial)
    if job.folder.exists():  # only the runner's records of a job that never started (run_entries() was empty)
        shutil.rmtree(job.folder)
    os.replace(partial, job.folder)


def _seconds(folder: Path) -> float | None:
    """How long the copied run took, from its table's job.json (None when unreadable)."""
    try:
        return json.loads((folder / "job.json").read_text(encoding="utf-8")).get("seconds")
    except (OSError, ValueError, AttributeError):
        return None
