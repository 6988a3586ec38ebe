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
from raereid.experiments.state import FOLDER_KEYS, RECORD, absolute_paths, record_at, resolved_now, state, write_record

RECORDS = (RECORD, "stderr.log")  # the runner's files of the other table's job: never copied


def _identity(values: dict[str, Any]) -> str:
    """What a run is, as text: every resolved key but those naming folders, paths made absolute."""
    kept = {k: v for k, v in absolute_paths(values).items() if k not in FOLDER_KEYS}
    return json.dumps(kept, sort_keys=True, default=str)


def finished_runs(roots: Iterable[Path]) -> dict[str, list[tuple[Path, Path | None]]]:
    """Every finished training run under `roots` (a folder with config.yaml, metrics.json and model.pt), by what
    it is (`_identity`): its folder and the model.pt it started from (train.init; None without one)."""
    from raereid.config import load_config
    from raereid.config.schema import flat_values
    from raereid.errors import RaeReidError

    found: dict[str, list[tuple[Path, Path | None]]] = {}
    for root in roots:
        for config in sorted(Path(root).rglob(CONFIG)):
            folder = config.parent
            if not ((folder / METRICS).is_file() and (folder / MODEL).is_file()):
                continue
            try:
                loaded = load_config(str(config))
            except (RaeReidError, OSError):
                continue
            init = Path(loaded.train.init) if loaded.train.init else None
            found.setdefault(_identity(flat_values(loaded)), []).append((folder.resolve(), init))
    return found


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
            candidates = [(c, init) for c, init in candidates
                          if stage_model is not None and _same_file(stage_model, init)]
        if candidates:
            source = candidates[0][0]
            _copy(job, out, source)
            copied[job.key] = source
            log(f"[table] {job.key}: reused {source}")
    return copied


def _copy(job: Job, out: Path, source: Path) -> None:
    """Copy the run into the job's folder whole or not at all: into a sibling folder with its job.json, then
    renamed into place (an interrupted copy leaves only that sibling, which the next call replaces)."""
    partial = job.folder.with_name(job.folder.name + ".reusing")
    if partial.exists():
        shutil.rmtree(partial)
    shutil.copytree(source, partial, ignore=shutil.ignore_patterns(*RECORDS))
    write_record(job, out, None, record_at(source).get("seconds"), reused_from=source, folder=partial)
    if job.folder.exists():  # only the runner's records of a job that never started (run_entries() was empty)
        shutil.rmtree(job.folder)
    os.replace(partial, job.folder)
