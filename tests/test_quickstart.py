"""README.md's quick start on real data and docs/datasets.md's own-camera walkthrough, run: every `raereid ...` command
of the two sections is taken from those files as written and run in-process (raereid.cli.main.main), in reading order,
in a folder holding `DATA`: the tiny procedural benchmark in the real layouts (DukeMTMC-reID/, Market-1501-v15.09.15/),
plus crops of it as the user's cameras. A doc edit that breaks a command breaks these tests (test_docs.py only parses
the commands)."""

from __future__ import annotations

import io
import json
import re
import shlex
import shutil
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest
from conftest import tiny_overrides
from markdown_commands import FENCE, command_lines, commands_in_order, section

from raereid.cli.main import main

ROOT = Path(__file__).resolve().parents[1]
QUICK_START = section((ROOT / "README.md").read_text(encoding="utf-8"), "Quick start on real data")
OWN_CAMERAS = section((ROOT / "docs" / "datasets.md").read_text(encoding="utf-8"), "Your own cameras")
MARKET = "DATA/Market-1501-v15.09.15"
# Inline mentions that name a command rather than give one to run.
MENTIONS = {"raereid datasets", "raereid export --input uint8-nhwc"}
# Appended as --set to every `raereid train` line that trains. The docs' presets are GPU-sized (ResNet-50 at
# 256x128 from ImageNet weights, 12,000 + 20,000 iterations): here the model and data take conftest's tiny CPU sizes
# (convnet_small from random weights at 64x32, small decoder and fusion) and each stage runs 2 iterations. What the
# docs' line gives (--data-root, --target, --out, its --set) and the preset's clustering stay as written.
CPU = [kv for kv in tiny_overrides(Path("DATA"), Path("runs"), "full", 2)
       if not kv.startswith(("data.root", "train.output", "train.variant", "source.iterations", "cluster."))]
CPU.append("source.iterations=2")


def run(line: str, placeholders: dict[str, str] | None = None) -> str:
    """Run one documented command line in the current folder, its placeholders replaced; its stdout. The command must
    exit 0 and write the files its --out / --picture name."""
    argv = [(placeholders or {}).get(word, word) for word in shlex.split(line)][1:]
    if argv[0] == "train" and not {"--list-presets", "--print-config"} & set(argv):
        argv += [a for kv in CPU for a in ("--set", kv)]
    written = [Path(argv[i + 1]) for i, flag in enumerate(argv[:-1]) if flag in ("--out", "--picture")]
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(argv)
    assert code == 0, f"`{line.strip()}` exited with {code}:\n{err.getvalue()}"
    missing = [str(p) for p in written if not p.exists()]
    assert not missing, f"`{line.strip()}` did not write {missing}"
    return out.getvalue()


def blocks(markdown: str) -> list[list[str]]:
    """The `raereid ...` commands of each code block of a markdown text."""
    return [command_lines(fence.group(0)) for fence in FENCE.finditer(markdown)]


def metrics(run_folder: str) -> dict:
    return json.loads(Path(run_folder, "metrics.json").read_text(encoding="utf-8"))


def work_folder(bench: Path, folder: Path) -> Path:
    """`folder` holding DATA, a copy of the tiny benchmark (tests never change the session's copy)."""
    shutil.copytree(bench, folder / "DATA")
    return folder


@pytest.fixture(scope="module")
def d2m(tiny_bench: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """Quick-start steps 1 and 2 (datasets, train), shared by the later steps: the folder and step 1's table."""
    folder = work_folder(tiny_bench, tmp_path_factory.mktemp("quickstart"))
    datasets, train = blocks(QUICK_START)[0][:2]
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(folder)
        return folder, run(datasets) + run(train)


def test_quick_start_steps_1_and_2_list_the_datasets_and_train_both_stages(d2m, monkeypatch) -> None:
    folder, table = d2m
    monkeypatch.chdir(folder)
    assert all(re.search(rf"^{name}\s+\d+ /", table, flags=re.M) for name in ("dukemtmcreid", "market1501")), table
    direct = metrics("runs/d2m/source")  # direct transfer's score on the target
    assert (direct["variant"], direct["target"]) == ("direct", "market1501")
    assert isinstance(direct["mAP"], float) and Path("runs/d2m/source/model.pt").is_file()
    for name in ("model.pt", "metrics.json", "train.log", "config.yaml"):
        assert Path("runs/d2m", name).is_file(), name
    assert metrics("runs/d2m")["variant"] == "full" and isinstance(metrics("runs/d2m")["mAP"], float)


def test_quick_start_steps_3_to_5_evaluate_report_and_export(d2m, monkeypatch) -> None:
    monkeypatch.chdir(d2m[0])
    evaluate, report, export = blocks(QUICK_START)[0][2:]
    scores = run(evaluate)
    assert "market1501" in scores and re.search(r"^mAP\s+\d", scores, flags=re.M) and "mINP" in scores
    run(report)
    assert "<html" in Path("runs/d2m/report/index.html").read_text(encoding="utf-8").lower()
    run(export)
    assert Path("d2m.onnx").stat().st_size > 0


def test_quick_start_alternatives_rank_index_and_search(d2m, monkeypatch) -> None:
    folder = d2m[0]
    monkeypatch.chdir(folder)
    query = sorted((folder / MARKET / "query").glob("*.jpg"))[0]
    rank, index, search = blocks(QUICK_START)[1]
    run(rank)
    assert Path("runs/d2m/ranked/ranked.png").is_file()
    run(index, {"GALLERY_DIR": f"{MARKET}/bounding_box_test"})
    assert Path("runs/d2m/index/index.json").is_file()
    hits = run(search, {"QUERY.jpg": f"{MARKET}/query/{query.name}"})
    assert re.search(r"^\s+10\s+-?\d\.\d+\s+\S*bounding_box_test", hits, flags=re.M), hits  # the 10th result


def test_quick_start_inline_commands_list_and_print_the_presets(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    inline = [c for c in commands_in_order(QUICK_START) if c not in sum(blocks(QUICK_START), [])]
    assert inline, "no inline commands in the quick start"
    outputs = [run(line) for line in inline]
    presets = next(o for line, o in zip(inline, outputs) if "--list-presets" in line)
    assert all(name in presets for name in ("duke2market", "market2duke", "duke2msmt", "market2msmt"))
    resolved = next(o for line, o in zip(inline, outputs) if "--print-config" in line)
    assert "resnet50" in resolved and not Path("runs").exists()  # reads no data, trains nothing


def own_camera_data(data: Path) -> str:
    """DATA/mycams (crops of the tiny Market in cam1/ and cam2/, some deeper; any file names) and DATA/mytarget (list
    files: train.csv of `path` rows, val_query.csv and val_gallery.csv of `path,pid,camid` rows); a crop to query."""
    market = data / "Market-1501-v15.09.15"
    crops = sorted((market / "bounding_box_train").glob("*.jpg"))
    for i, crop in enumerate(crops):
        camera = data / "mycams" / f"cam{1 + i % 2}"
        folder = camera / "day2" if i % 3 == 0 else camera
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copy(crop, folder / f"{i:06d}.jpg")
    shutil.copytree(market / "bounding_box_train", data / "mytarget" / "crops")
    (data / "mytarget" / "train.csv").write_text("path\n" + "".join(f"crops/{c.name}\n" for c in crops))
    for split, folder in (("val_query", "query"), ("val_gallery", "bounding_box_test")):
        shutil.copytree(market / "validation" / folder, data / "mytarget" / split)
        names = sorted(p.name for p in (data / "mytarget" / split).iterdir())  # Market names: PPPP_cC...
        rows = [f"{split}/{name},{int(name[:4])},{name[6]}\n" for name in names]
        (data / "mytarget" / f"{split}.csv").write_text("path,pid,camid\n" + "".join(rows))
    return str(next((data / "mycams" / "cam1").glob("*.jpg")).relative_to(data.parent))


def test_own_camera_walkthrough_runs_as_written(tiny_bench, tmp_path, monkeypatch) -> None:
    folder = work_folder(tiny_bench, tmp_path)
    person = own_camera_data(folder / "DATA")
    monkeypatch.chdir(folder)
    lines = [c for c in commands_in_order(OWN_CAMERAS) if c not in MENTIONS]
    assert [line.split()[1] for line in lines] == [
        "train", "select", "reconstruct", "report", "train", "train", "train", "report", "select", "index", "search",
    ], lines
    outputs = [run(line, {"person.jpg": person}) for line in lines]

    adapted = metrics("runs/mycams")  # an unlabelled target: nothing scored
    assert adapted["target"] == "mycams" and adapted["mAP"] is None
    assert Path("runs/mycams/source/model.pt").is_file()
    log = Path("runs/mycams/train.log").read_text(encoding="utf-8")
    assert "WARNING target 'mycams' has no query/gallery split: nothing to evaluate" in log
    crops = len(list(Path("DATA/mycams").rglob("*.jpg")))
    assert re.search(rf"epoch 0: \d+ clusters, \d+ outliers of {crops} target images \(encoder descriptor\)", log), log
    assert Path("runs/mycams/domain_gap.png").is_file() and Path("runs/mycams/domain_gap.json").is_file()
    for run_folder in ("runs/eps0.6", "runs/eps0.5", "runs/rho"):
        scores = metrics(run_folder)  # the validation split and the reconstructions are scored
        assert scores["target"] == "mytarget" and isinstance(scores["val"]["mAP"], float), scores
        assert isinstance(scores["psnr_source"], float) and isinstance(scores["ssim_source"], float), scores
    assert not Path("runs/eps0.5/source").exists() and not Path("runs/rho/source").exists()  # adapted from eps0.6's
    for report in ("runs/mycams/report", "runs/eps-report"):
        assert Path(report, "index.html").is_file()
    assert "rank  similarity  path" in outputs[-1] and "mycams" in outputs[-1]
    # `raereid datasets` (the quick start's step 1) counts the list-file target and the plain image folder, cameras
    table = run(blocks(QUICK_START)[0][0])
    assert re.search(r"^mytarget\s", table, flags=re.M)
    assert re.search(rf"^mycams\s+0 /\s+{crops} /\s+2\s", table, flags=re.M), table
