"""The demo command end to end on the tiny benchmark: generates the data, trains direct, then full with the memory
learner from it, prints and saves the table, the reconstruction picture and the
report. Its rows file and flags: tests/test_experiments.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from raereid.cli.main import main
from raereid.engine.checkpoint import load_checkpoint

TINY = (
    "data.p=4", "data.k=2", "data.workers=0", "data.verify_images=false",
    "model.decoder_channels=16,8", "model.discriminator_channels=8,16,16", "model.fusion_dim=32", "model.fusion_out=32",
    "cluster.method=kmeans", "cluster.num_clusters=4", "optim.iterations=3", "source.iterations=3",
    "train.iters_per_epoch=2", "train.log_every=1",
)


@pytest.mark.slow
def test_demo_end_to_end(tmp_path: Path, capsys) -> None:
    out, data = tmp_path / "out", tmp_path / "data"
    args = ["demo", "--scale", "tiny", "--out", str(out), "--data-root", str(data), "--runs", "full@synthetic-memory"]
    assert main(args + [a for kv in TINY for a in ("--set", kv)]) == 0
    printed = capsys.readouterr().out
    assert "generating the synthetic benchmark" in printed and "done in" in printed
    rows = json.loads((out / "table.json").read_text())
    assert [r["run"] for r in rows] == ["direct", "full-memory"]
    assert [r["learner"] for r in rows] == ["classifier", "memory"]
    table = (out / "table.txt").read_text().splitlines()
    assert len(table) == 3 and table[0].split()[:6] == ["run", "learner", "R1", "R5", "R10", "mAP"]
    for row, line in zip(rows, table[1:]):
        assert line.split()[:2] == [row["run"], row["learner"]] and float(line.split()[5]) == round(row["mAP"], 1)
        assert line in printed
    # the memory preset re-estimates target statistics
    assert "AdaBN" in (out / "full-memory" / "train.log").read_text()
    assert (out / "reconstructions.png").stat().st_size > 0
    assert "initialised" in (out / "full-memory" / "train.log").read_text()  # adapted runs start from direct
    assert "one thread each" in printed and "[full-memory] [raereid] adapt " in printed  # processes, progress prefixed
    saved = load_checkpoint(out / "full-memory" / "model.pt")["config"]["data"]["root"]
    assert Path(saved).is_absolute() and Path(saved) == data.resolve()  # the tools find the data from any folder
    page = out / "report" / "index.html"  # the report of every run, its path printed
    assert f"[demo] report: {page.resolve()}" in printed
    html = page.read_text()
    for row in rows:
        assert f'<a href="#run-{row["run"]}">{row["run"]}</a>' in html
        command = (out / row["run"] / "command.txt").read_text()  # the raereid train command of the run
        assert command.startswith("cd ") and ("--config synthetic-memory" in command) == (row["learner"] == "memory")


def test_default_runs_compare_the_baseline_and_full_rae() -> None:
    from raereid.cli.main import build_parser

    args = build_parser().parse_args(["demo"])
    assert (args.runs, args.adapt_iterations, args.seed) == ("baseline,full", 150, 0)  # from experiments/rows/demo.yaml
