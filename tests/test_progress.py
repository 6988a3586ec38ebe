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


def test_the_whole_runs_eta_counts_the_later_stages() -> None:
    out, clock = io.StringIO(), Clock()
    bar = PlainProgress(100, "source", stream=out, clock=clock, after=300)
    for _ in range(10):
        clock.now += 1.0
        bar.update(1)
    first = out.getvalue().splitlines()[0]
    assert first == "[raereid] source 10/100 (10%)  1 it/s  elapsed 0:10  ETA 1:30, whole run 6:30+"


def test_a_two_stage_run_logs_its_stages_the_preset_named_and_where_the_model_is(capsys, tiny_bench: Path,
                                                                                 tmp_path: Path) -> None:
    """`source N/M` then `adapt N/M`, the source stage's lines with the whole run's ETA; provenance credits the preset
    the user named (`synthetic`, which builds on duke2market) and the recipe's own settings; a closing line gives the
    model and the next command."""
    out = tmp_path / "out"
    sets = [a for kv in tiny_overrides(tiny_bench, out, "baseline", 3, "source.iterations=2",
                                       "train.gap_picture=false") for a in ("--set", kv)]
    assert main(["train", "--config", "synthetic", *sets]) == 0
    err = capsys.readouterr().err
    lines = err.splitlines()
    assert [line.split()[2] for line in lines if line.startswith("[raereid] source ")] == ["1/2", "2/2"]
    assert [line.split()[2] for line in lines if line.startswith("[raereid] adapt ")] == ["1/3", "2/3", "3/3"]
    first = next(line for line in lines if line.startswith("[raereid] source 1/2"))
    assert ", whole run " in first and "+" in first, first
    assert "preset synthetic (from duke2market): " in err and "preset duke2market:" not in err
    assert "the source stage (source.iterations): optim.iterations=2" in err
    assert "adaptation starts from this run's source stage: initialised" in err
    assert f"raereid train: done; the model is {out / 'model.pt'}" in err
    assert f"next: raereid evaluate --checkpoint {out / 'model.pt'}" in err


def test_warnings_are_one_readable_line_each_printed_once(capsys) -> None:
    from raereid.cli.main import _show_warnings_once, readable_warning

    torch_says = ("This DataLoader will create 4 worker processes in total. Our suggested max number of worker in "
                  "current system is 2, which is smaller than what this DataLoader is going to create. Please be "
                  "aware that excessive worker creation might get DataLoader running slow or even freeze, lower the "
                  "worker number to avoid potential slowness/freeze if necessary.")
    assert readable_warning(torch_says) == ("data.workers asks for 4 data-loading processes but this process may use "
                                            "2 CPUs: loading can be slower than with --set data.workers=2")
    show = _show_warnings_once(set())
    for _ in range(2):  # each of the two loaders of a step warns
        show(UserWarning(torch_says), UserWarning, "dataloader.py", 1)
    show(UserWarning("model.backbone=resnet50 has no pretrained weights\n  self.encoder = Encoder(...)"),
         UserWarning, "rae.py", 55)
    printed = capsys.readouterr().err.splitlines()
    assert printed == ["[raereid] WARNING " + readable_warning(torch_says), "[raereid] WARNING model.backbone="
                       "resnet50 has no pretrained weights self.encoder = Encoder(...)"]
