"""raereid index and raereid search: a faiss gallery index and queries against it."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from PIL import Image

from raereid.cli.main import main
from raereid.tools.index import open_index
from raereid.tools.inputs import describe, open_model
from raereid.tools.ranking import GREY, cell_origin, sheet_size


@pytest.fixture(scope="module")
def built(tiny_runs, tmp_path_factory):
    """An index of the tiny Market gallery folder, built with the full model."""
    out = tmp_path_factory.mktemp("index") / "idx"
    gallery = tiny_runs.market / "bounding_box_test"
    assert main(["index", "--checkpoint", str(tiny_runs.full), "--gallery", str(gallery), "--out", str(out)]) == 0
    return out, sorted(gallery.iterdir())


def test_index_holds_every_gallery_image_with_the_models_descriptors(tiny_runs, built):
    out, gallery = built
    index = open_index(out)
    assert [r.path for r in index.records] == [str(p.resolve()) for p in gallery]
    assert index.index.ntotal == len(gallery) and index.dim == 256
    trained = open_model(tiny_runs.full)
    stored = index.index.reconstruct_n(0, index.index.ntotal)
    np.testing.assert_allclose(stored, describe(trained, index.records), atol=1e-5)


def test_search_finds_the_query_itself_first_when_it_is_in_the_gallery(built, tmp_path, capsys):
    out, gallery = built
    queries = [gallery[3], gallery[10]]
    picture = tmp_path / "search.png"
    argv = ["search", "--index", str(out), "--query", *map(str, queries), "--topk", "4", "--picture", str(picture)]
    assert main(argv + ["--json"]) == 0
    captured = capsys.readouterr()
    results = json.loads(captured.out)
    assert f"picture: {picture}" in captured.err
    for query, result in zip(queries, results):
        top = result["results"]
        assert top[0]["path"] == str(query.resolve()) and top[0]["similarity"] == pytest.approx(1.0, abs=1e-5)
        assert [r["rank"] for r in top] == [1, 2, 3, 4]
        assert all(a["similarity"] >= b["similarity"] for a, b in zip(top, top[1:]))
    sheet = Image.open(picture).convert("RGB")
    assert sheet.size[1] == sheet_size(2, 4)[1]
    x, y = cell_origin(1, 4, 4)
    assert sheet.getpixel((x + 1, y + 1)) == GREY  # identities unknown: results are not coloured

    assert main(argv[:-2]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[1].split() == ["rank", "similarity", "path"]
    assert table[2].split() == ["1", "1.0000", str(queries[0].resolve())]


def test_search_refuses_a_model_other_than_the_indexs(tiny_runs, built, capsys):
    out, gallery = built
    assert main(["search", "--index", str(out), "--query", str(gallery[0]), "--checkpoint", str(tiny_runs.direct)]) == 2
    err = capsys.readouterr().err
    assert "built with another model" in err and "fix:" in err


def test_search_with_a_moved_checkpoint_or_a_copied_index(tiny_runs, built, tmp_path, capsys):
    out, gallery = built
    copy = tmp_path / "copied.pt"
    shutil.copy(tiny_runs.full, copy)  # the same weights elsewhere are accepted
    assert main(["search", "--index", str(out), "--query", str(gallery[0]), "--checkpoint", str(copy), "--topk",
                 "1"]) == 0
    capsys.readouterr()
    broken = tmp_path / "broken"
    shutil.copytree(out, broken)
    meta = json.loads((broken / "index.json").read_text())
    meta["paths"] = meta["paths"][:-1]
    (broken / "index.json").write_text(json.dumps(meta))
    assert main(["search", "--index", str(broken), "--query", str(gallery[0])]) == 2
    assert "different runs" in capsys.readouterr().err


def test_bad_gallery_or_query_is_a_clear_error(tiny_runs, built, tmp_path, capsys):
    empty = tmp_path / "empty"
    (empty / "cam1").mkdir(parents=True)
    (empty / "notes.txt").write_text("no images here")
    assert main(["index", "--checkpoint", str(tiny_runs.full), "--gallery", str(empty), "--out",
                 str(tmp_path / "i")]) == 2
    assert "no images in the gallery folder" in capsys.readouterr().err
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0 truncated")
    assert main(["search", "--index", str(built[0]), "--query", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "cannot decode image" in err and str(bad) in err
    assert main(["search", "--index", str(tmp_path), "--query", str(built[1][0])]) == 2
    assert "not a raereid index folder" in capsys.readouterr().err
