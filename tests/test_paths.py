"""Output and input paths checked before any work: an output that is a file (or a folder where a file
goes), below a file, not writable or inside the dataset tree; a checkpoint that is a folder; a missing
index. Exit code 2, a message naming the path and the fix, and nothing written."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from raereid.cli import paths
from raereid.cli.main import main
from raereid.errors import PathError


def _tree(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


@pytest.fixture
def place(tmp_path: Path) -> Path:
    """A data root with one image folder, a fake checkpoint file, a plain file and a run folder."""
    (tmp_path / "data" / "cams" / "cam1").mkdir(parents=True)
    (tmp_path / "data" / "cams" / "cam1" / "a.jpg").write_bytes(b"x")
    (tmp_path / "model.pt").write_bytes(b"not read: the path checks come first")
    (tmp_path / "afile").write_text("x")
    (tmp_path / "run" / "checkpoints").mkdir(parents=True)
    (tmp_path / "run" / "model.pt").write_bytes(b"x")
    return tmp_path


def _refused(capsys: pytest.CaptureFixture, root: Path, argv: list[str], *needles: str) -> str:
    before = _tree(root)
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err and "fix:" in err, err
    for needle in needles:
        assert needle in err, err
    assert _tree(root) == before, "something was written"
    return err


def _train(place: Path, *extra: str) -> list[str]:
    return ["train", "--config", "synthetic", "--data-root", str(place / "data"), *extra]


def test_train_output_that_is_a_file_or_below_one(capsys, place) -> None:
    _refused(capsys, place, _train(place, "--out", str(place / "afile")), "train.output (from --out",
             "is an existing file")
    _refused(capsys, place, _train(place, "--out", str(place / "afile" / "run")), "afile is a file, so")


def test_train_output_inside_the_dataset_tree(capsys, place) -> None:
    _refused(capsys, place, _train(place, "--out", str(place / "data" / "runs" / "x")), "is inside the data root")
    _refused(capsys, place, _train(place, "--target", str(place / "data" / "cams"), "--data-root", str(place),
                                   "--out", str(place / "data" / "cams" / "out")), "inside the data root")


def test_train_paths_read_at_start(capsys, place) -> None:
    err = _refused(capsys, place, _train(place, "--out", str(place / "o"), "--set", f"train.init={place / 'run'}"),
                   "train.init (from --set", "the checkpoint is a folder")
    assert str(place / "run" / "model.pt") in err  # the file it probably meant
    _refused(capsys, place, _train(place, "--out", str(place / "o"), "--set", f"train.init={place / 'none.pt'}"),
             "checkpoint not found")
    _refused(capsys, place, _train(place, "--out", str(place / "o"), "--set", f"model.pretrained={place / 'w.pth'}"),
             "weights file not found (model.pretrained")


def test_resume_into_a_run_whose_checkpoint_is_a_folder(capsys, place) -> None:
    (place / "run" / "checkpoints" / "last.pt").mkdir()
    _refused(capsys, place, _train(place, "--out", str(place / "run"), "--resume"),
             "last.pt is a folder where raereid writes a file")


def test_unwritable_output(capsys, place, monkeypatch) -> None:
    real = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: False if Path(p) == place else real(p, mode))
    _refused(capsys, place, _train(place, "--out", str(place / "new")), "no permission to write in")


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_read_only_folder(capsys, place) -> None:
    locked = place / "locked"
    locked.mkdir(mode=0o500)
    try:
        _refused(capsys, place, _train(place, "--out", str(locked / "run")), "no permission")
    finally:
        locked.chmod(0o700)


@pytest.mark.parametrize("command", [
    ["extract", "--images", "{data}/cams", "--out", "{folder}"],
    ["export", "--out", "{folder}"],
    ["reconstruct", "--out", "{folder}"],
    ["gap", "--out", "{folder}"],
])
def test_file_outputs_that_are_folders(capsys, place, command) -> None:
    argv = [command[0], "--checkpoint", str(place / "model.pt"),
            *[a.format(data=place / "data", folder=place / "run") for a in command[1:]]]
    _refused(capsys, place, argv, "--out must be a file but", "is a folder")


@pytest.mark.parametrize("command, needle", [
    (["rank", "--checkpoint", "{ckpt}", "--out", "{file}"], "--out must be a folder"),
    (["index", "--checkpoint", "{ckpt}", "--gallery", "{data}/cams", "--out", "{file}"], "--out must be a folder"),
    (["synth", "--out", "{file}"], "--out must be a folder"),
    (["demo", "--out", "{file}"], "--out must be a folder"),
    (["extract", "--checkpoint", "{ckpt}", "--images", "{data}/cams", "--out", "{data}/cams/x.npz"],
     "inside an image folder"),
    (["reconstruct", "--checkpoint", "{ckpt}", "--data-root", "{data}", "--out", "{data}/r.png"],
     "inside the data root"),
    (["rank", "--checkpoint", "{ckpt}", "--data-root", "{data}", "--out", "{data}/ranked"], "inside the data root"),
    (["index", "--checkpoint", "{ckpt}", "--gallery", "{data}/cams", "--out", "{data}/cams/index"],
     "inside the gallery folder"),
    (["gap", "--checkpoint", "{ckpt}", "--data-root", "{data}", "--out", "{data}/gap.png"], "inside the data root"),
    (["synth", "--out", "{root}/bench", "--preview", "{root}/bench/sheet.png"], "inside the benchmark folder"),
    (["evaluate", "--checkpoint", "{root}/run"], "the checkpoint is a folder"),
    (["gap", "--checkpoint", "{ckpt}", "--before", "{root}/run", "--out", "{root}/g.png"],
     "--before: the checkpoint is a folder"),
    (["search", "--index", "{root}/no-index", "--query", "{data}/cams/cam1/a.jpg"], "index folder not found"),
    (["search", "--index", "{file}", "--query", "{data}/cams/cam1/a.jpg"], "must be a folder but this is a file"),
    (["extract", "--checkpoint", "{ckpt}", "--images", "{data}/cams", "--out", "{root}/x.npz", "--batch-size", "0"],
     "--batch-size must be at least 1"),
])
def test_tool_paths(capsys, place, command, needle) -> None:
    argv = [a.format(root=place, data=place / "data", ckpt=place / "model.pt", file=place / "afile") for a in command]
    _refused(capsys, place, argv, needle)


def test_helpers_return_the_path_as_given(tmp_path) -> None:
    assert paths.output_folder(tmp_path / "a" / "b", "--out") == tmp_path / "a" / "b"
    assert paths.output_file(tmp_path / "x.png", "--out") == tmp_path / "x.png"
    assert not (tmp_path / "a").exists()
    with pytest.raises(PathError, match="is a folder where raereid writes a file"):
        (tmp_path / "run" / "model.pt").mkdir(parents=True)
        paths.output_folder(tmp_path / "run", "--out", entries=paths.RUN_ENTRIES)


def _snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    """Every file below `folder`: its bytes and modification time."""
    return {str(p.relative_to(folder)): (p.read_bytes(), p.stat().st_mtime_ns) for p in folder.rglob("*")
            if p.is_file()}


def _tiny_train(bench: Path, out: Path, *flags: str, iterations: int = 2) -> list[str]:
    from conftest import tiny_overrides

    sets = tiny_overrides(bench, out, "baseline", iterations, "source.iterations=2", "train.gap_picture=false")
    return ["train", "--config", "synthetic", *flags, *[a for kv in sets for a in ("--set", kv)]]


def test_a_finished_run_is_never_trained_over_without_resume_or_overwrite(capsys, tiny_bench, tmp_path) -> None:
    """Re-running the command of a finished two-stage run refuses (exit 2, the folder and both flags named) and
    leaves every file byte-identical; --resume of it trains nothing; --overwrite starts again from scratch, its old
    files gone; --resume and --overwrite together, and --resume where there is nothing to resume, refuse."""
    out = tmp_path / "run"
    assert main(_tiny_train(tiny_bench, out)) == 0
    assert (out / "source" / "model.pt").is_file() and (out / "model.pt").is_file()
    before = _snapshot(tmp_path)
    err = _refused(capsys, tmp_path, _tiny_train(tiny_bench, out), f"{out} holds a finished run", "--resume",
                   "--overwrite")
    assert _snapshot(tmp_path) == before, err
    assert main(_tiny_train(tiny_bench, out, "--resume")) == 0  # finished: nothing to train
    assert "had already finished; nothing to train" in capsys.readouterr().err
    assert _snapshot(tmp_path) == before
    _refused(capsys, tmp_path, _tiny_train(tiny_bench, out, "--resume", "--overwrite"), "contradict each other")
    _refused(capsys, tmp_path, _tiny_train(tiny_bench, tmp_path / "nothing", "--resume"),
             f"nothing to resume in {tmp_path / 'nothing'}: it holds no run", "drop --resume")
    (tmp_path / "started" / "source").mkdir(parents=True)  # a run killed before its first checkpoint
    (tmp_path / "started" / "source" / "train.log").write_text("...")
    _refused(capsys, tmp_path, _tiny_train(tiny_bench, tmp_path / "started"), "holds a started run (source/train.log)")
    _refused(capsys, tmp_path, _tiny_train(tiny_bench, tmp_path / "started", "--resume"),
             "stopped before its first checkpoint", "--overwrite")
    (out / "notes.txt").write_text("mine")  # not a run's file: --overwrite leaves it
    assert main(_tiny_train(tiny_bench, out, "--overwrite", iterations=3)) == 0
    assert (out / "notes.txt").read_text() == "mine"
    assert json.loads((out / "metrics.json").read_text())["iterations"] == 3
    assert (out / "train.log").read_text().count("variant baseline") == 1  # the log of one run, not two
    assert len((out / "command.txt").read_text().splitlines()) == 1


def test_a_failed_training_job_is_resumed_or_started_again_with_overwrite(tmp_path: Path, monkeypatch) -> None:
    """raereid train refuses an --out holding a run: the runner retries a failed training job with --resume when it
    has a checkpoint, with --overwrite when it stopped before one, and as is in a fresh folder; a `fresh` pass (the
    demo) starts every run that left files with --overwrite."""
    from raereid.experiments import run as runner
    from raereid.experiments.plan import Job

    called: list[list[str]] = []
    monkeypatch.setattr(runner.subprocess, "call", lambda argv, **kwargs: called.append(argv) or 1)
    train = (sys.executable, "-m", "raereid", "train", "--config", "synthetic")
    for fresh in (False, True):
        for name, files in (("fresh", ()), ("no-checkpoint", ("train.log", "config.yaml")),
                            ("checkpoint", ("checkpoints/last.pt",)), ("source-done", ("source/model.pt",))):
            folder = tmp_path / str(fresh) / name
            for file in files:
                (folder / file).parent.mkdir(parents=True, exist_ok=True)
                (folder / file).write_text("x")
            job = Job(name, "row", folder, (*train, "--out", str(folder)))
            assert runner._run(job, tmp_path, fresh, None) == "exit code 1"
    tails = [argv[len(train) + 2:] for argv in called]
    assert tails[:4] == [[], ["--overwrite"], ["--resume"], ["--resume"]]
    assert tails[4:] == [[], ["--overwrite"], ["--overwrite"], ["--overwrite"]]
