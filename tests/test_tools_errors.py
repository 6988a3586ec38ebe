"""Bad checkpoints and datasets given to the tools: a clear message and exit code 2, no traceback."""

from __future__ import annotations

import torch

from raereid.cli.main import main


def test_missing_corrupt_and_foreign_checkpoints(tiny_runs, tmp_path, capsys):
    assert main(["evaluate", "--checkpoint", str(tmp_path / "nope.pt")]) == 2
    assert "checkpoint not found" in capsys.readouterr().err
    corrupt = tmp_path / "corrupt.pt"
    corrupt.write_bytes(tiny_runs.full.read_bytes()[:1000])
    assert main(["export", "--checkpoint", str(corrupt), "--out", str(tmp_path / "m.onnx")]) == 2
    assert "truncated or corrupt" in capsys.readouterr().err


def test_checkpoint_of_another_architecture(tiny_runs, tmp_path, capsys):
    state = torch.load(tiny_runs.full, map_location="cpu", weights_only=True)
    state["variant"] = "direct"  # full weights (decoder, fusion) under a variant without them
    other = tmp_path / "other.pt"
    torch.save(state, other)
    for argv in (["evaluate", "--checkpoint", str(other)],
                 ["rank", "--checkpoint", str(other), "--out", str(tmp_path / "r")],
                 ["gap", "--checkpoint", str(tiny_runs.full), "--before", str(other), "--out",
                  str(tmp_path / "g.png")]):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert "another architecture" in err and "Traceback" not in err
    assert not (tmp_path / "r").exists()


def test_dataset_without_query_and_gallery(tiny_runs, tmp_path, capsys):
    folder = tmp_path / "unlabeled" / "cam1"
    folder.mkdir(parents=True)
    for p in sorted((tiny_runs.market / "query").iterdir())[:2]:
        (folder / p.name).write_bytes(p.read_bytes())
    assert main(["evaluate", "--checkpoint", str(tiny_runs.direct), "--dataset", str(folder.parent)]) == 2
    assert "no query/gallery split" in capsys.readouterr().err
    argv = ["extract", "--checkpoint", str(tiny_runs.direct), "--images", "msmt17", "--out", str(tmp_path / "x.npz")]
    assert main(argv) == 2
    assert "no msmt17 dataset found" in capsys.readouterr().err
    assert main(argv + ["--data-root", str(tmp_path / "elsewhere")]) == 2
    assert "data root is not a folder" in capsys.readouterr().err
    assert main(["extract", "--checkpoint", str(tiny_runs.direct), "--images", str(tiny_runs.data), "--out",
                 str(tmp_path / "y.npz")]) == 2
    assert "holds datasets (dukemtmcreid, market1501) below it" in capsys.readouterr().err
