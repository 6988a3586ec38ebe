"""raereid export: one ONNX graph of Algorithm 2 (+ L2 normalisation) that onnxruntime runs like PyTorch, with
float (pre-normalised) or uint8 input (preprocessing in the graph), by the dynamo or the TorchScript exporter."""

from __future__ import annotations

import sys

import numpy as np
import onnx
import pytest
import torch

import raereid
from raereid.cli.main import main
from raereid.data.images import load_rgb
from raereid.data.registry import load_dataset
from raereid.data.transforms import test_transform as eval_transform
from raereid.errors import ConfigError, InputError
from raereid.inference.features import l2_normalize
from raereid.tools.export import export_onnx, onnx_session, run_onnx
from raereid.tools.inputs import describe, open_model


@pytest.mark.parametrize("variant", ["full", "direct"])
def test_export_matches_pytorch_at_any_batch_size(tiny_runs, tmp_path, capsys, variant):
    checkpoint = getattr(tiny_runs, variant)
    out = tmp_path / f"{variant}.onnx"
    assert main(["export", "--checkpoint", str(checkpoint), "--out", str(out), "--input", "float"]) == 0
    assert "max |difference|" in capsys.readouterr().out
    assert sorted(p.name for p in tmp_path.iterdir()) == [out.name]  # self-contained: no .onnx.data, no temporaries
    proto = onnx.load(str(out))
    meta = {p.key: p.value for p in proto.metadata_props}
    assert meta["raereid.variant"] == variant and meta["raereid.l2_normalized"] == "True"
    assert meta["raereid.exporter"].startswith("torch.onnx dynamo") and proto.opset_import[0].version == 18
    given = (meta["raereid.input.layout"], meta["raereid.input.dtype"], meta["raereid.input.size"])
    assert given == ("NCHW", "float32", "64x32")
    assert meta["raereid.input.normalization"].startswith("outside the graph")
    ops = {n.op_type for n in proto.graph.node}
    assert ("ConvTranspose" in ops) == (variant == "full")  # the decoder is inside the full model's graph
    trained = open_model(checkpoint)
    session = onnx_session(out, threads=1)
    for batch in (1, 3):
        images = torch.randn(batch, 3, 64, 32, generator=torch.Generator().manual_seed(batch))
        with torch.no_grad():
            expected = l2_normalize(trained.model(images).numpy())
        got = run_onnx(session, images.numpy())
        assert got.shape == (batch, 256)
        assert np.abs(got - expected).max() <= 1e-4


def test_exported_graph_on_preprocessed_images_gives_the_evaluators_descriptors(tiny_runs, tmp_path):
    trained = open_model(tiny_runs.full)
    path = export_onnx(trained, tmp_path / "m.onnx", opset=13, exporter="torchscript")
    meta = {p.key: p.value for p in onnx.load(str(path)).metadata_props}
    assert meta["raereid.exporter"].startswith("torch.onnx torchscript")
    records = load_dataset("market", tiny_runs.data).query[:5]
    tf = eval_transform(64, 32)
    images = np.stack([tf(load_rgb(r.path)).numpy() for r in records])
    np.testing.assert_allclose(run_onnx(onnx_session(path), images), describe(trained, records), atol=1e-4)


def test_the_default_input_is_uint8_nhwc_and_an_unresized_crop_is_a_clear_error(tiny_runs, tmp_path, capsys):
    out = tmp_path / "d.onnx"
    assert main(["export", "--checkpoint", str(tiny_runs.direct), "--out", str(out), "--no-check"]) == 0
    assert "batch x 64 x 32 x 3, RGB, uint8 0-255" in capsys.readouterr().out
    assert sorted(p.name for p in tmp_path.iterdir()) == [out.name]
    meta = {p.key: p.value for p in onnx.load(str(out)).metadata_props}
    assert (meta["raereid.input.layout"], meta["raereid.input.dtype"]) == ("NHWC", "uint8")
    session = onnx_session(out, threads=1)
    crop = np.zeros((1, 128, 64, 3), dtype=np.uint8)  # a crop at its own size, not the graph's 64x32
    with pytest.raises(InputError, match=r"images of 64x32 \(height x width\); got an array of shape \(1, 128, 64, 3\)"
                       ) as info:
        run_onnx(session, crop)
    assert "image.resize((32, 64), Image.BICUBIC)" in info.value.fix
    with pytest.raises(InputError, match="NHWC"):
        run_onnx(session, crop[:, :64, :32].transpose(0, 3, 1, 2))  # channels first into an NHWC graph


def test_export_refuses_an_unsupported_opset(tiny_runs, tmp_path, capsys):
    assert main(["export", "--checkpoint", str(tiny_runs.direct), "--out", str(tmp_path / "m.onnx"), "--opset",
                 "9"]) == 2
    assert "unsupported ONNX opset 9" in capsys.readouterr().err


@pytest.mark.parametrize("variant, input_format, color",
                         [("full", "uint8-nhwc", "BGR"), ("direct", "uint8-nchw", "RGB")])
def test_uint8_graph_normalises_inside_and_matches_pytorch(tiny_runs, tmp_path, capsys, variant, input_format, color):
    """Pixels at the input size in, the evaluator's descriptors out (PyTorch: PIL image -> test_transform), to 1e-5."""
    checkpoint = getattr(tiny_runs, variant)
    out = tmp_path / "m.onnx"
    argv = ["export", "--checkpoint", str(checkpoint), "--out", str(out), "--input", input_format, "--color", color]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "uint8 0-255, normalised in the graph" in printed and "bicubic" in printed
    meta = {p.key: p.value for p in onnx.load(str(out)).metadata_props}
    layout = "NHWC" if input_format == "uint8-nhwc" else "NCHW"
    given = (meta["raereid.input.layout"], meta["raereid.input.dtype"], meta["raereid.input.color"])
    assert given == (layout, "uint8", color) and meta["raereid.input.size"] == "64x32"
    assert meta["raereid.input.normalization"].startswith("in the graph: x / 255")
    assert "bicubic" in meta["raereid.input.resize"]
    rgb = np.random.default_rng(1).integers(0, 256, (5, 64, 32, 3), dtype=np.uint8)  # N x H x W x 3 at the input size
    expected = raereid.FeatureExtractor(checkpoint)(rgb)
    fed = rgb[..., ::-1] if color == "BGR" else rgb
    fed = fed if layout == "NHWC" else fed.transpose(0, 3, 1, 2)
    session = onnx_session(out, threads=1)
    got = run_onnx(session, np.ascontiguousarray(fed))
    assert got.dtype == np.float32 and np.abs(got - expected).max() <= 1e-5
    assert np.abs(run_onnx(session, np.ascontiguousarray(fed[:1])) - expected[:1]).max() <= 1e-5  # any batch size
    with pytest.raises(ConfigError, match="this graph takes uint8 pixels, got float32"):
        run_onnx(session, fed.astype(np.float32))


def test_export_refuses_bgr_floats_and_a_missing_onnxscript(tiny_runs, tmp_path, capsys, monkeypatch):
    base = ["export", "--checkpoint", str(tiny_runs.direct), "--out", str(tmp_path / "m.onnx")]
    assert main([*base, "--input", "float", "--color", "BGR"]) == 2
    assert "BGR is for uint8 inputs" in capsys.readouterr().err
    assert main([*base, "--exporter", "torchscript", "--opset", "21"]) == 2
    assert "unsupported ONNX opset 21 for the torchscript exporter" in capsys.readouterr().err
    monkeypatch.setitem(sys.modules, "onnxscript", None)  # as if it were not installed
    assert main(base) == 2
    err = capsys.readouterr().err
    assert "needs the onnxscript package" in err and "--exporter torchscript" in err
    assert not (tmp_path / "m.onnx").exists()
