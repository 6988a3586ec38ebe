"""Shared test helpers: tiny dataset trees written in the real on-disk layouts."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

# Session fixtures every test module can use: tiny_runs (tools_fixtures), report_runs and report_page (report_fixtures).
pytest_plugins = ("tools_fixtures", "report_fixtures")
# The fixtures that generate the benchmark or train models: a test using one (directly or through another fixture)
# is marked `slow`, so the quick tier (`scripts/test.sh --quick`, i.e. `-m "not slow"`) leaves it out. `bench` is
# the tiny benchmark of test_synth.py and test_val_split.py (module fixtures).
SLOW_FIXTURES = frozenset({"tiny_bench", "tiny_runs", "report_runs", "report_page", "bench"})


# The longest test files (each test a minute or more of CPU), collected first: run in parallel (scripts/test.sh), the
# workers start with them and finish together instead of one of them ending the run alone with the demo.
LONGEST_FIRST = ("test_demo.py", "test_distributed.py", "test_crash_safety.py", "test_presets_smoke.py")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark `slow` every test that uses a fixture of SLOW_FIXTURES; put the longest files first."""
    for item in items:
        if SLOW_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: the rest keep their order

# A 16x8 JPEG, encoded once: trees of hundreds of files stay cheap to write.
_buf = io.BytesIO()
Image.fromarray(np.random.default_rng(0).integers(0, 255, (16, 8, 3), dtype=np.uint8)).save(_buf, "JPEG")
JPEG_BYTES = _buf.getvalue()


def write_image(path: Path, data: bytes = JPEG_BYTES) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def market_tree(root: Path, folder: str = "Market-1501-v15.09.15") -> Path:
    """Market-1501 layout: 3 train ids, query of 2 ids, gallery with junk (-1) and distractors (0)."""
    base = root / folder
    for pid in (2, 7, 9):
        for cam in (1, 2):
            write_image(base / "bounding_box_train" / f"{pid:04d}_c{cam}s1_{pid * 100 + cam:06d}_01.jpg")
    for pid, cam in ((3, 1), (5, 2)):
        write_image(base / "query" / f"{pid:04d}_c{cam}s1_000{pid}01_00.jpg")
    for name in ("0003_c2s1_000302_01.jpg", "0003_c3s2_000303_01.jpg", "0005_c1s1_000501_01.jpg",
                 "0000_c1s1_000001_01.jpg", "0000_c4s1_000002_02.jpg", "-1_c1s1_000401_03.jpg",
                 "-1_c5s1_000402_03.jpg"):
        write_image(base / "bounding_box_test" / name)
    (base / "bounding_box_test" / "Thumbs.db").write_bytes(b"not an image")
    return base


def duke_tree(root: Path, folder: str = "DukeMTMC-reID") -> Path:
    base = root / folder
    for pid in (1, 4):
        for cam in (1, 5, 8):
            write_image(base / "bounding_box_train" / f"{pid:04d}_c{cam}_f{pid * 1000 + cam:07d}.jpg")
    write_image(base / "query" / "0010_c2_f0046182.jpg")
    for name in ("0010_c3_f0046300.jpg", "0010_c2_f0046400.jpg", "0011_c7_f0000001.jpg"):
        write_image(base / "bounding_box_test" / name)
    return base


def msmt_tree(root: Path, version: str = "V1") -> Path:
    base = root / f"MSMT17_{version}"
    train_dir, test_dir = ("train", "test") if version == "V1" else ("mask_train_v2", "mask_test_v2")
    lists = {"list_train.txt": [], "list_val.txt": [], "list_query.txt": [], "list_gallery.txt": []}
    for pid in range(3):
        for i, cam in enumerate((1, 15)):
            rel = f"{pid:04d}/{pid:04d}_{i:03d}_{cam:02d}_0303morning_{i:04d}_0.jpg"
            write_image(base / train_dir / rel)
            lists["list_val.txt" if pid == 2 else "list_train.txt"].append(f"{rel} {pid}")
    for pid in range(2):
        for i, cam in enumerate((3, 4, 5)):
            rel = f"{pid:04d}/{pid:04d}_{i:03d}_{cam:02d}_0113afternoon_{i:04d}_0.jpg"
            write_image(base / test_dir / rel)
            lists["list_query.txt" if i == 0 else "list_gallery.txt"].append(f"{rel} {pid}")
    for name, lines in lists.items():
        (base / name).write_text("\n".join(lines) + "\n")
    return base


@pytest.fixture
def tmp_tree(tmp_path: Path) -> Path:
    return tmp_path


@pytest.fixture(scope="session")
def tiny_bench(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The procedural benchmark at tiny scale (Market- and Duke-style), generated once per session."""
    from raereid.synth import generate

    out = tmp_path_factory.mktemp("bench") / "tiny"
    generate(out, seed=0, scale="tiny", workers=1)
    return out


def tiny_overrides(root: Path, out: Path, variant: str = "full", iterations: int = 4, *extra: str) -> list[str]:
    """A seconds-long CPU run of the synthetic preset on the tiny benchmark: `iterations` of the source stage for
    direct, of adaptation (without a source stage, unless `extra` sets source.iterations) for the other variants."""
    source = iterations if variant == "direct" else 0
    return [
        f"data.root={root}", f"train.output={out}", f"train.variant={variant}", f"optim.iterations={iterations}",
        f"source.iterations={source}",
        "data.height=64", "data.width=32", "data.p=4", "data.k=2", "data.workers=0", "data.verify_images=false",
        "model.backbone=convnet_small", "model.last_stride=2", "model.pretrained=none",
        "model.decoder_channels=16,8", "model.discriminator_channels=8,16,16", "model.fusion_dim=32",
        "model.fusion_out=32",
        "cluster.method=kmeans", "cluster.num_clusters=4", "train.eval_every=0", "train.log_every=1",
        *extra,
    ]


def train_command(root: Path, out: Path, variant: str, iterations: int, *extra: str, nproc: int = 1,
                  resume: bool = False, flags: tuple[str, ...] = ()) -> list[str]:
    """`python -m raereid train` of `tiny_overrides` as a subprocess command line (`flags` such as --keep-last)."""
    sets = [a for kv in tiny_overrides(root, out, variant, iterations, *extra) for a in ("--set", kv)]
    return [sys.executable, "-m", "raereid", "train", "--config", "synthetic", "--nproc", str(nproc), *flags, *sets,
            *(["--resume"] if resume else [])]


def one_thread_env() -> dict[str, str]:
    """The environment of a subprocess run with one BLAS/OpenMP thread (runs compared bit for bit, or timed)."""
    from raereid.experiments.run import one_thread_env as package_env

    return package_env()
