"""The procedural benchmark: determinism, disjoint identities, layouts the readers accept, safe output folder."""

from __future__ import annotations

import contextlib
import io
import json
import shutil
from collections import defaultdict
from pathlib import Path

import pytest
from PIL import Image

from raereid.cli.main import main
from raereid.data.registry import discover
from raereid.errors import RaeReidError
from raereid.synth import generate
from raereid.synth.identities import IdentityPool


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def bench(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("synth") / "seed0"
    generate(out, seed=0, scale="tiny", workers=2)
    return out


def test_same_seed_is_byte_identical_whatever_the_workers(bench, tmp_path):
    again = tmp_path / "again"
    generate(again, seed=0, scale="tiny", workers=1)
    assert _files(again) == _files(bench)


def test_different_seeds_differ(bench, tmp_path):
    other = tmp_path / "seed1"
    generate(other, seed=1, scale="tiny", domains=["market1501"], workers=2)
    a, b = _files(bench), _files(other)
    market_a = {k for k in a if k.startswith("Market")}
    market_b = {k for k in b if k.startswith("Market")}
    assert market_a != market_b
    ids_a = json.loads(a["synth_identities.json"])["domains"]["market1501"]
    ids_b = json.loads(b["synth_identities.json"])["domains"]["market1501"]
    assert ids_a != ids_b


def test_identities_disjoint_between_domains_and_splits(bench):
    table = json.loads((bench / "synth_identities.json").read_text())
    keys, pids = [], defaultdict(list)
    for domain, groups in table["domains"].items():
        for group, people in groups.items():
            keys += [tuple(attrs) for attrs in people.values()]
            if group != "distractor":  # distractors are keyed by index: they are all written as pid 0
                pids[domain] += [int(p) for p in people]
    assert len(keys) == len(set(keys)), "two identities share an attribute combination"
    all_pids = [p for domain_pids in pids.values() for p in domain_pids]
    assert len(all_pids) == len(set(all_pids)), "a pid is reused across splits or domains"
    for ds in discover(bench).values():
        train = {r.pid for r in ds.train}
        test = {r.pid for r in ds.query + ds.gallery} - {0}
        assert train and test and not train & test


def test_every_query_has_a_gallery_match_in_another_camera(bench):
    for ds in discover(bench).values():
        gallery_cams = defaultdict(set)
        for r in ds.gallery:
            gallery_cams[r.pid].add(r.camid)
        for q in ds.query:
            assert gallery_cams[q.pid] - {q.camid}, f"{q.path} has no cross-camera gallery image"


def test_readers_and_datasets_command_match_the_manifest(bench):
    manifest = json.loads((bench / "synth.json").read_text())
    datasets = discover(bench)
    assert {name: ds.stats() for name, ds in datasets.items()} == manifest["datasets"]
    assert {ds.layout for ds in datasets.values()} == {"Market-1501", "DukeMTMC-reID"}
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        assert main(["datasets", "--data-root", str(bench), "--json"]) == 0
    assert json.loads(stdout.getvalue()) == manifest["datasets"]


def test_market_gallery_holds_junk_and_distractors(bench):
    gallery = bench / "Market-1501-v15.09.15" / "bounding_box_test"
    names = [p.name for p in gallery.iterdir()]
    junk = [n for n in names if n.startswith("-1_")]
    distractors = [n for n in names if n.startswith("0000_")]
    assert junk and distractors
    read = discover(bench)["market1501"].gallery
    assert len(read) == len(names) - len(junk)  # readers drop pid -1 and keep pid 0
    assert sum(r.pid == 0 for r in read) == len(distractors)


def test_image_sizes_follow_each_domain(bench):
    market = {Image.open(p).size for p in (bench / "Market-1501-v15.09.15").rglob("*.jpg")}
    assert market == {(64, 128)}
    duke = {Image.open(p).size for p in (bench / "DukeMTMC-reID").rglob("*.jpg")}
    assert len(duke) > 5
    for w, h in duke:
        assert 176 <= h <= 264 and 2.1 <= h / w <= 3.1


def test_refuses_a_foreign_folder(tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "thesis.tex").write_text("keep me")
    with pytest.raises(RaeReidError, match="not a raereid synth output"):
        generate(out, scale="tiny", force=True)
    assert (out / "thesis.tex").read_text() == "keep me"
    assert sorted(p.name for p in out.iterdir()) == ["thesis.tex"]


def test_interrupted_run_is_detected(tmp_path):
    out = tmp_path / "half"
    out.mkdir()
    (out / ".synth-in-progress").write_text("{}")
    (out / "Market-1501-v15.09.15").mkdir()
    with pytest.raises(RaeReidError, match="incomplete") as err:
        generate(out, scale="tiny")
    assert "--force" in err.value.fix


def test_cli_needs_force_to_overwrite_and_writes_a_preview(bench, tmp_path, capsys):
    out = tmp_path / "cli"
    shutil.copytree(bench, out)
    assert main(["synth", "--out", str(out), "--scale", "tiny", "--quiet"]) == 2
    assert "--force" in capsys.readouterr().err
    preview = tmp_path / "sheet.png"
    args = ["synth", "--out", str(out), "--scale", "tiny", "--domains", "market", "--quiet", "--force",
            "--preview", str(preview)]
    assert main(args) == 0
    assert "market1501" in capsys.readouterr().out
    market = {k: v for k, v in _files(bench).items() if k.startswith("Market")}
    assert {k: v for k, v in _files(out).items() if not k.startswith("synth")} == market
    with Image.open(preview) as sheet:
        assert sheet.width > 300 and sheet.height > 500


def test_identities_are_unique_yet_confusable():
    people = IdentityPool(seed=3).draw(300, "summer")
    keys = [p.key() for p in people]
    assert len(set(keys)) == len(keys)
    near = sum(any(sum(a != b for a, b in zip(k, other)) <= 2 for other in keys if other is not k) for k in keys)
    assert near >= 0.3 * len(keys)  # many identities differ from another one in at most two attributes


def test_a_domain_does_not_depend_on_the_others_chosen(bench, tmp_path):
    alone = tmp_path / "duke_only"
    generate(alone, seed=0, scale="tiny", domains=["dukemtmcreid"], workers=2)
    duke = {k: v for k, v in _files(bench).items() if k.startswith("DukeMTMC-reID")}
    assert {k: v for k, v in _files(alone).items() if k.startswith("DukeMTMC-reID")} == duke


def test_msmt17_layout_reads_back(tmp_path):
    out = tmp_path / "msmt"
    manifest = generate(out, seed=0, scale="tiny", domains=["msmt17"], workers=2)
    datasets = discover(out)
    assert list(datasets) == ["msmt17"] and datasets["msmt17"].layout == "MSMT17 V1"
    assert {name: ds.stats() for name, ds in datasets.items()} == manifest["datasets"]
    assert (out / "MSMT17_V1" / "list_val.txt").read_text().strip()
    ds = datasets["msmt17"]
    assert not {r.pid for r in ds.train} & {r.pid for r in ds.query + ds.gallery}
    gallery_cams = defaultdict(set)
    for r in ds.gallery:
        gallery_cams[r.pid].add(r.camid)
    assert all(gallery_cams[q.pid] - {q.camid} for q in ds.query)
