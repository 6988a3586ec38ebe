"""Dataset readers on trees written in the real layouts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import duke_tree, market_tree, msmt_tree, write_image

from raereid.cli.main import main
from raereid.data import discover, load_dataset
from raereid.data.records import relabel


def test_market_junk_dropped_distractors_kept(tmp_path: Path) -> None:
    market_tree(tmp_path)
    ds = load_dataset("market1501", tmp_path)
    assert ds.name == "market1501"
    assert {r.pid for r in ds.train} == {2, 7, 9}
    assert len(ds.train) == 6
    assert {r.pid for r in ds.gallery} == {0, 3, 5}  # junk -1 dropped, distractor 0 kept
    assert len(ds.gallery) == 5  # Thumbs.db is not an image
    assert sorted(r.camid for r in ds.query) == [0, 1]  # c1 -> 0, zero-based
    assert ds.stats()["gallery"] == {"ids": 3, "images": 5, "cameras": 4}


def test_root_may_be_dataset_folder_parent_or_grandparent(tmp_path: Path) -> None:
    base = market_tree(tmp_path / "market1501")
    for root in (base, tmp_path / "market1501", tmp_path):
        assert len(load_dataset("market", root).train) == 6


def test_renamed_folder_recognised_by_file_names(tmp_path: Path) -> None:
    market_tree(tmp_path, folder="my_copy")
    duke_tree(tmp_path, folder="other_copy")
    found = discover(tmp_path)
    assert set(found) == {"market1501", "dukemtmcreid"}


def test_duke(tmp_path: Path) -> None:
    duke_tree(tmp_path)
    ds = load_dataset("dukemtmcreid", tmp_path)
    assert ds.stats() == {
        "train": {"ids": 2, "images": 6, "cameras": 3},
        "query": {"ids": 1, "images": 1, "cameras": 1},
        "gallery": {"ids": 2, "images": 3, "cameras": 3},
    }
    assert {r.camid for r in ds.train} == {0, 4, 7}


@pytest.mark.parametrize("version", ["V1", "V2"])
def test_msmt17_train_is_train_plus_val(tmp_path: Path, version: str) -> None:
    msmt_tree(tmp_path, version)
    ds = load_dataset("msmt17", tmp_path)
    assert ds.layout == f"MSMT17 {version}"
    assert ds.stats()["train"] == {"ids": 3, "images": 6, "cameras": 2}
    assert {r.camid for r in ds.train} == {0, 14}
    assert ds.stats()["query"] == {"ids": 2, "images": 2, "cameras": 1}
    assert ds.stats()["gallery"] == {"ids": 2, "images": 4, "cameras": 2}
    assert all(Path(r.path).is_file() for r in ds.train + ds.query + ds.gallery)


def test_msmt17_v2_upper_case_folder_names(tmp_path: Path) -> None:
    base = msmt_tree(tmp_path, "V2")
    (base / "mask_train_v2").rename(base / "mask_train_V2")
    (base / "mask_test_v2").rename(base / "mask_test_V2")
    assert len(load_dataset("msmt17", tmp_path).train) == 6


def test_custom_list_dataset(tmp_path: Path) -> None:
    base = tmp_path / "mycams"
    for name in ("a/1.jpg", "a/2.jpg", "b/3.jpg", "b/4.png"):
        write_image(base / name)
    (base / "train.csv").write_text("path,pid,camid\na/1.jpg,10,0\na/2.jpg,10,1\nb/3.jpg,11,1\n")
    (base / "query.csv").write_text("a/1.jpg,10,0\n")
    (base / "gallery.csv").write_text("a/2.jpg,10,1\nb/4.png,-1,0\n")
    ds = load_dataset("mycams", tmp_path)
    assert ds.name == "mycams" and ds.layout == "list files"
    assert [r.pid for r in ds.train] == [10, 10, 11]
    assert discover(tmp_path)["mycams"].stats()["train"] == {"ids": 2, "images": 3, "cameras": 2}


def test_unlabeled_image_folder_with_camera_subfolders(tmp_path: Path) -> None:
    for name in ("cam1/x.jpg", "cam1/y.jpg", "Cam_2/z.jpg", "c3/deeper/w.jpg"):
        write_image(tmp_path / "target" / name)
    ds = load_dataset(str(tmp_path / "target"))
    assert len(ds.train) == 4 and not ds.has_test and not ds.train_is_labeled
    assert sorted(r.camid for r in ds.train) == [1, 1, 2, 3]


def test_image_folder_without_cameras(tmp_path: Path) -> None:
    write_image(tmp_path / "t" / "img1.jpg")
    write_image(tmp_path / "t" / "img2.jpg")
    ds = load_dataset("t", tmp_path)
    assert {r.camid for r in ds.train} == {-1}


def test_relabel_keeps_order_and_unknown() -> None:
    labels, mapping = relabel([7, 2, 7, -1, 9])
    assert labels.tolist() == [1, 0, 1, -1, 2]
    assert mapping == {2: 0, 7: 1, 9: 2}


def test_datasets_json_cli(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    market_tree(tmp_path)
    duke_tree(tmp_path)
    msmt_tree(tmp_path)
    assert main(["datasets", "--data-root", str(tmp_path), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) == {"market1501", "dukemtmcreid", "msmt17"}
    assert out["market1501"]["gallery"] == {"ids": 3, "images": 5, "cameras": 4}
    assert out["msmt17"]["train"]["images"] == 6


def test_datasets_table_cli(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    market_tree(tmp_path)
    assert main(["datasets", "--data-root", str(tmp_path)]) == 0
    assert "market1501" in capsys.readouterr().out


def test_datasets_counts_own_camera_folders_and_cameras_the_same_way(tmp_path: Path, capsys) -> None:
    """`raereid datasets` reads every layout `train --target` takes: a plain folder of crops (as the data root itself
    or beside the datasets) and a train.csv of `path` rows; both count the cameras of their cam1/ cam2/ folders."""
    market_tree(tmp_path)
    for name in ("cam1/a.jpg", "cam1/day2/b.jpg", "cam2/c.jpg"):
        write_image(tmp_path / "mycams" / name)
        write_image(tmp_path / "mylist" / "crops" / name)
    (tmp_path / "mylist" / "train.csv").write_text("path\ncrops/cam1/a.jpg\ncrops/cam1/day2/b.jpg\ncrops/cam2/c.jpg\n")
    assert main(["datasets", "--data-root", str(tmp_path), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) == {"market1501", "mycams", "mylist"}
    own = {"ids": 0, "images": 3, "cameras": 2}
    assert out["mycams"]["train"] == own and out["mylist"]["train"] == own
    assert main(["datasets", "--data-root", str(tmp_path / "mycams")]) == 0
    assert "mycams" in capsys.readouterr().out
    (tmp_path / "nothing").mkdir()
    assert main(["datasets", "--data-root", str(tmp_path / "nothing")]) == 2
    assert "the folder is empty: no dataset and no images" in capsys.readouterr().err


def test_verify_lists_every_undecodable_image_once(tmp_path: Path, capsys, monkeypatch) -> None:
    """9 corrupt files: all 9 named once each (not 5), the counts printed first, the JSON carries the list, and a list
    over 20 files (or --bad-list) is also written to a file."""
    market_tree(tmp_path / "data")
    train = tmp_path / "data" / "Market-1501-v15.09.15" / "bounding_box_train"
    bad = [train / f"{pid:04d}_c1s1_{900 + pid:06d}_01.jpg" for pid in range(20, 29)]
    for path in bad:
        path.write_bytes(b"not a jpeg")
    assert main(["datasets", "--data-root", str(tmp_path / "data"), "--verify"]) == 2
    captured = capsys.readouterr()
    assert "market1501" in captured.out and "9 of 22 image(s) cannot be decoded; they are:" in captured.err
    assert all(captured.err.count(str(path)) == 1 for path in bad), captured.err
    assert main(["datasets", "--data-root", str(tmp_path / "data"), "--verify", "--json"]) == 2
    listed = json.loads(capsys.readouterr().out)["market1501"]["undecodable"]
    assert sorted(item["path"] for item in listed) == sorted(str(p.resolve()) for p in bad)
    monkeypatch.chdir(tmp_path)
    for i in range(12):
        (train / f"{40 + i:04d}_c1s1_{940 + i:06d}_01.jpg").write_bytes(b"")
    assert main(["datasets", "--data-root", "data", "--verify"]) == 2
    assert "every one is listed in undecodable-images.txt" in capsys.readouterr().err
    assert len((tmp_path / "undecodable-images.txt").read_text().splitlines()) == 21
    assert main(["datasets", "--data-root", "data", "--verify", "--bad-list", "data/bad.txt"]) == 2
    assert "--bad-list is inside the data root" in capsys.readouterr().err
