"""benchmarks/records.py: a table's finished runs kept as their small files and put back, checkpoints and
translated data sets left out, an existing file with other content never replaced."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import records  # noqa: E402


def _run(folder: Path, finished: bool = True) -> Path:
    """A run made from the folder above runs/, beside its draw DATA_A (named in config.yaml as training writes it)."""
    folder.mkdir(parents=True)
    for name in ("job.json", "train.log"):
        (folder / name).write_text(f"{name} of {folder.name}\n")
    (folder / "config.yaml").write_text(f"data:\n  root: {folder.parents[4] / 'DATA_A'}\n")
    if finished:
        (folder / "metrics.json").write_text('{"mAP": 1.0}\n')
    (folder / "model.pt").write_bytes(b"weights")
    return folder


def test_save_then_restore_gives_back_the_records_of_finished_runs_only(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(records, "RECORDS", tmp_path / "records")
    runs = tmp_path / "runs"
    _run(runs / "A" / "stages" / "default" / "seed0")
    _run(runs / "A" / "rows" / "full" / "seed0")
    _run(runs / "A" / "rows" / "baseline" / "seed0", finished=False)
    _run(runs / "translated-A" / "stage")
    assert records.main(["save", str(runs), "t"]) == 0
    kept = tmp_path / "records" / "t"
    assert sorted(str(p.relative_to(kept)) for p in kept.rglob("*") if p.is_file()) == sorted(
        f"A/{where}/seed0/{name}" for where in ("stages/default", "rows/full") for name in records.KEPT)

    assert (kept / "A/rows/full/seed0/config.yaml").read_text() == "data:\n  root: {base}/DATA_A\n"

    back = tmp_path / "elsewhere" / "runs"  # another folder (or machine), its draw beside it
    assert records.main(["restore", "t", str(back)]) == 0
    for name in ("job.json", "metrics.json", "train.log"):
        assert (back / "A/rows/full/seed0" / name).read_bytes() == (runs / "A/rows/full/seed0" / name).read_bytes()
    assert (back / "A/rows/full/seed0/config.yaml").read_text() == f"data:\n  root: {back.parent / 'DATA_A'}\n"
    assert not (back / "A/rows/full/seed0/model.pt").exists()
    assert not (back / "A/rows/baseline").exists()

    (back / "A/rows/full/seed0/metrics.json").write_text('{"mAP": 2.0}\n')
    assert records.main(["restore", "t", str(back)]) == 1
    assert (back / "A/rows/full/seed0/metrics.json").read_text() == '{"mAP": 2.0}\n'


def test_a_missing_folder_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(records, "RECORDS", tmp_path / "records")
    assert records.main(["restore", "nothing", str(tmp_path / "runs")]) == 2
    assert "is not a folder" in capsys.readouterr().err


def test_the_draw_the_runs_read_is_kept_as_a_digest_and_another_draw_is_named(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(records, "RECORDS", tmp_path / "records")
    (tmp_path / "DATA_A" / "Market").mkdir(parents=True)
    (tmp_path / "DATA_A" / "Market" / "0001_c1s1_000001_00.jpg").write_bytes(b"pixels")
    _run(tmp_path / "runs" / "A" / "rows" / "full" / "seed0")
    assert records.main(["save", str(tmp_path / "runs"), "t"]) == 0
    kept = records.json.loads((tmp_path / "records" / "t" / records.DRAWS).read_text())
    assert kept == {"DATA_A": records.draw_digest(tmp_path / "DATA_A")}

    reused = _run(tmp_path / "runs" / "A" / "rows" / "pt" / "seed0")  # starts from another table's run folder
    (tmp_path / "OTHER" / "A").mkdir(parents=True)
    (tmp_path / "OTHER" / "A" / "model.pt").write_bytes(b"weights")
    (reused / "config.yaml").write_text(f"data:\n  root: {tmp_path / 'DATA_A'}\n"
                                        f"train:\n  init: {tmp_path / 'OTHER' / 'A' / 'model.pt'}\n")
    assert records.main(["save", str(tmp_path / "runs"), "t"]) == 0
    assert records.json.loads((tmp_path / "records" / "t" / records.DRAWS).read_text()) == kept  # OTHER is no draw

    same = tmp_path / "same"  # the draw made again, byte for byte, beside another RUNS
    (same / "DATA_A" / "Market").mkdir(parents=True)
    (same / "DATA_A" / "Market" / "0001_c1s1_000001_00.jpg").write_bytes(b"pixels")
    assert records.main(["restore", "t", str(same / "runs")]) == 0

    other = tmp_path / "other"  # one image differs
    (other / "DATA_A" / "Market").mkdir(parents=True)
    (other / "DATA_A" / "Market" / "0001_c1s1_000001_00.jpg").write_bytes(b"pixels, rounded otherwise")
    capsys.readouterr()
    assert records.main(["restore", "t", str(other / "runs")]) == 1
    err = capsys.readouterr().err
    assert f"the draw {other / 'DATA_A'} is not the one the kept runs ran on" in err and "synth.json" in err

    (tmp_path / "DATA_A" / "Market" / "0001_c1s1_000001_00.jpg").write_bytes(b"regenerated")
    assert records.main(["save", str(tmp_path / "runs"), "t"]) == 1  # the kept digest is not replaced
    assert records.json.loads((tmp_path / "records" / "t" / records.DRAWS).read_text()) == kept
    assert "save these runs under another NAME" in capsys.readouterr().err
