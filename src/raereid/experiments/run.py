"""Run an experiment's planned jobs as subprocesses, `workers` at a time, each after the jobs it needs, resumably.

Every job runs with one BLAS/OpenMP thread (`ONE_THREAD`, the one definition of that environment in the package)
unless it says otherwise: on a 2-core machine two one-thread runs finish sooner than two two-thread runs in a row,
and a one-thread run gives the same numbers whatever else the machine is doing. A job whose done file
(metrics.json, translate.json) exists is not run again, and one with a checkpoint continues from it, unless the
caller asks for `fresh` runs (the demo: every run from the start, as a single `raereid train` does). Each run
folder gets job.json (experiments/state.py) and stderr.log.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from raereid.engine.run_folder import MODEL, RunFolder
from raereid.experiments.plan import Job
from raereid.experiments.state import TRAIN, read_record, state, write_record

ONE_THREAD: Mapping[str, str] = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def one_thread_env(keep_set: bool = False) -> dict[str, str]:
    """This process's environment with one BLAS/OpenMP thread for a subprocess; with `keep_set`, a thread count the
    environment already sets wins (a caller who asked for more threads gets them)."""
    kept = {k: v for k, v in os.environ.items() if k in ONE_THREAD} if keep_set else {}
    return {**os.environ, **ONE_THREAD, **kept}


def _environment(job: Job) -> dict[str, str]:
    return one_thread_env() if job.env is None else {**os.environ, **dict(job.env)}


def _continue_flags(job: Job, fresh: bool) -> list[str]:
    """How the job's command treats what its folder holds: a failed run is resumed (--resume), a fresh or
    unresumable training run restarts over its files (--overwrite); decided once, by RunFolder for a training run."""
    if tuple(job.argv[1:4]) != TRAIN:
        return ["--resume"] if not fresh and (job.folder / job.resume_file).is_file() else []
    folder = RunFolder(job.folder)
    return ["--resume"] if not fresh and folder.resumable() else ["--overwrite"] if folder.run_entries() else []


def _run(job: Job, out: Path, fresh: bool, echo: Callable[[Job, str], None] | None) -> str | None:
    """Run one job; None when it finished, else why it failed. Its stderr goes to stderr.log, each line also to
    `echo` when given."""
    resume = _continue_flags(job, fresh)
    write_record(job, out, None)
    started = time.perf_counter()
    with open(job.folder / "stderr.log", "w", encoding="utf-8") as err:
        if echo is None:
            code = subprocess.call([*job.argv, *resume], env=_environment(job), stdout=subprocess.DEVNULL, stderr=err)
        else:
            with subprocess.Popen([*job.argv, *resume], env=_environment(job), stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE, text=True, bufsize=1) as proc:
                assert proc.stderr is not None
                for line in proc.stderr:
                    err.write(line)
                    echo(job, line.rstrip("\n"))
            code = proc.returncode
    failed = None if code == 0 and (job.folder / job.done_file).is_file() else \
        f"exit code {code}" + ("" if code else f" but no {job.done_file}")
    write_record(job, out, failed, round(time.perf_counter() - started, 1))
    return failed


def run_jobs(jobs: list[Job], out: Path, workers: int, log: Callable[[str], None] = print, *, fresh: bool = False,
             echo: Callable[[Job, str], None] | None = None,
             finished: Callable[[Job, str | None], None] | None = None) -> dict[str, str]:
    """Run the jobs not done yet (all of them when `fresh`), each after the jobs it needs, in the order given as far
    as those allow; returns key -> done | failed. `log` gets a line per finished job, `echo` (job, line) every line
    a job writes to stderr, `finished` (job, None or why it failed) each job once it is over."""
    outcome = {} if fresh else {job.key: "done" for job in jobs if state(job, out) == "done"}
    # A source stage put back from its records (benchmarks/records.py) has no model.pt: it trains again (over its
    # files) when a row still to run starts from it.
    needed = {need for job in jobs if job.key not in outcome for need in job.needs}
    for job in jobs:
        if job.kind == "stage" and job.key in needed and not (job.folder / MODEL).is_file():
            outcome.pop(job.key, None)
    todo = [job for job in jobs if job.key not in outcome]
    # A translation (records keep none) runs only for a job still to run: a table whose translated rows are all done
    # does not train its translator again.
    waiting = {need for job in todo for need in job.needs}
    todo = [job for job in todo if job.kind != "translate" or job.key in waiting]
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
        failed = f"not run: {broken[0]} failed" if broken else _run(job, out, fresh, echo)
        outcome[job.key] = "failed" if failed else "done"
        log(f"[table] {job.key}: {failed or 'done'} after {time.perf_counter() - started:.0f} s "
            f"({next(count)}/{len(todo)})")
        if broken:
            write_record(job, out, failed)
        if finished is not None:
            finished(job, failed)

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
        parts.append("\n".join([f"FAILED {job.key}: {read_record(job).get('failed')} ({job.folder})",
                                *(f"    {line}" for line in tail)]))
    return "\n".join(parts)
