"""Bad dataset input: one clear message naming the path, what was expected and the fix."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import market_tree, msmt_tree, write_image

from raereid.cli.main import main
from raereid.data import load_dataset
from raereid.data.images import load_rgb, verify_images
from raereid.errors import DatasetError


def _error(fn, *args) -> DatasetError:
    with pytest.raises(DatasetError) as info:
        fn(*args)
    return info.value


def test_missing_data_root(tmp_path: Path) -> None:
    err = _error(load_dataset, "market1501", tmp_path / "nope")
    assert "not a folder" in err.what and str(tmp_path / "nope") in err.where and err.fix


def test_dataset_absent_under_root(tmp_path: Path) -> None:
    err = _error(load_dataset, "market1501", tmp_path)
    assert "no market1501 dataset" in err.what and "bounding_box_train" in err.fix


def test_missing_split_folder(tmp_path: Path) -> None:
    base = market_tree(tmp_path)
    for f in (base / "query").iterdir():
        f.unlink()
    (base / "query").rmdir()
    (base / "query_renamed").mkdir()
    for args in ((str(base),), ("market1501", tmp_path)):
        err = _error(load_dataset, *args)
        assert "incomplete Market-1501/DukeMTMC-reID layout" in err.what and "no query" in err.what
        assert err.where == str(base) and "re-extract" in err.fix


def test_empty_split(tmp_path: Path) -> None:
    base = market_tree(tmp_path)
    for f in (base / "query").iterdir():
        f.unlink()
    err = _error(load_dataset, "market1501", tmp_path)
    assert "no images in the query split" in err.what and err.where.endswith("query")


def test_unparseable_name(tmp_path: Path) -> None:
    base = market_tree(tmp_path)
    write_image(base / "bounding_box_train" / "IMG_1234.jpg")
    err = _error(load_dataset, "market1501", tmp_path)
    assert "1 of 7 file name(s) do not follow the Market-1501 convention" in err.what
    assert "IMG_1234.jpg" in err.what and "0002_c1s1_000451_03.jpg" in err.fix


def test_mixed_conventions(tmp_path: Path) -> None:
    base = market_tree(tmp_path)
    write_image(base / "bounding_box_train" / "0001_c2_f0046182.jpg")  # a Duke name among Market names
    err = _error(load_dataset, "market1501", tmp_path)
    assert "0001_c2_f0046182.jpg" in err.what


def test_msmt_bad_line_names_file_and_line(tmp_path: Path) -> None:
    base = msmt_tree(tmp_path)
    with open(base / "list_query.txt", "a") as fh:
        fh.write("garbage\n")
    err = _error(load_dataset, "msmt17", tmp_path)
    assert err.where.endswith("list_query.txt:3") and "0000_000_01_0303morning_0015_0.jpg" in err.fix


def test_msmt_missing_image(tmp_path: Path) -> None:
    base = msmt_tree(tmp_path)
    next((base / "test").rglob("*.jpg")).unlink()
    err = _error(load_dataset, "msmt17", tmp_path)
    assert "1 image(s) listed but not found" in err.what


def test_list_path_outside_root_rejected(tmp_path: Path) -> None:
    base = tmp_path / "cams"
    write_image(base / "a.jpg")
    (base / "train.csv").write_text("a.jpg,1,0\n../../etc/passwd,2,0\n")
    err = _error(load_dataset, str(base))
    assert "outside the dataset folder" in err.what and err.where.endswith("train.csv:2")


def test_list_bad_pid(tmp_path: Path) -> None:
    base = tmp_path / "cams"
    write_image(base / "a.jpg")
    (base / "train.csv").write_text("a.jpg,one,0\n")
    err = _error(load_dataset, str(base))
    assert "pid 'one' is not an integer" in err.what and "path,pid,camid" in err.fix


def test_empty_target_folder_and_misspelt_names(tmp_path: Path) -> None:
    """An existing folder without images is said to be empty (by name or by path), not an unknown dataset; a name
    close to a dataset or folder under the root gets a did-you-mean."""
    (tmp_path / "empty" / "cam1").mkdir(parents=True)
    (tmp_path / "empty" / "notes.txt").write_text("no crops yet")
    for spec, root in (("empty", tmp_path), (str(tmp_path / "empty"), None)):
        err = _error(load_dataset, spec, root)
        assert "holds no images" in err.what and err.where == str(tmp_path / "empty") and "cam1/" in err.fix, err
    write_image(tmp_path / "mycams" / "cam1" / "a.jpg")
    market_tree(tmp_path)
    assert "did you mean mycams?" in _error(load_dataset, "mycam", tmp_path).what
    assert "did you mean market1501?" in _error(load_dataset, "market1510", tmp_path).what
    assert "did you mean" not in _error(load_dataset, "zzz", tmp_path).what


def test_corrupt_images_reported_by_path(tmp_path: Path) -> None:
    good = write_image(tmp_path / "good.jpg")
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    truncated = tmp_path / "truncated.jpg"
    truncated.write_bytes(good.read_bytes()[: len(good.read_bytes()) // 2])
    err = _error(verify_images, [str(good), str(empty), str(truncated)])
    assert "2 of 3 image(s) cannot be decoded" in err.what
    assert "empty.jpg" in err.what and "truncated.jpg" in err.what


@pytest.mark.parametrize("mode", ["L", "RGBA", "CMYK", "P", "I;16"])
def test_image_modes_become_rgb(tmp_path: Path, mode: str) -> None:
    from PIL import Image

    path = tmp_path / f"img_{mode.replace(';', '')}.{'jpg' if mode in ('L', 'CMYK') else 'png'}"
    Image.new(mode, (7, 13)).save(path)
    img = load_rgb(path)
    assert img.mode == "RGB" and img.size == (7, 13)


def test_cli_error_exit_code_and_message(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["datasets", "--data-root", str(tmp_path / "missing")]) == 2
    err = capsys.readouterr().err
    assert "error: data root is not a folder" in err and "Traceback" not in err and "fix:" in err


def test_folder_of_datasets_is_not_an_unlabeled_target(tmp_path: Path) -> None:
    market_tree(tmp_path / "all")
    err = _error(load_dataset, str(tmp_path / "all"))
    assert "holds datasets (market1501) below it" in err.what and "--data-root" in err.fix


def test_images_pillow_refuses_for_other_reasons_name_the_file(tmp_path: Path, monkeypatch) -> None:
    """A decompression bomb (Pillow's DecompressionBombError is no OSError) is refused like a corrupt file: once,
    by path, with Pillow's reason."""
    from PIL import Image

    big = write_image(tmp_path / "huge.jpg")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 10)  # the 16x8 test JPEG is then over twice the limit
    err = _error(load_rgb, big)
    assert err.where == str(big) and "exceeds limit" in err.what and str(big) not in err.what
    err = _error(verify_images, [str(big), str(big)])
    assert "1 of 1 image(s) cannot be decoded" in err.what and err.what.count("huge.jpg") == 1
