"""raereid.FeatureExtractor: descriptors of paths, PIL images and arrays in memory equal `raereid extract`'s."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import raereid
from raereid.cli.main import main
from raereid.engine.checkpoint import load_checkpoint, save_checkpoint
from raereid.errors import CheckpointError, ConfigError, InputError, PathError


def _extracted(checkpoint: Path, images: Path, out: Path) -> tuple[np.ndarray, list[str]]:
    argv = ["extract", "--checkpoint", str(checkpoint), "--images", str(images), "--out", str(out), "--device", "cpu"]
    assert main(argv) == 0
    saved = np.load(out)
    return saved["descriptors"], [str(p) for p in saved["paths"]]


def _flip_checkpoint(checkpoint: Path, out: Path) -> Path:
    state = load_checkpoint(checkpoint)
    state["config"]["model"]["flip_test"] = True
    return save_checkpoint(state, out)


@pytest.mark.parametrize("variant", ["full", "direct", "flip"])
def test_paths_pil_and_arrays_agree_with_raereid_extract(tiny_runs, tmp_path, variant):
    flip = variant == "flip"
    checkpoint = _flip_checkpoint(tiny_runs.full, tmp_path / "flip.pt") if flip else getattr(tiny_runs, variant)
    expected, paths = _extracted(checkpoint, tiny_runs.market / "query", tmp_path / "q.npz")
    extractor = raereid.FeatureExtractor(checkpoint, batch_size=3)
    assert extractor.flip == flip and expected.shape[1] == extractor.dim
    pil = [Image.open(p) for p in paths]
    arrays = [np.asarray(im.convert("RGB")) for im in pil]
    for given in (paths, [Path(p) for p in paths], pil, arrays):
        np.testing.assert_allclose(extractor(given), expected, rtol=0, atol=1e-6)
    np.testing.assert_allclose(extractor(np.stack(arrays[:4])), expected[:4], rtol=0, atol=1e-6)  # N x H x W x 3
    one = extractor(arrays[2])
    assert one.shape == (extractor.dim,) and np.isclose(np.linalg.norm(one), 1, atol=1e-6)
    np.testing.assert_allclose(one, expected[2], rtol=0, atol=1e-6)
    np.testing.assert_allclose(extractor([arrays[0], paths[1], pil[2]]), expected[:3], rtol=0, atol=1e-6)
    assert extractor([]).shape == (0, extractor.dim)


def test_bgr_arrays_equal_rgb_and_other_dtypes_are_read_as_documented(tiny_runs, tmp_path):
    rng = np.random.default_rng(0)
    crops = [rng.integers(0, 256, (h, w, 3), dtype=np.uint8) for h, w in ((40, 17), (128, 64), (9, 30))]
    rgb = raereid.FeatureExtractor(tiny_runs.full)(crops)
    bgr = raereid.FeatureExtractor(tiny_runs.full, color="BGR")
    np.testing.assert_array_equal(bgr([c[..., ::-1] for c in crops]), rgb)
    assert not np.allclose(bgr(crops), rgb)  # the channel order matters: the flag is not a no-op
    extractor = raereid.FeatureExtractor(tiny_runs.full)
    np.testing.assert_array_equal(extractor([c / 255.0 for c in crops]), rgb)  # floats in [0, 1]
    np.testing.assert_array_equal(extractor([c.astype(np.int64) for c in crops]), rgb)
    np.testing.assert_array_equal(extractor([Image.fromarray(c).convert("RGBA") for c in crops]), rgb)  # opaque RGBA


def test_bad_inputs_give_clear_errors(tiny_runs, tmp_path):
    extractor = raereid.FeatureExtractor(tiny_runs.direct)
    good = np.zeros((20, 10, 3), np.uint8)
    cases = [
        (np.zeros((20, 10), np.uint8), InputError,
         "image 0: array of shape (20, 10) and dtype uint8: expected a colour image"),
        ([good, np.zeros((3, 20, 10), np.uint8)], InputError, "use array.transpose(1, 2, 0)"),
        ([good, good.astype(np.float32) + 255], InputError,
         "image 1: array of shape (20, 10, 3) and dtype float32: float values from 255 to 255, outside [0, 1]"),
        (np.full((20, 10, 3), np.nan), InputError, "NaN or infinite values, outside [0, 1]"),
        (good.astype(np.int16) - 1, InputError, "values from -1 to -1, outside 0-255"),
        (np.zeros((0, 10, 3), np.uint8), InputError, "the image is empty"),
        ([good, tmp_path / "missing.jpg"], PathError, "image 1: no such file"),
        ([torch.zeros(3, 20, 10)], InputError, "image 0: unsupported input Tensor"),
    ]
    truncated = tmp_path / "truncated.jpg"
    buffer = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (64, 32, 3), dtype=np.uint8)).save(buffer, "JPEG")
    truncated.write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])  # the header, half the pixels
    cases.append(([Image.open(truncated)], InputError, "image 0: the PIL image cannot be read"))
    for given, error, message in cases:
        with pytest.raises(error) as info:
            extractor(given)
        assert message in info.value.what and info.value.fix, info.value.message()
    with pytest.raises(PathError, match="missing.jpg") as info:
        extractor(str(tmp_path / "missing.jpg"))
    assert str(tmp_path / "missing.jpg") == info.value.where
    for param in extractor.trained.model.parameters():  # a diverged model
        param.data.fill_(float("inf"))
    with pytest.raises(CheckpointError, match="non-finite descriptors"):
        extractor(good)
    with pytest.raises(ConfigError, match="color must be RGB or BGR"):
        raereid.FeatureExtractor(tiny_runs.direct, color="bgr")
    with pytest.raises(ConfigError, match="batch_size must be an integer >= 1"):
        raereid.FeatureExtractor(tiny_runs.direct, batch_size=0)


def test_import_raereid_stays_light():
    code = "import sys, raereid; assert 'torch' not in sys.modules, 'torch was imported'; print(raereid.__all__)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "FeatureExtractor" in out
