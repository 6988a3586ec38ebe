"""Progress output: a redrawn tqdm bar on a terminal; plain lines (every 10% or 30 s) in a file or a pipe."""

from __future__ import annotations

import io
from pathlib import Path

from conftest import tiny_overrides

from raereid.cli.main import main
from raereid.progress import PlainProgress, progress


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_line_every_tenth_with_rate_eta_and_losses() -> None:
    out, clock = io.StringIO(), Clock()
    bar = PlainProgress(100, "train", stream=out, clock=clock)
    for i in range(100):
        clock.now += 0.5
        bar.set_postfix({"loss": f"{1 / (i + 1):.3g}"})
        bar.update(1)
    bar.close()
    lines = out.getvalue().splitlines()
    assert len(lines) == 10 and "\r" not in out.getvalue()
    assert lines[0] == "[raereid] train 10/100 (10%)  2 it/s  elapsed 0:05  ETA 0:45  loss 0.1"
    assert lines[-1].startswith("[raereid] train 100/100 (100%)  2 it/s  elapsed 0:50  loss")


def test_time_based_lines_and_a_resumed_start() -> None:
    out, clock = io.StringIO(), Clock()
    bar = PlainProgress(20000, "train", initial=5000, stream=out, clock=clock)
    for _ in range(100):
        clock.now += 1.0
        bar.update(1)
    lines = out.getvalue().splitlines()
    assert len(lines) == 3
    assert lines[0].startswith("[raereid] train 5030/20000 (25%)  1 it/s  elapsed 0:30  ETA 4:09:30")
    bar.close()
    assert out.getvalue().splitlines()[-1].startswith("[raereid] train 5100/20000")


def test_transient_progress_is_silent_unless_long() -> None:
    out, clock = io.StringIO(), Clock()
    quick = progress(50, "target features", transient=True, stream=out)
    quick.clock = clock
    for _ in range(50):
        quick.update(1)
    quick.close()
    assert out.getvalue() == ""
    slow = PlainProgress(50, "target features", fraction=None, final=False, stream=out, clock=clock)
    for _ in range(50):
        clock.now += 1.0
        slow.update(1)
    slow.close()
    assert len(out.getvalue().splitlines()) == 1 and "target features 30/50" in out.getvalue()


def test_terminal_gets_a_tqdm_bar() -> None:
    assert type(progress(10, "train", stream=Terminal())).__name__ == "tqdm"
    assert isinstance(progress(10, "train", stream=io.StringIO()), PlainProgress)
    assert progress(10, "train", disable=True) is None


def test_training_into_a_pipe_prints_plain_lines(capsys, tiny_bench: Path, tmp_path: Path) -> None:
    sets = [a for kv in tiny_overrides(tiny_bench, tmp_path / "out", "baseline", 3,
                                       "train.gap_picture=false") for a in ("--set", kv)]
    assert main(["train", "--config", "synthetic", *sets]) == 0
    err = capsys.readouterr().err
    assert "\r" not in err and "it/s]" not in err
    progress_lines = [line for line in err.splitlines() if line.startswith("[raereid] adapt ")]  # the stage's name
    assert [line.split()[2] for line in progress_lines] == ["1/3", "2/3", "3/3"]
    assert "ce_source" in progress_lines[-1]
