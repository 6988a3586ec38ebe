"""The demo's report: record the equivalent `raereid train` command of each run, then report every run in the folder."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from raereid.engine.checkpoint import load_checkpoint
from raereid.report.build import write_report
from raereid.report.command import equivalent_train_command, record_command, shell_command
from raereid.report.runs import is_run


def demo_report(out: str | Path, preset: str = "synthetic", log: Callable[[str], None] | None = None) -> Path:
    """OUT/report/index.html of every run in the demo folder `out`, whose runs were trained in-process from `preset`."""
    out = Path(out)
    for run in sorted(p for p in out.iterdir() if p.is_dir() and is_run(p) and (p / "model.pt").is_file()):
        config = load_checkpoint(run / "model.pt")["config"]
        record_command(run, shell_command(equivalent_train_command(config, preset)))
    return write_report([out], out / "report", device="cpu", log=log)
