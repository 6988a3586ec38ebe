"""raereid report: the page's content read with an HTML parser, the commands recorded with runs, and bad inputs.

The page in a real browser is checked in test_report_browser.py.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
from pathlib import Path

import pytest
from report_fixtures import ReportRuns, parse_page, train_cli

from raereid.cli.main import main
from raereid.report.build import write_report
from raereid.report.runs import ReportError

FAST = ["--topk", "2", "--num-queries", "1", "--extremes", "1", "--device", "cpu"]


def _rows(doc) -> list:
    return doc.find_all("table", id="results-table")[0].find_all("tbody")[0].find_all("tr")


def _copy_run(run: Path, dest: Path, drop: tuple[str, ...] = ()) -> Path:
    shutil.copytree(run, dest)  # copy2 keeps modification times: the order the runs finished
    for name in drop:
        (dest / name).unlink()
    return dest


def test_table_has_every_run_with_the_metrics_of_its_metrics_json(report_runs: ReportRuns, report_page: Path) -> None:
    doc = parse_page(report_page)
    table = doc.find_all("table", id="results-table")[0]
    assert "sortable" in table.classes()
    heads = [th.all_text().strip() for th in table.find_all("th")]
    assert heads == ["run", "variant", "learner", "source → target", "R1", "R5", "R10", "mAP", "mINP", "val mAP",
                     "PSNR s", "PSNR t", "iters", "time"]
    rows = _rows(doc)
    assert len(rows) == 2
    for row, run in zip(rows, (report_runs.direct, report_runs.full)):
        metrics = json.loads((run / "metrics.json").read_text())
        cells = row.find_all("td")
        assert cells[0].all_text().strip() == run.name and cells[1].all_text() == metrics["variant"]
        # the learner, and the row of the paper's Tables II / III the run stands for (full RAE: "RAE (Ours)")
        paper = {"direct": "", "full": "paper: RAE (Ours)"}[metrics["variant"]]
        assert cells[2].all_text() == metrics["learner"] + paper
        for cell, key in zip(cells[4:9], ("rank1", "rank5", "rank10", "mAP", "mINP")):
            assert float(cell.attrs["data-value"]) == metrics[key] and cell.all_text() == f"{metrics[key]:.1f}"
        assert cells[9].all_text() == f"{metrics['val']['mAP']:.1f}"  # the benchmark's validation split
        assert cells[10].all_text() == f"{metrics['psnr_source']:.1f}"
        assert cells[11].all_text() == f"{metrics['psnr_target']:.1f}"
        assert cells[12].all_text() == str(metrics["iterations"])
        assert cells[13].all_text() == f"{metrics['seconds']:.0f}s"


def test_curves_are_drawn_for_every_logged_group(report_page: Path) -> None:
    doc = parse_page(report_page)
    figures = {f.attrs["id"]: f for f in doc.find_all("figure") if f.attrs.get("id", "").startswith("curves-")}
    # eval/ is logged once per run here (evaluated only at the end): a point, not a curve
    assert set(figures) == {"curves-loss", "curves-lr", "curves-cluster", "curves-labels", "curves-label_free",
                            "curves-label_free_snapshot"}
    assert "ARI" in figures["curves-labels"].all_text()
    for figure in figures.values():
        (img,) = figure.find_all("img")
        assert (report_page.parent / img.attrs["src"]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def _label_rank(rlist) -> int:
    return int(re.search(r"first true match: rank (\d+)", rlist.find_all("div", cls="label")[0].all_text()).group(1))


def test_ranked_lists_follow_the_evaluators_protocol(report_page: Path) -> None:
    blocks = parse_page(report_page).find_all("div", cls="query")
    chosen = [b for b in blocks if len(b.find_all("div", cls="rlist")) == 2]
    assert len(chosen) == 3 and len(blocks) == 3 + 2 * 2 * 2  # 3 queries for both runs; 2 best + 2 worst per run
    seen = set()
    for block in blocks:
        query = block.find_all("figure", cls="q")[0]
        pid, cam = block.attrs["data-pid"], block.attrs["data-cam"]
        assert query.attrs["title"].startswith(f"query: id {pid} {cam} ")
        for rlist in block.find_all("div", cls="rlist"):
            cells = rlist.find_all("figure", cls="cell")
            assert len(cells) == 4
            sims = [float(c.find_all("figcaption")[0].all_text()) for c in cells]
            assert sims == sorted(sims, reverse=True)
            for cell in cells:
                rid, rcam = re.match(r"rank \d+: id (-?\d+) (c\d+),", cell.attrs["title"]).groups()
                assert ("hit" in cell.classes()) == (rid == pid) and ("miss" in cell.classes()) == (rid != pid)
                assert not (rid == pid and rcam == cam)  # same person, same camera: skipped by the protocol
                seen.add("hit" in cell.classes())
            assert ("hit" in cells[0].classes()) == (_label_rank(rlist) == 1)
    assert seen == {True, False}
    for block in chosen:  # the same query ranked by each run, in the table's order
        labels = [r.find_all("div", cls="label")[0].find_all("b")[0].all_text() for r in block.find_all("div",
                                                                                                        cls="rlist")]
        assert labels == ["direct", "full"]


def test_page_is_self_contained(report_page: Path) -> None:
    doc = parse_page(report_page)
    images = doc.find_all("img")
    assert len(images) > 50
    for img in images:
        src = img.attrs["src"]
        assert not re.match(r"^([a-z]+:|/)", src), src
        assert (report_page.parent / src).resolve().is_relative_to(report_page.parent.resolve())
        assert (report_page.parent / src).stat().st_size > 0
    assert not [s for s in doc.find_all("script") if "src" in s.attrs] and not doc.find_all("link")
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", report_page.read_text())


def test_pictures_and_runs_section(report_runs: ReportRuns, report_page: Path) -> None:
    doc = parse_page(report_page)
    pictures = doc.find_all("section", id="pictures")[0]
    alts = [img.attrs["alt"] for img in pictures.find_all("img")]
    # the source stage (direct) trains Dec too: both runs have reconstructions
    assert alts == ["direct: Domain gap", "direct: Reconstructions", "full: Domain gap", "full: Reconstructions"]
    runs = doc.find_all("section", id="runs")[0]
    for run in (report_runs.direct, report_runs.full):
        article = runs.find_all("article", id=f"run-{run.name}")[0]
        command = article.find_all("pre")[0].all_text()
        assert command == (run / "command.txt").read_text().strip()
        assert "variant: " + run.name in article.find_all("details")[0].all_text()  # the config, from model.pt
    differing = [tr.find_all("td")[0].all_text() for tr in runs.find_all("table",
                                                                         id="config-differences")[0].find_all("tr")[1:]]
    assert {"train.variant", "optim.iterations", "train.init"} <= set(differing)


def test_train_records_its_command(report_runs: ReportRuns) -> None:
    text = (report_runs.full / "command.txt").read_text()
    argv = shlex.split(text)
    assert argv[:2] == ["cd", str(Path.cwd())] and argv[3:7] == ["raereid", "train", "--config", "synthetic"]
    assert f"train.output={report_runs.full}" in argv and "train.variant=full" in argv


# ------------------------------------------------------------------- bad inputs
@pytest.mark.parametrize(
    "make, message",
    [
        (lambda tmp, runs: tmp / "nowhere", "no such folder"),
        (lambda tmp, runs: tmp, "not a run folder"),
        (lambda tmp, runs: runs.full / "model.pt", "not a folder"),
    ],
    ids=["missing", "not-a-run", "a-file"],
)
def test_not_a_run_exits_2(make, message, report_runs: ReportRuns, tmp_path: Path, capsys) -> None:
    (tmp_path / "notes.txt").write_text("not a run")
    assert main(["report", str(make(tmp_path, report_runs)), "--out", str(tmp_path / "r")] + FAST) == 2
    err = capsys.readouterr().err
    assert f"raereid report: error: {message}" in err and "where:" in err and "fix:" in err
    assert not (tmp_path / "r").exists()


def test_unreadable_metrics_exit_2(report_runs: ReportRuns, tmp_path: Path, capsys) -> None:
    run = _copy_run(report_runs.direct, tmp_path / "direct")
    (run / "metrics.json").write_text('{"mAP": 3.')
    assert main(["report", str(run), "--out", str(tmp_path / "r")] + FAST) == 2
    assert "metrics.json cannot be read" in capsys.readouterr().err


def test_no_runs_given(capsys) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["report"])
    assert stop.value.code == 2
    with pytest.raises(ReportError, match="no run folders given"):
        write_report([], "unused")


@pytest.fixture(scope="module")
def duke_run(report_runs: ReportRuns, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A direct run evaluated on another target (the Duke-style domain)."""
    out = tmp_path_factory.mktemp("duke") / "direct-duke"
    return train_cli(report_runs.data, out, "direct", 2, "data.target=dukemtmcreid", "train.gap_picture=false")


def test_runs_on_different_targets_exit_2_or_a_labelled_page(report_runs: ReportRuns, duke_run: Path, tmp_path: Path,
                                                             capsys) -> None:
    args = ["report", str(report_runs.full), str(duke_run), "--out", str(tmp_path / "r")] + FAST
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "evaluated on different targets" in err and "market1501" in err and "dukemtmcreid" in err
    assert "--allow-mixed-targets" in err
    assert main(args + ["--allow-mixed-targets"]) == 0
    doc = parse_page(tmp_path / "r" / "index.html")
    assert "different targets" in doc.find_all("div", id="mixed-targets")[0].all_text()
    targets = [h.all_text() for h in doc.find_all("section", id="ranked")[0].find_all("h3")]
    assert len(targets) == 2 and "market1501" in targets[0] and "dukemtmcreid" in targets[1]
    assert [r.find_all("td")[3].all_text() for r in _rows(doc)] == ["dukemtmcreid → market1501",
                                                                    "dukemtmcreid → dukemtmcreid"]


def test_folder_of_runs_with_an_unfinished_run_gives_a_labelled_page(report_runs: ReportRuns, tmp_path: Path,
                                                                     capsys) -> None:
    runs = tmp_path / "runs"
    _copy_run(report_runs.full, runs / "a-full")
    _copy_run(report_runs.direct, runs / "b-direct", drop=("metrics.json", "command.txt", "model.pt"))
    (runs / "data").mkdir()  # not a run: left out
    assert main(["report", str(runs), "--out", str(tmp_path / "r")] + FAST) == 0
    assert str(tmp_path / "r" / "index.html") in capsys.readouterr().out
    doc = parse_page(tmp_path / "r" / "index.html")
    rows = _rows(doc)
    assert [r.find_all("td")[0].all_text().strip() for r in rows] == ["b-direct", "a-full"]  # the order they finished
    assert rows[0].classes() == {"incomplete"} and rows[0].find_all("td")[7].all_text() == "–"
    assert "no metrics.json" in doc.find_all("section", id="results")[0].all_text()
    unfinished = doc.find_all("article", id="run-b-direct")[0].all_text()
    assert "not recorded" in unfinished and "checkpoints/last.pt" in unfinished


def test_a_run_names_the_paper_row_it_stands_for(tmp_path: Path) -> None:
    """Tables II / III's rows: "X" is X's learner with the baseline variant, "X + RAE" the full one; runs of other
    variants or learners (and of a learner not registered here) stand for none."""
    from raereid.inference.metrics import MetricsRecord
    from raereid.report.runs import Run

    def run(variant: str, learner: str) -> Run:
        return Run(path=tmp_path, name="r", metrics=MetricsRecord.from_json({"variant": variant, "learner": learner}))

    rows = {(v, learner): run(v, learner).paper_row for v in ("baseline", "ft+pt", "full")
            for learner in ("classifier", "memory", "mmcl", "jvtc", "plugin_only")}
    assert {key: row for key, row in rows.items() if row} == {
        ("full", "classifier"): "RAE (Ours)", ("baseline", "mmcl"): "MMCL", ("full", "mmcl"): "MMCL + RAE",
        ("baseline", "jvtc"): "JVTC", ("full", "jvtc"): "JVTC + RAE"}
