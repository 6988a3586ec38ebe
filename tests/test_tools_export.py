"""raereid export: one ONNX graph of Algorithm 2 (+ L2 normalisation) that onnxruntime runs like PyTorch."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
import torch
from tools_fixtures import tiny_runs  # noqa: F401 - the session fixture

from raereid.cli.main import main
from raereid.data.images import load_rgb
from raereid.data.registry import load_dataset
from raereid.data.transforms import test_transform as eval_transform
from raereid.engine.features import l2_normalize
from raereid.tools.export import export_onnx, onnx_session, run_onnx
from raereid.tools.inputs import describe, open_model


@pytest.mark.parametrize("variant", ["full", "direct"])
def test_export_matches_pytorch_at_any_batch_size(tiny_runs, tmp_path, capsys, variant):
    checkpoint = getattr(tiny_runs, variant)
    out = tmp_path / f"{variant}.onnx"
    assert main(["export", "--checkpoint", str(checkpoint), "--out", str(out)]) == 0
    assert "max |difference|" in capsys.readouterr().out
    proto = onnx.load(str(out))
    meta = {p.key: p.value for p in proto.metadata_props}
    assert meta["raereid.variant"] == variant and meta["raereid.l2_normalized"] == "True"
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
    path = export_onnx(trained, tmp_path / "m.onnx", opset=13)
    records = load_dataset("market", tiny_runs.data).query[:5]
    tf = eval_transform(64, 32)
    images = np.stack([tf(load_rgb(r.path)).numpy() for r in records])
    np.testing.assert_allclose(run_onnx(onnx_session(path), images), describe(trained, records), atol=1e-4)


def test_export_refuses_an_unsupported_opset(tiny_runs, tmp_path, capsys):
    assert main(["export", "--checkpoint", str(tiny_runs.direct), "--out", str(tmp_path / "m.onnx"), "--opset", "9"]) == 2
    assert "unsupported ONNX opset 9" in capsys.readouterr().err
