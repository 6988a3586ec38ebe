"""raereid.experiments beyond the tables' own tests (test_ablation_tables.py): a job resolves its config as
`raereid train` resolves its command, a key added to the config since a run was made leaves it reusable while at
its default, the flat layout of the demo, the demo's rows file and flags, and the runner's fresh runs, environment
and echoed lines."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from raereid.adapt.recipe import plan_stages
from raereid.cli.common import command_config
from raereid.cli.main import build_parser
from raereid.cli.train import FLAGS
from raereid.config.resolved import write_config
from raereid.config.schema import Config, flat_values
from raereid.errors import ConfigError
from raereid.experiments.demo import demo_jobs, demo_spec, parse_runs, run_names
from raereid.experiments.plan import Job, plan
from raereid.experiments.run import ONE_THREAD, one_thread_env, run_jobs
from raereid.experiments.spec import load_spec
from raereid.experiments.state import planned_config, state, write_record

ROWS = """
config: synthetic
iterations: 7
set: [train.gap_picture=false]
seeds: [3]
source_stages: {default: {set: [model.pooling=gem]}, translated: {source: "{translated}/DukeMTMC-reID"}}
translate: {config: translate-synthetic, source: dukemtmcreid, target: market1501}
rows:
  - {label: direct, variant: direct}
  - {label: + FT, variant: ft, config: synthetic-memory, set: [cluster.rho=0.0032]}
  - {label: full from P̂T, variant: full, source_stage: translated}
"""


def _spec(tmp_path: Path, text: str = ROWS):
    path = tmp_path / "rows.yaml"
    path.write_text(text, encoding="utf-8")
    return load_spec(path)


def test_a_job_resolves_its_config_as_raereid_train_resolves_its_command(tmp_path: Path) -> None:
    jobs = [job for job in plan(_spec(tmp_path), {"A": str(tmp_path)}, tmp_path / "out", [3]) if job.config]
    assert len(jobs) == 4  # two stages, two rows
    parser = build_parser()
    for job in jobs:
        args = parser.parse_args(list(job.argv[3:]))
        resolved = plan_stages(command_config(args, "train", FLAGS))[-1]  # what `raereid train` writes last
        assert flat_values(planned_config(job)) == flat_values(resolved), job.key
    assert planned_config(Job("t", "translate", tmp_path, ("x",))) is None


def test_a_key_added_since_a_run_leaves_it_done_while_at_its_default(tmp_path: Path) -> None:
    """An older raereid wrote no line for a key it did not have; load_config reads the missing key at its default."""
    spec = _spec(tmp_path, "config: synthetic\nseeds: [0]\nrows: [{label: direct, variant: direct}]\n")
    (job,) = plan(spec, {"A": str(tmp_path)}, tmp_path / "out", [0])
    job.folder.mkdir(parents=True)
    (job.folder / "metrics.json").write_text("{}")
    saved = job.folder / "config.yaml"
    write_config(planned_config(job), saved)
    assert state(job, tmp_path / "out") == "done"
    written = saved.read_text()
    default, preset = Config().model, planned_config(job).model
    assert default.flip_test == preset.flip_test and default.neck != preset.neck  # one key at its default, one not
    saved.write_text(written.replace(f"  flip_test: {str(preset.flip_test).lower()}\n", ""))
    assert saved.read_text() != written and state(job, tmp_path / "out") == "done"
    saved.write_text(written.replace(f"  neck: {preset.neck}\n", ""))
    assert state(job, tmp_path / "out") == "stale"  # read at the schema's default, which the preset changes


def test_the_flat_layout_keeps_one_folder_per_row(tmp_path: Path) -> None:
    spec = _spec(tmp_path, ROWS.replace("seeds: [3]", "seeds: [3]\nlayout: flat"))
    out = tmp_path / "out"
    folders = {job.key: job.folder for job in plan(spec, {"A": "/a"}, out, [3])}
    assert folders == {"translate A": out / "translated-A", "stage default A seed 3": out / "default",
                       "stage translated A seed 3": out / "translated", "row '+ FT' A seed 3": out / "+_FT",
                       "row 'full from P̂T' A seed 3": out / "full_from_P_T"}
    for draws, seeds in (({"A": "/a", "B": "/b"}, [3]), ({"A": "/a"}, [0, 1])):
        with pytest.raises(ConfigError) as info:
            plan(spec, draws, out, seeds)
        assert "layout flat" in info.value.message() and "one --draw and one seed" in (info.value.fix or "")
    with pytest.raises(ConfigError) as info:
        _spec(tmp_path, ROWS + "layout: wide\n")
    assert "layout" in (info.value.where or "") and "flat" in (info.value.fix or "")


def test_the_demo_is_its_rows_file_with_its_flags(tmp_path: Path) -> None:
    shipped = demo_spec()
    assert [(r.label, r.variant, r.config) for r in shipped.rows] == [
        ("direct", "direct", "synthetic"), ("baseline", "baseline", "synthetic"), ("full", "full", "synthetic")]
    assert (shipped.iterations, shipped.seeds, shipped.layout) == (150, (0,), "flat")
    assert parse_runs("full,full, direct ,ft@synthetic-hybrid") == [
        ("direct", "direct", "synthetic"), ("full", "full", "synthetic"), ("ft-hybrid", "ft", "synthetic-hybrid")]
    spec = demo_spec("baseline,full@synthetic-memory", 9, 4, ("optim.iterations=3", "data.k=2"))
    out = tmp_path / "out"
    jobs = demo_jobs(spec, tmp_path / "data", out)
    assert [job.folder for job in jobs] == [out / "direct", out / "full-memory", out / "baseline"]  # full first
    assert run_names(spec, out) == ["direct", "baseline", "full-memory"]  # the table's order: the file's
    assert jobs[0].env == (("CUDA_VISIBLE_DEVICES", ""),) and all(job.env is None for job in jobs[1:])
    stage, memory = (planned_config(job) for job in jobs[:2])
    assert (stage.train.variant, stage.train.seed, stage.data.k, stage.optim.iterations) == ("direct", 4, 2, 600)
    # the demo's --set comes last, as before: it wins over --adapt-iterations
    init = str(out / "direct" / "model.pt")
    assert (memory.learner.name, memory.optim.iterations, memory.train.init) == ("memory", 3, init)
    assert planned_config(demo_jobs(demo_spec(iterations=9), tmp_path, out)[1]).optim.iterations == 9


def _job(folder: Path, code: str, env: tuple[tuple[str, str], ...] | None = None) -> Job:
    return Job(folder.name, "row", folder, (sys.executable, "-c", code, str(folder)), env=env)


def test_the_runner_runs_fresh_with_each_jobs_environment_and_echoes_its_lines(tmp_path: Path) -> None:
    code = ("import os, sys, pathlib; f = pathlib.Path(sys.argv[1]); (f / 'count').open('a').write('x');"
            " print(os.environ.get('OMP_NUM_THREADS'), os.environ.get('RAEREID_X'), sys.argv[2:], file=sys.stderr);"
            " (f / 'checkpoints').mkdir(exist_ok=True); (f / 'checkpoints' / 'last.pt').write_text('');"
            " (f / 'metrics.json').write_text('{}')")
    jobs = [_job(tmp_path / "one", code), _job(tmp_path / "own", code, (("RAEREID_X", "7"),))]
    lines: list[tuple[str, str]] = []
    done: list[tuple[str, str | None]] = []
    outcome = run_jobs(jobs, tmp_path, 1, log=lambda line: None, echo=lambda job, line: lines.append((job.key, line)),
                       finished=lambda job, failed: done.append((job.key, failed)))
    assert outcome == {"one": "done", "own": "done"} and done == [("one", None), ("own", None)]
    assert lines == [("one", "1 None []"), ("own", f"{os.environ.get('OMP_NUM_THREADS')} 7 []")]
    assert (tmp_path / "one" / "stderr.log").read_text() == "1 None []\n"
    lines.clear()
    run_jobs(jobs, tmp_path, 1, log=lambda line: None, echo=lambda job, line: lines.append((job.key, line)))
    assert not lines  # done: not run again
    run_jobs(jobs, tmp_path, 2, log=lambda line: None, fresh=True, echo=lambda job, line: lines.append((job.key, line)))
    assert sorted(lines) == [("one", "1 None []"), ("own", f"{os.environ.get('OMP_NUM_THREADS')} 7 []")]  # no --resume
    assert (tmp_path / "one" / "count").read_text() == "xx"


def test_one_thread_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    monkeypatch.delenv("MKL_NUM_THREADS", raising=False)
    assert {k: one_thread_env()[k] for k in ONE_THREAD} == {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    assert {k: one_thread_env(keep_set=True)[k] for k in ONE_THREAD} == {"OMP_NUM_THREADS": "2", "MKL_NUM_THREADS": "1"}
    assert one_thread_env()["PATH"] == os.environ["PATH"]


SHARED = "config: synthetic\niterations: 7\nset: [train.gap_picture=false]\nseeds: [0]\nrows:\n{rows}"


def _finish(jobs: list[Job], model: bytes = b"stage weights") -> None:
    """Each training job's folder as its finished run leaves it: config.yaml as the run resolves it, metrics.json,
    model.pt (`model` for a stage, the row's own bytes for a row)."""
    for job in jobs:
        job.folder.mkdir(parents=True, exist_ok=True)
        write_config(planned_config(job), job.folder / "config.yaml")
        (job.folder / "metrics.json").write_text('{"mAP": 12.5, "rank1": 30.0}')
        (job.folder / "model.pt").write_bytes(model if job.kind == "stage" else job.key.encode())


def test_reuse_copies_only_runs_of_the_same_config_from_the_same_stage_model(tmp_path: Path) -> None:
    from raereid.experiments.reuse import reuse_runs

    first = _spec(tmp_path, SHARED.format(rows="  - {label: direct, variant: direct}\n"
                                               "  - {label: base, variant: baseline}\n"
                                               "  - {label: full, variant: full, set: [cluster.eps=0.5]}\n"))
    done = plan(first, {"A": str(tmp_path)}, tmp_path / "one", [0])
    _finish(done)
    second = _spec(tmp_path, SHARED.format(rows="  - {label: baseline again, variant: baseline}\n"
                                                "  - {label: full, variant: full}\n"))
    out = tmp_path / "two"
    jobs = plan(second, {"A": str(tmp_path)}, out, [0])
    stage, baseline, full = jobs
    write_record(baseline, out, None)  # what the runner leaves of a job stopped before its process wrote anything
    (baseline.folder / "stderr.log").write_text("")
    lines: list[str] = []
    copied = reuse_runs(jobs, out, [tmp_path / "one"], log=lines.append)
    assert copied == {stage.key: done[0].folder.resolve(), baseline.key: done[1].folder.resolve()}
    assert [state(job, out) for job in jobs] == ["done", "done", "missing"]  # full differs in cluster.eps
    assert len(lines) == 2 and (baseline.folder / "metrics.json").read_text() == '{"mAP": 12.5, "rank1": 30.0}'
    record = json.loads((baseline.folder / "job.json").read_text())
    assert record["reused_from"] == str(done[1].folder.resolve()) and record["failed"] is None
    assert not (baseline.folder / "stderr.log").exists() and not list(out.rglob("*.reusing"))
    assert reuse_runs(jobs, out, [tmp_path / "one"]) == {}  # nothing left to copy; the copies stay

    # A row is reused only when its stage here holds the very model.pt the candidate started from.
    for model, reused in ((b"other weights", False), (b"stage weights", True)):
        here = tmp_path / f"here-{reused}"
        jobs = plan(second, {"A": str(tmp_path)}, here, [0])
        _finish(jobs[:1], model)  # the stage trained in this table
        assert (jobs[1].key in reuse_runs(jobs, here, [tmp_path / "one"])) is reused
        assert state(jobs[1], here) == ("done" if reused else "missing")


def test_reuse_never_replaces_part_of_a_run_and_finishes_an_interrupted_copy(tmp_path: Path) -> None:
    from raereid.experiments.reuse import reuse_runs

    rows = _spec(tmp_path, SHARED.format(rows="  - {label: direct, variant: direct}\n"))
    _finish(plan(rows, {"A": str(tmp_path)}, tmp_path / "one", [0]))
    (job,) = plan(rows, {"A": str(tmp_path)}, tmp_path / "two", [0])
    (job.folder / "checkpoints").mkdir(parents=True)  # a run that started here: it resumes, it is not replaced
    assert reuse_runs([job], tmp_path / "two", [tmp_path / "one"]) == {}
    assert not (job.folder / "metrics.json").exists()
    (job.folder / "checkpoints").rmdir()
    leftover = job.folder.with_name(job.folder.name + ".reusing")  # a copy cut short by an interrupt
    (leftover / "checkpoints").mkdir(parents=True)
    assert job.key in reuse_runs([job], tmp_path / "two", [tmp_path / "one"])
    assert state(job, tmp_path / "two") == "done" and not leftover.exists()
    assert sorted(p.name for p in job.folder.iterdir()) == ["config.yaml", "job.json", "metrics.json", "model.pt"]


def test_an_unreadable_job_record_counts_as_not_run_and_is_written_whole_again(tmp_path: Path) -> None:
    from raereid.experiments.state import record_at

    rows = _spec(tmp_path, SHARED.format(rows="  - {label: direct, variant: direct}\n"))
    (job,) = plan(rows, {"A": str(tmp_path)}, tmp_path / "out", [0])
    job.folder.mkdir(parents=True)
    (job.folder / "job.json").write_text('{"command": ["-m", "raer')  # a write cut short
    assert record_at(job.folder) == {} and state(job, tmp_path / "out") == "missing"
    write_record(job, tmp_path / "out", "exit code 1", 3.0)
    assert record_at(job.folder)["failed"] == "exit code 1" and state(job, tmp_path / "out") == "failed"
    assert sorted(p.name for p in job.folder.iterdir()) == ["job.json"]


def test_raereid_table_reuse_makes_a_table_without_training_and_says_so(tmp_path: Path,
                                                                       capsys: pytest.CaptureFixture) -> None:
    from raereid.cli.main import main

    rows = SHARED.format(rows="  - {label: direct, variant: direct}\n  - {label: base, variant: baseline}\n")
    done = plan(_spec(tmp_path, rows), {"A": str(tmp_path)}, tmp_path / "one", [0])
    _finish(done)
    again = tmp_path / "again.yaml"
    again.write_text(rows.replace("label: base", "label: the baseline"))
    out = tmp_path / "two"
    table = ["table", str(again), "--draw", f"A={tmp_path}", "--out", str(out)]
    assert main([*table, "--reuse", str(tmp_path / "one")]) == 0
    printed = capsys.readouterr()
    assert "| the baseline | 12.5 | 12.5 |" in printed.out
    assert "2 of these runs were made for another table" in printed.out
    assert printed.err.count("reused") == 2
    assert main([*table, "--reuse", str(tmp_path / "nowhere")]) == 2
    assert "--reuse" in capsys.readouterr().err
    assert main([*table, "--reuse", str(tmp_path / "one"), "--table-only"]) == 2
    assert "--table-only touches none" in capsys.readouterr().err


def test_the_table_names_the_translated_folder_below_its_out_folder_not_by_a_machine_path(tmp_path: Path) -> None:
    from raereid.experiments.table import render

    out = tmp_path / "runs" / "T4"
    text = render(_spec(tmp_path), {"A": "DATA_A"}, [3], out, "test", {})
    assert "output (T4/translated-<draw>, below the --out folder)." in text and str(tmp_path) not in text
