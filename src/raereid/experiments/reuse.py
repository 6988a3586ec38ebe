"""Reuse finished runs of other tables: a planned training job that another table's folder already holds, with the
same resolved config (the same preset, data, seed and every other key), is copied, not trained again.

Tables share runs: Table IV's baseline and full RAE are the learner table's classifier rows and the eps sweep's
"eps 0.6" row when their rows files set the same keys. A run is taken only when its config.yaml equals what the
job resolves to today (experiments/state.py, folder keys aside), and an adapted row only when it started from the
very run this table's own source stage was copied from, so a reused row never sits on another model than the one
the table reports for its stage. The copy's job.json names where it came from.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from raereid.engine.run_folder import CONFIG, MARKERS, METRICS
from raereid.experiments.plan import Job
from raereid.experiments.state import FOLDER_KEYS, absolute_paths, read_record, resolved_now, state, write_record


def _identity(values: dict[str, Any]) -> str:
    """What a run is, as text: every resolved key but those naming folders, paths made absolute."""
    kept = {k: v for k, v in absolute_paths(values).items() if k not in FOLDER_KEYS}
    return json.dumps(kept, sort_keys=True, default=str)


def finished_runs(roots: Iterable[Path]) -> dict[str, list[Path]]:
    """Every finished training run under `roots` (a folder with metrics.json and config.yaml), by its identity."""
    from raereid.config import load_config
    from raereid.config.schema import flat_values
    from raereid.errors import RaeReidError

    found: dict[str, list[Path]] = {}
    for root in roots:
        for config in sorted(Path(root).rglob(CONFIG)):
            folder = config.parent
            if not (folder / METRICS).is_file():
                continue
            try:
                values = flat_values(load_config(str(config)))
            except (RaeReidError, OSError):
                continue
            found.setdefault(_identity(values), []).append(folder.resolve())
    return found


def _init_folder(folder: Path) -> Path | None:
    """The run folder whose model.pt a run started from (its config's train.init), None without one."""
    from raereid.config import load_config

    init = load_config(str(folder / CONFIG)).train.init
    return Path(init).resolve().parent if init else None


def reuse_runs(jobs: list[Job], out: Path, roots: Iterable[Path],
               log: Callable[[str], None] = print) -> dict[str, Path]:
    """Copy into this table's folders the finished runs of `roots` that its missing training jobs would make;
    returns job key -> the folder copied. Stages come before the rows that need them (plan order), so a row is
    reused only after its stage was, from the run that row's candidate started from."""
    index = finished_runs(roots)
    if not index:
        return {}
    by_key = {job.key: job for job in jobs}
    copied: dict[str, Path] = {}
    for job in jobs:
        if job.config is None or state(job, out) != "missing" or _holds_a_run(job.folder):
            continue
        now = resolved_now(job)
        candidates = index.get(_identity(now)) if now is not None else None
        if not candidates:
            continue
        if job.kind == "row":
            stage = by_key.get(job.needs[0]) if job.needs else None
            origin = copied.get(stage.key) if stage is not None else None
            if origin is None:
                origin = _recorded_origin(stage) if stage is not None else None
            candidates = [c for c in candidates if origin is not None and _init_folder(c) == origin]
        if not candidates:
            continue
        source = candidates[0]
        shutil.copytree(source, job.folder, dirs_exist_ok=True)
        write_record(job, out, None, _record_at(source).get("seconds"), reused_from=source)
        copied[job.key] = source
        log(f"[table] {job.key}: reused {source}")
    return copied


def _recorded_origin(job: Job) -> Path | None:
    """The folder a job's run was copied from by an earlier --reuse (its job.json's reused_from), else None."""
    origin = read_record(job).get("reused_from")
    return Path(origin) if origin else None


def _holds_a_run(folder: Path) -> bool:
    """Whether the folder has anything of a run (an interrupted one resumes; it is never replaced)."""
    return any((folder / name).exists() for name in (*MARKERS, CONFIG))


def _record_at(folder: Path) -> dict:
    """The job.json of a run folder of another table ({} when it has none)."""
    path = folder / "job.json"
    try:
        return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    except (OSError, ValueError):
        return {}
