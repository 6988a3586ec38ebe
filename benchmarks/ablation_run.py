"""Run a table's planned jobs as subprocesses with one thread each, `workers` at a time, resumably.

A job whose done file (metrics.json, translate.json) exists is not run again. Each run folder gets job.json
(the command, and why it failed) and stderr.log. A folder made by a different command (the rows file
changed), or a training run whose config.yaml differs from what its command resolves to now (a preset
changed), is "stale": the script refuses to train over it, so a table never mixes old and new runs silently.
Config `--set`s are judged by the config they resolve to, not as text: a rows file may pin a value a preset
changed since, and keep the runs made with it.
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from functools import cache
from pathlib import Path
from typing import Any

from ablation_plan import Job

from raereid.engine.run_folder import RunFolder
from raereid.errors import ConfigError

ONE_THREAD = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def command_of(job: Job, out: Path) -> list[str]:
    """The job's command as job.json records it: without the interpreter, the output folder as {out}."""
    return [a.replace(str(out), "{out}") for a in job.argv[1:]]


def _record(job: Job) -> dict:
    path = job.folder / "job.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


FOLDER_KEYS = ("train.output", "train.init")  # where a run is, not what it is (a run copied to another row)
# Paths compared as absolute ones: raereid train writes them absolute into config.yaml since the runs of issue 30,
# earlier runs hold them as typed (relative to the folder the script ran from, as its commands are today).
PATH_KEYS = ("data.root", "data.source", "data.target", "model.pretrained")
TRAIN = ("-m", "raereid", "train")  # a training command, after the interpreter: the only kind whose config is compared


@cache
def _train_parser() -> Any:
    from raereid.cli.main import build_parser

    return build_parser()


def planned_config(argv: tuple[str, ...]) -> Any:
    """The Config that a `python -m raereid train ...` command's run writes to its config.yaml (its last stage's),
    resolved with today's presets; None for any other command (a translation)."""
    if tuple(argv[1:4]) != TRAIN:
        return None
    from raereid.adapt.recipe import plan_stages
    from raereid.cli.common import command_config
    from raereid.cli.train import FLAGS

    return plan_stages(command_config(_train_parser().parse_args(list(argv[3:])), "train", FLAGS))[-1]


def resolved_now(argv: tuple[str, ...]) -> dict[str, Any] | None:
    """`planned_config` as {"section.key": value}, without the keys that name folders; None for a translation."""
    from raereid.config.schema import flat_values

    cfg = planned_config(argv)
    return None if cfg is None else {k: v for k, v in flat_values(cfg).items() if k not in FOLDER_KEYS}


def config_changes(job: Job) -> tuple[str, ...]:
    """The keys whose value in the run's config.yaml differs from what its command resolves to now (every key when
    the run has no readable config.yaml); () when they agree or the job is not a training run. Worked out once per
    version of the file: state() asks it for every finished run at each pass (check, run, table, report)."""
    path = job.folder / "config.yaml"
    version = (path.stat().st_mtime_ns, path.stat().st_size) if path.is_file() else None
    return _config_changes(job.argv, path, version)


@cache
def _config_changes(argv: tuple[str, ...], path: Path, version: tuple[int, int] | None) -> tuple[str, ...]:
    from raereid.config import load_config
    from raereid.config.schema import flat_values
    from raereid.errors import RaeReidError

    try:
        now = resolved_now(argv)
    except RaeReidError as exc:
        return (f"(its command no longer resolves: {exc.message()})",)
    if now is None:
        return ()
    try:
        then = flat_values(load_config(str(path)))
    except (RaeReidError, OSError):
        return tuple(sorted(now))
    now, then = _absolute(now), _absolute(then)
    return tuple(sorted(k for k in now if then.get(k) != now[k]))


def _absolute(values: dict[str, Any]) -> dict[str, Any]:
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
    record = _record(job)
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


def _write(job: Job, out: Path, failed: str | None, seconds: float | None = None) -> None:
    job.folder.mkdir(parents=True, exist_ok=True)
    record = {"command": command_of(job, out), "failed": failed, "seconds": seconds}
    (job.folder / "job.json").write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")


def _run(job: Job, out: Path) -> str | None:
    """Run one job; None when it finished, else why it failed."""
    resume = ["--resume"] if (job.folder / job.resume_file).is_file() else []
    if tuple(job.argv[1:4]) == TRAIN and not resume:  # a training run that failed: resume it, or start it again
        folder = RunFolder(job.folder)
        resume = ["--resume"] if folder.resumable() else ["--overwrite"] if folder.run_entries() else []
    _write(job, out, None)
    started = time.perf_counter()
    with open(job.folder / "stderr.log", "w", encoding="utf-8") as err:
        code = subprocess.call([*job.argv, *resume], env={**os.environ, **ONE_THREAD}, stdout=subprocess.DEVNULL,
                               stderr=err)
    failed = None if code == 0 and (job.folder / job.done_file).is_file() else \
        f"exit code {code}" + ("" if code else f" but no {job.done_file}")
    _write(job, out, failed, round(time.perf_counter() - started, 1))
    return failed


def run_jobs(jobs: list[Job], out: Path, workers: int, log: Callable[[str], None] = print) -> dict[str, str]:
    """Run the jobs not done yet, each after the jobs it needs; returns key -> done | failed."""
    outcome = {job.key: "done" for job in jobs if state(job, out) == "done"}
    todo = [job for job in jobs if job.key not in outcome]
    futures: dict[str, Future] = {}
    stop, count = threading.Event(), iter(range(1, len(todo) + 1))

    def work(job: Job) -> None:
        for need in job.needs:  # submitted earlier (jobs come in plan order), so running or finished: no deadlock
            if need in futures:
                futures[need].result()
        broken = [need for need in job.needs if outcome.get(need) != "done"]
        if stop.is_set():
            return
        started = time.perf_counter()
        failed = f"not run: {broken[0]} failed" if broken else _run(job, out)
        outcome[job.key] = "failed" if failed else "done"
        log(f"[ablation] {job.key}: {failed or 'done'} after {time.perf_counter() - started:.0f} s "
            f"({next(count)}/{len(todo)})")
        if broken:
            _write(job, out, failed)

    with ThreadPoolExecutor(max_workers=workers) as pool:
        try:
            for job in todo:
                futures[job.key] = pool.submit(work, job)
            for future in futures.values():
                future.result()
        except KeyboardInterrupt:
            stop.set()
            pool.shutdown(wait=True, cancel_futures=True)
            raise
    return outcome


def failure_report(jobs: list[Job], out: Path, lines: int = 5) -> str:
    """Every failed job: why, its folder and the last lines of its stderr.log."""
    parts = []
    for job in jobs:
        if state(job, out) != "failed":
            continue
        err = job.folder / "stderr.log"
        tail = err.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:] if err.is_file() else []
        parts.append("\n".join([f"FAILED {job.key}: {_record(job).get('failed')} ({job.folder})",
                                *(f"    {line}" for line in tail)]))
    return "\n".join(parts)
