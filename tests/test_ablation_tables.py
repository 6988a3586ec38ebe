"""`raereid table` (raereid.experiments), the runner behind every results table and the demo: its rows file, the
plan of runs (source stages once per seed and draw, rows after them), the runner and its stale-run check, the
table's arithmetic and the --write block."""

from __future__ import annotations

import json
import math
import re
import shutil
import sys
import time
from pathlib import Path

import pytest
from conftest import tiny_overrides

from raereid.cli.main import main
from raereid.errors import ConfigError, PathError
from raereid.experiments.plan import Job, plan, row_folder, stage_folder
from raereid.experiments.run import failure_report, run_jobs
from raereid.experiments.spec import load_spec
from raereid.experiments.state import check_fresh, command_of, planned_config, state
from raereid.experiments.table import render, replace_block, run_values, stats

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import records

ROOT = Path(__file__).resolve().parents[1]


def raereid_table(argv: list[str]) -> int:
    """`raereid table ARGV...`."""
    return main(["table", *argv])

FULL = """
name: demo
config: synthetic
iterations: 250
set: [train.gap_picture=false]
seeds: [0, 1]
columns: [psnr_source, ari_last]
translate: {config: translate-synthetic, source: dukemtmcreid, target: market1501}
source_stages:
  default: {}
  translated: {source: "{translated}/DukeMTMC-reID"}
  gem: {set: [model.pooling=gem, optim.iterations=300]}
  unused: {}
rows:
  - {label: direct, variant: direct}
  - {label: baseline, variant: baseline}
  - {label: + FT, variant: ft, set: [cluster.rho=0.0032], config: synthetic-memory}
  - {label: baseline + P̂T, variant: baseline, source_stage: translated}
  - {label: full GeM, variant: full, source_stage: gem}
"""


def _spec(tmp_path: Path, text: str = FULL, name: str = "demo.yaml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return load_spec(path)


def test_rows_file_defaults_and_inheritance(tmp_path: Path) -> None:
    spec = _spec(tmp_path, "config: synthetic\nrows: [{label: b, variant: baseline}]\n", "mine.yaml")
    assert (spec.name, spec.seeds, list(spec.stages), spec.iterations) == ("mine", (0, 1, 2), ["default"], None)
    assert (spec.rows[0].stage, spec.rows[0].config) == ("default", "synthetic")
    full = _spec(tmp_path)
    pt = full.rows[3]
    assert (pt.stage, pt.source) == ("translated", "{translated}/DukeMTMC-reID")  # a row trains on its stage's source
    assert (full.rows[2].config, full.rows[2].sets) == ("synthetic-memory", ("cluster.rho=0.0032",))


@pytest.mark.parametrize("name", ["table4", "learners", "pooling"])
def test_shipped_rows_files_parse(name: str) -> None:
    spec = load_spec(ROOT / "benchmarks" / "tables" / f"{name}.yaml")
    assert spec.name == name and spec.seeds == (0, 1, 2) and any(r.variant == "direct" for r in spec.rows)


@pytest.mark.parametrize("path", sorted((ROOT / "benchmarks" / "tables").glob("*.yaml")), ids=lambda p: p.stem)
def test_every_rows_file_parses_and_its_doc_has_its_block(path: Path) -> None:
    """Each file's header names the doc its `--write` regenerates; that doc must hold the marker pair, or the
    command the header gives fails before training."""
    spec = load_spec(path)
    header = [line for line in path.read_text(encoding="utf-8").splitlines() if line.startswith("#")]
    written = re.findall(r"--write (\S+)", " ".join(header))
    assert written, f"{path.name}: the header gives no regenerate command with --write DOC"
    for doc in written:
        text = (ROOT / doc).read_text(encoding="utf-8")
        assert f"<!-- table:{spec.name} -->" in text and f"<!-- /table:{spec.name} -->" in text, (path.name, doc)


BAD = [
    ("config: synthetic\nrow: []\n", "row", "use only"),
    ("rows: [{label: a, variant: baseline}]\n", "config", "config: synthetic"),
    ("config: synthetic\nrows: [{label: a}]\n", "rows[0]", "variant: ft"),
    ("config: synthetic\nrows: [{label: a, variant: fancy}]\n", "rows[0].variant", "baseline"),
    ("config: synthetic\nrows: [{label: a, variant: ft, source_stage: gem}]\n", "rows[0].source_stage",
     "source_stages"),
    ("config: synthetic\nrows: [{label: a, variant: ft, set: [cluster.rho]}]\n", "rows[0].set[0]", "section.key=value"),
    ("config: synthetic\nrows: [{label: a, variant: ft, set: [train.init=x.pt]}]\n", "rows[0].set[0]", "remove"),
    ("config: synthetic\nrows: [{label: a, variant: direct, set: [a.b=1]}]\n", "rows[0]", "source_stages.default"),
    ("config: synthetic\nseeds: [0, x]\nrows: [{label: a, variant: ft}]\n", "seeds", "seeds: [0, 1, 2]"),
    ("config: synthetic\ncolumns: [fps]\nrows: [{label: a, variant: ft}]\n", "columns", "psnr_source"),
    ("config: synthetic\nrows: [{label: a, variant: ft, source: '{translated}/D'}]\n", "translate", "translate:"),
    ("config: synthetic\nrows: [{label: a b, variant: ft}, {label: a/b, variant: ft}]\n", "rows[1].label", "label"),
    ("config: synthetic\nrows: [{label: a, variant: ft}\n", "", "YAML"),
    ("config: synthetic\nsource_stages: {gem: {pool: gem}}\nrows: [{label: a, variant: ft}]\n",
     "source_stages.gem.pool", "use only"),
]


@pytest.mark.parametrize(("text", "key", "fix"), BAD)
def test_bad_rows_file_names_file_key_and_fix(tmp_path: Path, text: str, key: str, fix: str) -> None:
    with pytest.raises(ConfigError) as info:
        _spec(tmp_path, text, "bad.yaml")
    assert "bad.yaml" in info.value.message() and key in (info.value.where or "")
    assert fix in (info.value.fix or "")


def test_plan_stages_once_rows_after_translation_once_per_draw(tmp_path: Path) -> None:
    spec, out = _spec(tmp_path), tmp_path / "out"
    jobs = plan(spec, {"A": "/data/a", "B": "/data/b"}, out, [0, 1])
    keys = [job.key for job in jobs]
    assert len(keys) == len(set(keys))
    for i, job in enumerate(jobs):  # every job comes after the jobs it needs
        assert all(need in keys[:i] for need in job.needs), job.key
    assert [j.key for j in jobs if j.kind == "translate"] == ["translate A", "translate B"]
    stages = sorted(j.key for j in jobs if j.kind == "stage")  # once per used stage, seed and draw; `unused` never
    assert stages == sorted(f"stage {s} {d} seed {n}" for s in ("default", "translated", "gem")
                            for d in "AB" for n in (0, 1))
    assert len([j for j in jobs if j.kind == "row"]) == 4 * 2 * 2  # the direct row is its stage's run: no job
    by_key = {job.key: job for job in jobs}
    pt = by_key["row 'baseline + P̂T' B seed 1"]
    assert pt.needs == ("stage translated B seed 1", "translate B")
    argv = " ".join(pt.argv)
    assert f"--source {out}/translated-B/DukeMTMC-reID" in argv and "--data-root /data/b" in argv and "--seed 1" in argv
    assert f"train.init={stage_folder(out, 'B', 'translated', 1)}/model.pt" in argv and "optim.iterations=250" in argv
    gem_stage = " ".join(by_key["stage gem A seed 0"].argv)
    assert "--variant direct" in gem_stage and "optim.iterations=300" in gem_stage
    assert "optim.iterations=250" not in gem_stage
    gem_row = by_key["row 'full GeM' A seed 0"].argv  # the row runs with its stage's overrides but its own iterations
    assert "model.pooling=gem" in gem_row and "optim.iterations=250" in gem_row
    assert "optim.iterations=300" not in gem_row
    ft = " ".join(by_key["row '+ FT' A seed 0"].argv)
    assert "--config synthetic-memory" in ft and "cluster.rho=0.0032" in ft and "--source" not in ft
    assert by_key["translate A"].argv[3:] == ("translate", "--config", "translate-synthetic", "--data-root", "/data/a",
                                             "--source", "dukemtmcreid", "--target", "market1501",
                                             "--out", str(out / "translated-A"))


def test_plan_without_translated_rows_has_no_translate_job(tmp_path: Path) -> None:
    spec = _spec(tmp_path, FULL.replace("source_stage: translated", "source_stage: default"))
    assert not [job for job in plan(spec, {"A": "/a"}, tmp_path, [0]) if job.kind == "translate"]


def test_stats_by_hand() -> None:
    s = stats([10.0, 12.0, 17.0])  # deviations -3, -1, 4: (9 + 1 + 16) / 2 = 13
    assert (s.n, s.mean, s.spread) == (3, 13.0, 7.0) and math.isclose(s.std, math.sqrt(13))
    s = stats([8.0, None, 9.0])
    assert (s.n, s.mean, s.spread) == (2, 8.5, 1.0) and math.isclose(s.std, math.sqrt(0.5))
    assert stats([5.0]) == type(s)(1, 5.0, None, None) and stats([None]).mean is None


def _fake_run(folder: Path, mAP: float, rank1: float, **extra: object) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "metrics.json").write_text(json.dumps({"mAP": mAP, "rank1": rank1, **extra}))


def _record_configs(jobs: list[Job]) -> None:
    """Beside each fabricated finished run, the config.yaml its command writes (the runner checks it)."""
    from raereid.config.resolved import write_config

    for job in jobs:
        if (job.folder / "metrics.json").is_file():
            write_config(planned_config(job), job.folder / "config.yaml")


def _row_cells(table: str, label: str) -> list[str]:
    line = next(line for line in table.splitlines() if line.startswith(f"| {label} |"))
    return [cell.strip() for cell in line.strip("|").split("|")]


def test_table_from_fabricated_runs(tmp_path: Path) -> None:
    spec, out = _spec(tmp_path), tmp_path / "out"
    draws, seeds = {"A": "/a", "B": "/b"}, [0, 1]
    direct = spec.rows[0]
    _fake_run(row_folder(out, "A", direct, 0), 5.0, 6.0, psnr_source=17.25, val={"mAP": 7.0, "rank1": 8.0})
    _fake_run(row_folder(out, "A", direct, 1), 6.0, 9.0, val={"mAP": 9.0})
    (row_folder(out, "A", direct, 0) / "train.log").write_text("clustering: ARI 0.300, NMI 0.5\nARI 0.450 x\n")
    base = spec.rows[1]
    _fake_run(row_folder(out, "B", base, 0), 10.0, 12.0)
    jobs = plan(spec, draws, out, seeds)
    _record_configs(jobs)
    failed = next(job for job in jobs if job.folder == row_folder(out, "B", base, 1))
    failed.folder.mkdir(parents=True)
    (failed.folder / "job.json").write_text(json.dumps({"command": command_of(failed, out), "failed": "exit code 1"}))
    states = {job.folder: state(job, out) for job in jobs}
    table = render(spec, draws, seeds, out, "test", states)
    #        row     A: mAP       mean   spread std    R1 mean psnr    ari   | B: ...
    assert _row_cells(table, "direct")[:8] == ["direct", "5.0 / 6.0", "5.5", "1.0", "0.7", "7.5", "17.2", "0.45"]
    assert _row_cells(table, "baseline")[8:11] == ["10.0 / failed", "10.0*", "-"]
    assert _row_cells(table, "+ FT")[1:3] == ["- / -", "-"]
    assert "**test** split" in table
    assert "`translated` (config synthetic, source {translated}/DukeMTMC-reID): baseline + P̂T" in table
    val = render(spec, draws, seeds, out, "val", states)
    assert "**val** split" in val and _row_cells(val, "direct")[1:6] == ["7.0 / 9.0", "8.0", "2.0", "1.4", "8.0"]
    assert run_values(tmp_path / "nowhere", "test") == {}


def test_write_replaces_the_marked_block_only(tmp_path: Path) -> None:
    doc = "# Title\nbefore\n<!-- table:t4 -->\nold table\n<!-- /table:t4 -->\nafter\n"
    new = replace_block(doc, "t4", "| new |\n", tmp_path / "README.md")
    assert new == "# Title\nbefore\n<!-- table:t4 -->\n| new |\n<!-- /table:t4 -->\nafter\n"
    assert replace_block(new, "t4", "| new |\n", tmp_path / "README.md") == new
    for broken in (doc.replace("<!-- /table:t4 -->", ""), doc.replace("t4", "other"), doc + "<!-- table:t4 -->\n"):
        with pytest.raises(PathError) as info:
            replace_block(broken, "t4", "x", tmp_path / "README.md")
        assert "README.md" in info.value.message() and "<!-- table:t4 -->" in (info.value.fix or "")


@pytest.mark.parametrize(("extra", "message"), [
    (["--write", "{doc}"], "no single <!-- table:demo -->"),
    (["--draw", "A={tmp}"], "--draw A is given twice"),
    (["--draw", "B"], "is not NAME=DATA_ROOT"),
    (["--draw", "B={tmp}/missing"], "is not a folder"),
    (["--seeds", "0", "0"], "repeats a seed"),
    (["--jobs", "0"], "--jobs must be at least 1"),
])
def test_command_line_mistakes_stop_before_training(tmp_path: Path, capsys: pytest.CaptureFixture,
                                                    extra: list[str], message: str) -> None:
    _spec(tmp_path)
    doc = tmp_path / "doc.md"
    doc.write_text("no markers here\n")
    extra = [a.format(doc=doc, tmp=tmp_path) for a in extra]
    code = raereid_table([str(tmp_path / "demo.yaml"), "--draw", f"A={tmp_path}", "--out", str(tmp_path / "runs"),
                          *extra])
    assert code == 2 and message in capsys.readouterr().err and not (tmp_path / "runs").exists()


def _job(tmp_path: Path, key: str, code: str, needs: tuple[str, ...] = (), kind: str = "row") -> Job:
    folder = tmp_path / key
    return Job(key, kind, folder, (sys.executable, "-c", code, str(folder)), needs)


def test_runner_resumes_keeps_failures_and_skips_dependents(tmp_path: Path) -> None:
    ok = ("import sys, pathlib; f = pathlib.Path(sys.argv[1]); (f / 'count').open('a').write('x');"
          " (f / 'metrics.json').write_text('{}')")
    bad = "import sys; sys.stderr.write('boom: bad input'); sys.exit(3)"
    jobs = [_job(tmp_path, "stage", ok), _job(tmp_path, "bad", bad), _job(tmp_path, "row", ok, ("stage",)),
            _job(tmp_path, "orphan", ok, ("bad",))]
    lines: list[str] = []
    outcome = run_jobs(jobs, tmp_path, 2, log=lines.append)
    assert outcome == {"stage": "done", "bad": "failed", "row": "done", "orphan": "failed"} and len(lines) == 4
    assert [state(job, tmp_path) for job in jobs] == ["done", "failed", "done", "failed"]
    report = failure_report(jobs, tmp_path)
    assert "FAILED bad: exit code 3" in report and "boom: bad input" in report and "not run: bad failed" in report
    lines.clear()
    run_jobs(jobs, tmp_path, 2, log=lines.append)  # done runs are not trained again; failed ones are retried
    assert (tmp_path / "stage" / "count").read_text() == "x" and len(lines) == 2
    changed = [Job(j.key, j.kind, j.folder, (*j.argv, "--more"), j.needs) for j in jobs]
    with pytest.raises(ConfigError) as info:
        check_fresh(changed, tmp_path)
    assert "different command" in info.value.message() and "rm -r" in (info.value.fix or "")
    # a command that is not a training run (a translation) is compared whole: its --sets are not judged by a config
    sets = [Job(j.key, j.kind, j.folder, (*j.argv, "--set", "translate.iterations=9"), j.needs) for j in jobs]
    assert state(sets[0], tmp_path) == "stale"


def test_a_stage_without_its_model_trains_again_only_when_a_row_to_run_starts_from_it(tmp_path: Path) -> None:
    """A source stage put back from its records (benchmarks/records.py: metrics.json, no model.pt), and a
    translation (records keep none): each runs only for a job still to run."""
    ok = ("import sys, pathlib; f = pathlib.Path(sys.argv[1]); (f / 'count').open('a').write('x');"
          " (f / 'metrics.json').write_text('{}'); (f / 'model.pt').write_text('w')")
    stage, row = _job(tmp_path, "stage", ok, kind="stage"), _job(tmp_path, "row", ok, ("stage",))
    assert run_jobs([stage, row], tmp_path, 1, log=lambda line: None) == {"stage": "done", "row": "done"}
    (stage.folder / "model.pt").unlink()
    assert run_jobs([stage, row], tmp_path, 1, log=lambda line: None) == {"stage": "done", "row": "done"}
    assert (stage.folder / "count").read_text() == "x"  # every row is done: the stage is not needed
    shutil.rmtree(row.folder)
    assert run_jobs([stage, row], tmp_path, 1, log=lambda line: None) == {"stage": "done", "row": "done"}
    assert (stage.folder / "count").read_text() == "xx" and (stage.folder / "model.pt").is_file()
    translate = Job("translate", "translate", tmp_path / "translate", (sys.executable, "-c", ok, str(tmp_path / "t")))
    (tmp_path / "t").mkdir()
    needing = Job(stage.key, "stage", stage.folder, stage.argv, ("translate",))
    assert run_jobs([translate, needing, row], tmp_path, 1, log=lambda line: None) == {"stage": "done", "row": "done"}
    assert not (tmp_path / "t" / "count").exists()  # its stage and row are done: the translation is not needed


def test_end_to_end_on_the_tiny_benchmark(tiny_bench: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    skip = ("data.root=", "train.output=", "train.variant=", "optim.iterations=", "source.iterations=")
    sets = [kv for kv in tiny_overrides(tiny_bench, tmp_path, "baseline", 2) if not kv.startswith(skip)]
    rows = tmp_path / "tiny.yaml"
    rows.write_text(json.dumps({"name": "tiny", "config": "synthetic", "iterations": 2, "seeds": [0],
                                "set": [*sets, "train.gap_picture=false"],
                                "source_stages": {"default": {"set": ["source.iterations=2"]}},
                                "rows": [{"label": "direct", "variant": "direct"},
                                         {"label": "baseline", "variant": "baseline"}]}))
    doc = tmp_path / "doc.md"
    doc.write_text("x\n<!-- table:tiny -->\n<!-- /table:tiny -->\ny\n")
    args = [str(rows), "--draw", f"A={tiny_bench}", "--out", str(tmp_path / "runs"), "--write", str(doc)]
    assert raereid_table(args) == 0
    printed = capsys.readouterr()
    for label in ("direct", "baseline"):
        cells = _row_cells(printed.out, label)
        assert cells[1] != "-" and float(cells[1]) == float(cells[2])  # one seed: its mAP is the mean
    assert "stage default A seed 0: done" in printed.err and "row 'baseline' A seed 0: done" in printed.err
    metrics = json.loads((tmp_path / "runs/A/rows/baseline/seed0/metrics.json").read_text())
    assert metrics["variant"] == "baseline" and metrics["iterations"] == 2
    assert "train.init" in (tmp_path / "runs/A/rows/baseline/seed0/command.txt").read_text()
    written = doc.read_text()
    assert written.startswith("x\n<!-- table:tiny -->\n") and written.endswith("<!-- /table:tiny -->\ny\n")
    assert "regenerate with: `raereid table" in written and "| baseline |" in written
    started = time.perf_counter()
    assert raereid_table(args) == 0  # resumable: nothing left to train
    assert time.perf_counter() - started < 5 and "done after" not in capsys.readouterr().err
    # The runs' records (benchmarks/records.py), put back into another folder, are the same table, with nothing to train
    assert records.copy_records(tmp_path / "runs", tmp_path / "kept", records.finished_runs(tmp_path / "runs"))[1] == []
    assert records.copy_records(tmp_path / "kept", tmp_path / "back", records.finished_runs(tmp_path / "kept"))[1] == []
    assert not list((tmp_path / "back").rglob("*.pt"))
    assert raereid_table([str(rows), "--draw", f"A={tiny_bench}", "--out", str(tmp_path / "back"), "--table-only"]) == 0
    assert _row_cells(capsys.readouterr().out, "baseline")[1:3] == cells[1:3]
    # A rows file that pins a value the runs already have (a preset changed since) keeps them; another value does not
    spec = json.loads(rows.read_text())
    neck = re.search(r"^  neck: (\w+)$", (tmp_path / "runs/A/rows/baseline/seed0/config.yaml").read_text(), re.M)
    assert neck, "config.yaml names the model's neck"
    other = "none" if neck.group(1) == "bn" else "bn"
    for pinned, verdict in ((neck.group(1), "done"), (other, "stale")):
        rows.write_text(json.dumps({**spec, "set": [*spec["set"], f"model.neck={pinned}"]}))
        assert raereid_table([*args[:-2], "--table-only"]) == 0
        table = capsys.readouterr().out
        assert {_row_cells(table, label)[1] != "stale" for label in ("direct", "baseline")} == {verdict == "done"}
    rows.write_text(json.dumps(spec))
    # A preset that changed under a finished run (same command, other config) makes it stale: never reused silently
    saved = tmp_path / "runs/A/rows/baseline/seed0/config.yaml"
    text = saved.read_text()
    saved.write_text(text.replace(neck.group(0), f"  neck: {other}"))
    assert raereid_table([*args[:-2], "--table-only"]) == 0
    assert _row_cells(capsys.readouterr().out, "baseline")[1] == "stale"
    assert raereid_table(args) == 2
    err = capsys.readouterr().err
    assert "different command or config" in err and "model.neck" in err and "rm -r" in err
