"""Run a table's planned jobs as subprocesses with one thread each, `workers` at a time, resumably.

A job whose done file (metrics.json, translate.json) exists is not run again. Each run folder gets job.json
(the command, and why it failed) and stderr.log. A folder made by a different command (the rows file
changed) is "stale": the script refuses to train over it, so a table never mixes old and new runs silently.
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from ablation_plan import Job

from raereid.errors import ConfigError

ONE_THREAD = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def command_of(job: Job, out: Path) -> list[str]:
    """The job's command as job.json records it: without the interpreter, the output folder as {out}."""
    return [a.replace(str(out), "{out}") for a in job.argv[1:]]


def _record(job: Job) -> dict:
    path = job.folder / "job.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def state(job: Job, out: Path) -> str:
    """done | failed | stale (made by another command) | missing (not run, or interrupted)."""
    record = _record(job)
    if record and record.get("command") != command_of(job, out):
        return "stale"
    if (job.folder / job.done_file).is_file():
        return "done"
    return "failed" if record.get("failed") else "missing"


def check_fresh(jobs: list[Job], out: Path) -> None:
    """Refuse to run when a planned folder holds a run of a different command."""
    stale = [job for job in jobs if state(job, out) == "stale"]
    if stale:
        folders = " ".join(str(job.folder) for job in stale)
        raise ConfigError(f"{len(stale)} run folder(s) were made by a different command than the rows file asks for "
                          f"(first: {stale[0].key})", where=folders,
                          fix=f"remove them to retrain them (rm -r {folders}), or pass another --out")


def _write(job: Job, out: Path, failed: str | None, seconds: float | None = None) -> None:
    job.folder.mkdir(parents=True, exist_ok=True)
    record = {"command": command_of(job, out), "failed": failed, "seconds": seconds}
    (job.folder / "job.json").write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")


def _run(job: Job, out: Path) -> str | None:
    """Run one job; None when it finished, else why it failed."""
    resume = ["--resume"] if (job.folder / job.resume_file).is_file() else []
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
