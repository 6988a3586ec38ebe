"""The dataset-layout registry: built-in readers are records in it, and a plugin module can add its own."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import market_tree, write_image

from raereid.data import DatasetLayout, discover, load_dataset, register_layout
from raereid.data import registry as reg
from raereid.data.bbox_layout import check_bbox_complete, has_bbox_layout, name_fit, read_bbox_dataset
from raereid.data.files import list_images
from raereid.data.records import ImageRecord, ReidDataset
from raereid.errors import ConfigError, DatasetError


@pytest.fixture
def fresh_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    """Registrations made by a test are dropped after it."""
    monkeypatch.setattr(reg.LAYOUTS, "_items", dict(reg.LAYOUTS._items))


def _read_toy(folder: Path) -> ReidDataset:
    records = [ImageRecord(str(p), int(p.stem.split("_")[0]), 0) for p in list_images(folder / "images")]
    return ReidDataset(name="toyset", root=folder, train=records, layout="Toy")


def test_built_in_layouts_in_detection_order() -> None:
    assert [layout.name for layout in reg.layouts()][:4] == ["market1501", "dukemtmcreid", "msmt17", "list"]
    assert reg.canonical_name("Duke") == "dukemtmcreid" and reg.canonical_name("msmt17_v2") == "msmt17"
    assert reg.canonical_name("list") is None and reg.canonical_name("mycams") is None


def test_a_plugin_layout_is_found_by_content_and_by_name(tmp_path: Path, fresh_registry: None) -> None:
    register_layout(DatasetLayout(
        name="toyset", title="Toy", detect=lambda folder: (folder / "toy.txt").is_file(), read=_read_toy,
        aliases=("toy",), hint="Toy/{toy.txt,images/}",
    ))
    base = tmp_path / "renamed"
    (base / "toy.txt").parent.mkdir(parents=True)
    (base / "toy.txt").write_text("")
    for name in ("1_a.jpg", "2_b.jpg"):
        write_image(base / "images" / name)
    market_tree(tmp_path)
    assert set(discover(tmp_path)) == {"market1501", "toyset"}
    assert [r.pid for r in load_dataset("toy", tmp_path).train] == [1, 2]
    with pytest.raises(DatasetError) as err:
        load_dataset("toyset", tmp_path / "renamed" / "images")
    assert "Toy/{toy.txt,images/}" in err.value.fix
    with pytest.raises(DatasetError) as err:
        load_dataset("nothing", tmp_path)
    assert "toyset" in err.value.fix


def test_a_plugin_sharing_the_bounding_box_folders_wins_on_its_file_names(tmp_path: Path,
                                                                          fresh_registry: None) -> None:
    pattern = re.compile(r"^(\d+)-cam(\d+)-\d+\.jpg$")

    def parse(name: str) -> tuple[int, int] | None:
        m = pattern.match(name)
        return None if m is None else (int(m.group(1)), int(m.group(2)) - 1)

    register_layout(DatasetLayout(
        name="dashed", title="Dashed", detect=has_bbox_layout, example="0001-cam2-000.jpg", file_names=name_fit(parse),
        read=lambda folder: read_bbox_dataset(folder, "dashed", parse, "Dashed", "0001-cam2-000.jpg"),
        incomplete=check_bbox_complete,
    ))
    base = tmp_path / "set"
    for split, names in (("bounding_box_train", ("0001-cam1-000.jpg", "0002-cam2-001.jpg")),
                         ("query", ("0003-cam1-002.jpg",)), ("bounding_box_test", ("0003-cam2-003.jpg",))):
        for name in names:
            write_image(base / split / name)
    assert reg.detect_layout(base) == "dashed"
    assert load_dataset(str(base)).stats()["train"] == {"ids": 2, "images": 2, "cameras": 2}
    market_tree(tmp_path / "m")
    assert reg.detect_layout(tmp_path / "m" / "Market-1501-v15.09.15") == "market1501"
    odd = tmp_path / "odd"
    for split in ("bounding_box_train", "query", "bounding_box_test"):
        write_image(odd / split / "IMG_1.jpg")
    with pytest.raises(DatasetError, match="none of their conventions") as err:
        reg.detect_layout(odd)
    assert "0001-cam2-000.jpg (Dashed)" in err.value.fix


def test_names_that_fit_no_bounding_box_convention(tmp_path: Path) -> None:
    odd = tmp_path / "odd"
    for split in ("bounding_box_train", "query", "bounding_box_test"):
        write_image(odd / split / "IMG_1.jpg")
    with pytest.raises(DatasetError) as err:
        load_dataset(str(odd))
    assert err.value.what == ("folder has the Market-1501/DukeMTMC-reID layout but its file names follow neither "
                              "convention")
    assert "0002_c1s1_000451_03.jpg (Market-1501) or 0001_c2_f0046182.jpg (DukeMTMC-reID)" in err.value.fix
    for split in ("bounding_box_train", "query", "bounding_box_test"):  # the usual folder name decides
        write_image(tmp_path / "DukeMTMC-reID" / split / "IMG_1.jpg")
    assert reg.detect_layout(tmp_path / "DukeMTMC-reID") == "dukemtmcreid"


def test_a_name_is_registered_once(fresh_registry: None) -> None:
    with pytest.raises(ConfigError, match="already registered"):
        register_layout(DatasetLayout(name="market1501", title="x", detect=bool, read=_read_toy))
