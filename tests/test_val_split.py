"""The validation split: written by raereid synth with identities of its own, read by every reader, counted by
`raereid datasets`, chosen by name, and refused clearly where a dataset has none."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import market_tree, msmt_tree, write_image

from raereid.cli.main import main
from raereid.data import discover, load_dataset
from raereid.data.translated import translated_files
from raereid.errors import DatasetError
from raereid.synth import generate, writer


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def bench(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("val") / "all3"
    generate(out, seed=0, scale="tiny", domains=["market1501", "dukemtmcreid", "msmt17"], workers=2)
    return out


def test_val_identities_are_new_people(bench: Path) -> None:
    table = json.loads((bench / "synth_identities.json").read_text())["domains"]
    manifest = json.loads((bench / "synth.json").read_text())
    every_key = {tuple(attrs) for groups in table.values() for people in groups.values() for attrs in people.values()}
    assert len(every_key) == sum(len(people) for groups in table.values() for people in groups.values())
    for name, groups in table.items():
        val = {tuple(attrs) for attrs in groups["val"].values()}
        others = {tuple(attrs) for group in ("train", "test", "gallery_only", "distractor")
                  for attrs in groups[group].values()}
        assert len(val) == len(groups["val"]) == manifest["details"][name]["val_ids"] == 3  # a third of 8 test ids
        assert not val & others, f"{name}: a validation identity also appears in training or test"
        val_pids = {int(p) for p in groups["val"]}
        used = {int(p) for d in table.values() for g, people in d.items() if g not in ("val", "distractor")
                for p in people}
        assert not val_pids & used
    for name, ds in discover(bench).items():
        train, test = {r.pid for r in ds.train}, {r.pid for r in ds.query + ds.gallery} - {0}
        val = {r.pid for r in ds.val_query + ds.val_gallery}
        assert val == {int(p) for p in table[name]["val"]}
        assert not val & train and not val & test
        gallery_cams: dict[int, set[int]] = {}
        for r in ds.val_gallery:
            gallery_cams.setdefault(r.pid, set()).add(r.camid)
        assert all(gallery_cams[q.pid] - {q.camid} for q in ds.val_query)  # a cross-camera match for every query


def test_val_split_on_disk_and_counted(bench: Path, capsys: pytest.CaptureFixture) -> None:
    manifest = json.loads((bench / "synth.json").read_text())
    for folder in ("Market-1501-v15.09.15", "DukeMTMC-reID"):
        assert sorted(p.name for p in (bench / folder / "validation").iterdir()) == ["bounding_box_test", "query"]
    msmt = bench / "MSMT17_V1"
    for name in ("list_val_query.txt", "list_val_gallery.txt"):
        assert all((msmt / "test" / line.split()[0]).is_file() for line in (msmt / name).read_text().splitlines())
    assert main(["datasets", "--data-root", str(bench), "--json"]) == 0
    counted = json.loads(capsys.readouterr().out)
    assert counted == manifest["datasets"]
    for name, splits in counted.items():
        assert splits["val_query"]["ids"] == splits["val_gallery"]["ids"] == manifest["details"][name]["val_ids"]
    assert main(["datasets", "--data-root", str(bench)]) == 0
    header = capsys.readouterr().out.splitlines()[0]
    assert "val_query (ids/imgs/cams)" in header and "val_gallery (ids/imgs/cams)" in header


def test_val_split_leaves_the_other_files_unchanged(bench: Path, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """The same generation without the validation split writes the same training and test bytes."""
    monkeypatch.setattr(writer, "plan_validation", lambda plan, *args: plan.identities.setdefault("val", {}))
    without = tmp_path / "without"
    generate(without, seed=0, scale="tiny", domains=["market1501", "dukemtmcreid", "msmt17"], workers=1)
    kept = {k: v for k, v in _files(without).items() if not k.startswith("synth") and "list_val_" not in k}
    written = _files(bench)
    assert len(kept) > 250 and all(written[k] == v for k, v in kept.items())
    val_pids = json.loads((bench / "synth_identities.json").read_text())["domains"]["msmt17"]["val"]
    for extra in set(written) - set(kept) - {"synth.json", "synth_identities.json"}:
        parts = Path(extra).parts
        assert parts[1] == "validation" or parts[1].startswith("list_val_") or (
            parts[:2] == ("MSMT17_V1", "test") and str(int(parts[2])) in val_pids
        ), extra


def test_choosing_the_evaluation_split(bench: Path) -> None:
    ds = load_dataset("market1501", bench)
    assert ds.has_split("test") and ds.has_split("val")
    assert ds.evaluation_split("test") is ds
    val = ds.evaluation_split("val")
    assert val.query == ds.val_query and val.gallery == ds.val_gallery and val.name == ds.name
    assert val.train == ds.train
    with pytest.raises(DatasetError, match="unknown evaluation split 'dev'") as err:
        ds.evaluation_split("dev")
    assert "test, val" in err.value.fix


def test_real_trees_without_val_read_as_before_and_refuse_val_clearly(tmp_path: Path) -> None:
    base = market_tree(tmp_path)
    ds = load_dataset("market1501", tmp_path)
    assert set(ds.stats()) == {"train", "query", "gallery"} and not ds.has_val
    with pytest.raises(DatasetError) as err:
        ds.evaluation_split("val")
    assert "has no validation split" in err.value.what and err.value.where == str(base)
    assert "validation/query/ and validation/bounding_box_test/" in err.value.fix and "test split" in err.value.fix
    msmt_tree(tmp_path / "m")
    msmt = load_dataset("msmt17", tmp_path / "m")
    with pytest.raises(DatasetError) as err:
        msmt.evaluation_split("val")
    assert "list_val_query.txt and list_val_gallery.txt" in err.value.fix
    folder = load_dataset(str(base / "query"))  # an unlabeled image folder
    with pytest.raises(DatasetError, match="no validation split") as err:
        folder.evaluation_split("val")
    assert "val_query.csv" in err.value.fix


def test_market_validation_folder(tmp_path: Path) -> None:
    base = market_tree(tmp_path)
    write_image(base / "validation" / "query" / "0020_c1s1_002001_00.jpg")
    for name in ("0020_c2s1_002002_01.jpg", "0021_c3s1_002101_01.jpg", "-1_c1s1_000409_03.jpg"):
        write_image(base / "validation" / "bounding_box_test" / name)
    ds = load_dataset("market1501", tmp_path)
    assert ds.stats()["val_query"] == {"ids": 1, "images": 1, "cameras": 1}
    assert ds.stats()["val_gallery"] == {"ids": 2, "images": 2, "cameras": 2}  # junk dropped as in the test gallery
    assert len(ds.train) == 6  # the validation folder is not part of any other split
    rels = {str(p) for p in translated_files(ds)}
    assert {"validation/query/0020_c1s1_002001_00.jpg", "validation/bounding_box_test/-1_c1s1_000409_03.jpg"} <= rels


def test_incomplete_validation_folder_is_refused(tmp_path: Path) -> None:
    base = market_tree(tmp_path)
    write_image(base / "validation" / "query" / "0020_c1s1_002001_00.jpg")
    with pytest.raises(DatasetError, match="incomplete validation split") as err:
        load_dataset("market1501", tmp_path)
    assert err.value.where == str(base / "validation") and "bounding_box_test" in err.value.what


def test_msmt_validation_lists(tmp_path: Path) -> None:
    base = msmt_tree(tmp_path)
    lines = {"list_val_query.txt": [], "list_val_gallery.txt": []}
    for i, cam in enumerate((2, 3, 4)):
        rel = f"0050/0050_{i:03d}_{cam:02d}_0113noon_{i:04d}_0.jpg"
        write_image(base / "test" / rel)
        lines["list_val_query.txt" if i == 0 else "list_val_gallery.txt"].append(f"{rel} 50")
    (base / "list_val_query.txt").write_text("\n".join(lines["list_val_query.txt"]) + "\n")
    with pytest.raises(DatasetError, match="incomplete MSMT17 validation split: no list_val_gallery.txt"):
        load_dataset("msmt17", tmp_path)
    (base / "list_val_gallery.txt").write_text("\n".join(lines["list_val_gallery.txt"]) + "\n")
    ds = load_dataset("msmt17", tmp_path)
    assert ds.stats()["val_query"] == {"ids": 1, "images": 1, "cameras": 1}
    assert ds.stats()["val_gallery"] == {"ids": 1, "images": 2, "cameras": 2}
    assert ds.stats()["train"]["images"] == 6  # list_val.txt stays part of MSMT17's training split


def test_list_files_validation_split(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    base = tmp_path / "mycams"
    for name in ("a/1.jpg", "a/2.jpg", "b/3.jpg", "b/4.jpg", "v/5.jpg", "v/6.jpg", "v/7.jpg"):
        write_image(base / name)
    (base / "train.csv").write_text("path,pid,camid\na/1.jpg,10,0\na/2.jpg,10,1\n")
    (base / "query.csv").write_text("b/3.jpg,11,0\n")
    (base / "gallery.csv").write_text("b/4.jpg,11,1\n")
    (base / "val_query.csv").write_text("v/5.jpg,12,0\n")
    with pytest.raises(DatasetError, match="val_query.csv without val_gallery.csv"):
        load_dataset("mycams", tmp_path)
    (base / "val_gallery.csv").write_text("v/6.jpg,12,1\nv/7.jpg,13,1\n")
    ds = load_dataset("mycams", tmp_path)
    assert [r.pid for r in ds.evaluation_split("val").query] == [12]
    assert ds.stats()["val_gallery"] == {"ids": 2, "images": 2, "cameras": 1}
    market_tree(tmp_path)
    assert main(["datasets", "--data-root", str(tmp_path)]) == 0
    rows = {line.split()[0]: line for line in capsys.readouterr().out.splitlines()[2:]}
    assert rows["market1501"].rstrip().endswith("-") and not rows["mycams"].rstrip().endswith("-")
