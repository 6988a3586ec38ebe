"""What a planned job's folder holds: done, failed, missing, or stale (made by another command or config).

Each run folder gets job.json (the command, and why it failed). A folder made by a different command (the rows
file changed), or a training run whose config.yaml differs from what its command resolves to now (a preset
changed), is "stale": the runner refuses to train over it, so a table never mixes old and new runs silently.
Config `--set`s are judged by the config they resolve to, not as text: a rows file may pin a value a preset
changed since, and keep the runs made with it. A key added to the config since a run was made is read from its
config.yaml at its default (load_config fills in missing keys), so it makes no run stale while it keeps that
default.
"""

from __future__ import annotations

import json
import os
from functools import cache
from pathlib import Path
from typing import Any

from raereid.atomic import write_json
from raereid.errors import ConfigError
from raereid.experiments.plan import Job

FOLDER_KEYS = ("train.output", "train.init")  # where a run is, not what it is (a run copied to another row)
# Paths compared as absolute ones: raereid train writes them absolute into config.yaml since the runs of issue 30,
# earlier runs hold them as typed (relative to the folder the runner ran from, as its commands are today).
PATH_KEYS = ("data.root", "data.source", "data.target", "model.pretrained")
TRAIN = ("-m", "raereid", "train")  # a training command, after the interpreter: the only kind whose config is compared
RECORD = "job.json"  # the runner's record in each run folder


def command_of(job: Job, out: Path) -> list[str]:
    """The job's command as job.json records it: without the interpreter, the output folder as {out}."""
    return [a.replace(str(out), "{out}") for a in job.argv[1:]]


def record_at(folder: Path) -> dict:
    """The folder's job.json; {} when there is none or it is unreadable (a write cut short: the job counts as not
    run, and running it writes the record again)."""
    try:
        record = json.loads((Path(folder) / RECORD).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return record if isinstance(record, dict) else {}


def read_record(job: Job) -> dict:
    """The job's job.json (record_at its folder)."""
    return record_at(job.folder)


def write_record(job: Job, out: Path, failed: str | None, seconds: float | None = None,
                 reused_from: Path | None = None, folder: Path | None = None) -> None:
    """job.json (in the job's folder, or `folder`): the command, why it failed (None: it did not), how long it took
    and, for a run copied from another table (experiments/reuse.py), the folder it was copied from."""
    where = folder or job.folder
    record = {"command": command_of(job, out), "failed": failed, "seconds": seconds,
              **({"reused_from": str(reused_from)} if reused_from is not None else {})}
    write_json(where / RECORD, record)


def planned_config(job: Job) -> Any:
    """The Config that a training job's run writes to its config.yaml (its last stage's), resolved with today's
    presets as `raereid train` resolves its command; None for any other job (a translation)."""
    if job.config is None:
        return None
    from raereid.adapt.checks import check_names
    from raereid.adapt.recipe import plan_stages
    from raereid.config import load_config

    return plan_stages(check_names(load_config(job.config, list(job.overrides))))[-1]


def resolved_now(job: Job) -> dict[str, Any] | None:
    """`planned_config` as {"section.key": value}, without the keys that name folders; None for a translation."""
    from raereid.config.schema import flat_values

    cfg = planned_config(job)
    return None if cfg is None else {k: v for k, v in flat_values(cfg).items() if k not in FOLDER_KEYS}


def config_changes(job: Job) -> tuple[str, ...]:
    """The keys whose value in the run's config.yaml differs from what its command resolves to now (every key when
    the run has no readable config.yaml); () when they agree or the job is not a training run. Worked out once per
    version of the file: state() asks it for every finished run at each pass (check, run, table, report)."""
    path = job.folder / "config.yaml"
    version = (path.stat().st_mtime_ns, path.stat().st_size) if path.is_file() else None
    return _config_changes(job, path, version)


@cache
def _config_changes(job: Job, path: Path, version: tuple[int, int] | None) -> tuple[str, ...]:
    from raereid.config import load_config
    from raereid.config.schema import flat_values
    from raereid.errors import RaeReidError

    try:
        now = resolved_now(job)
    except RaeReidError as exc:
        return (f"(its command no longer resolves: {exc.message()})",)
    if now is None:
        return ()
    try:
        then = flat_values(load_config(str(path)))
    except (RaeReidError, OSError):
        return tuple(sorted(now))
    now, then = absolute_paths(now), absolute_paths(then)
    return tuple(sorted(k for k in now if then.get(k) != now[k]))


def absolute_paths(values: dict[str, Any]) -> dict[str, Any]:
    """The values with the PATH_KEYS made absolute (how two runs' configs are compared)."""
    return {k: os.path.abspath(v) if k in PATH_KEYS and isinstance(v, str) and v else v for k, v in values.items()}


def _what_runs(command: list[str]) -> list[str]:
    """A recorded training command without its `--set key=value` pairs, those that name folders (train.init) kept:
    what the run is, besides the config that config_changes() compares. A `--set` that only restates what the config
    already is (a rows file pinning a value that a preset has since changed) then leaves a finished run reusable.
    Any other command (a translation, whose config is not compared) is kept whole."""
    if tuple(command[:3]) != TRAIN:
        return command
    kept: list[str] = []
    pairs = iter(command)
    for arg in pairs:
        if arg == "--set":
            value = next(pairs, "")
            if value.partition("=")[0].strip() in FOLDER_KEYS:
                kept += [arg, value]
        else:
            kept.append(arg)
    return kept


def state(job: Job, out: Path) -> str:
    """done | failed | stale (made by another command, or a finished run made with another config) | missing (not
    run, or interrupted). Commands are compared without their config `--set`s, which config_changes() judges by
    what they resolve to."""
    record = read_record(job)
    if record and _what_runs(record.get("command") or []) != _what_runs(command_of(job, out)):
        return "stale"
    if (job.folder / job.done_file).is_file():
        return "stale" if config_changes(job) else "done"
    return "failed" if record.get("failed") else "missing"


def check_fresh(jobs: list[Job], out: Path) -> None:
    """Refuse to run when a planned folder holds a run of a different command."""
    stale = [job for job in jobs if state(job, out) == "stale"]
    if stale:
        folders = " ".join(str(job.folder) for job in stale)
        changed = config_changes(stale[0])
        why = f"; its config.yaml differs in {', '.join(changed[:5])}" if changed else ""
        raise ConfigError(f"{len(stale)} run folder(s) were made by a different command or config than the rows file "
                          f"asks for today (first: {stale[0].key}{why})", where=folders,
                          fix=f"remove them to retrain them (rm -r {folders}), or pass another --out")
