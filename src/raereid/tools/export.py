"""ONNX export of the whole inference pipeline (Algorithm 2) as one graph with a dynamic batch.

The graph is Enc, Dec, the recurrent Enc, fusion P and pooling (`RAE.forward`; GAP(Enc(I)) for
variants without fusion), averaged with the mirror image when the checkpoint tests with flips,
then L2-normalised: its output is the retrieval descriptor, compared by inner product. Input:
RGB images, NCHW float32 at the checkpoint's size, ImageNet-normalised (as `test_transform`).
Exported with torch.onnx's TorchScript exporter (`dynamo=False`): the dynamo exporter needs
`onnxscript`, which raereid does not depend on.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from raereid.engine.model_io import TrainedModel
from raereid.errors import ConfigError
from raereid.models.rae import RAE
from raereid.pixels import IMAGENET_MEAN, IMAGENET_STD

OPSET = 17
OPSETS = range(13, 21)  # bilinear Resize and ConvTranspose need >= 13 here; 20 is the TorchScript exporter's newest
INPUT, OUTPUT = "images", "descriptors"


class DescriptorGraph(nn.Module):
    """What gets exported: Algorithm 2, the optional flip average, then (optionally) L2 normalisation."""

    def __init__(self, model: RAE, flip: bool = False, normalize: bool = True):
        super().__init__()
        self.model, self.flip, self.normalize = model, flip, normalize

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        out = self.model(images)
        if self.flip:
            out = (out + self.model(torch.flip(images, dims=[3]))) / 2
        return F.normalize(out, dim=1) if self.normalize else out


def descriptor_graph(trained: TrainedModel, normalize: bool = True) -> DescriptorGraph:
    """The exported module of a checkpoint, on the CPU in eval mode (flip as the checkpoint's flip_test)."""
    return DescriptorGraph(trained.model.cpu().eval(), trained.cfg.model.flip_test, normalize).eval()


def export_onnx(trained: TrainedModel, out: str | Path, opset: int = OPSET, normalize: bool = True) -> Path:
    """Write the checkpoint's descriptor pipeline to `out` (ONNX, batch dimension dynamic), checked by onnx."""
    import onnx

    if opset not in OPSETS:
        raise ConfigError(f"unsupported ONNX opset {opset}", fix=f"use an opset from {OPSETS[0]} to {OPSETS[-1]} (default {OPSET})")
    graph = descriptor_graph(trained, normalize)
    height, width = trained.model.input_size
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notice and constant-folding tracer notes
        torch.onnx.export(
            graph,
            (torch.zeros(2, 3, height, width),),
            str(out),
            dynamo=False,
            opset_version=opset,
            input_names=[INPUT],
            output_names=[OUTPUT],
            dynamic_axes={INPUT: {0: "batch"}, OUTPUT: {0: "batch"}},
        )
    proto = onnx.load(str(out))
    meta = {
        "raereid.variant": trained.model.variant.name,
        "raereid.checkpoint": str(trained.path),
        "raereid.iteration": str(trained.iteration),
        "raereid.input": f"RGB NCHW float32 {height}x{width}, (x/255 - mean) / std",
        "raereid.mean": ",".join(map(str, IMAGENET_MEAN)),
        "raereid.std": ",".join(map(str, IMAGENET_STD)),
        "raereid.flip_average": str(graph.flip),
        "raereid.l2_normalized": str(normalize),
    }
    for key, value in meta.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.checker.check_model(proto)
    onnx.save(proto, str(out))
    return out


def onnx_session(path: str | Path, threads: int = 0):
    """An onnxruntime CPU session for an exported model (`threads` 0 = onnxruntime's default)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def run_onnx(session, images: np.ndarray) -> np.ndarray:
    """Descriptors of a batch of preprocessed images through an onnxruntime session."""
    return session.run([OUTPUT], {INPUT: np.ascontiguousarray(images, dtype=np.float32)})[0]


@torch.no_grad()
def parity(trained: TrainedModel, path: str | Path, batch: int = 4, seed: int = 0, normalize: bool = True) -> float:
    """Max absolute difference between PyTorch's and onnxruntime's L2-normalised descriptors on a random batch
    (`normalize` says whether the exported graph normalises itself)."""
    height, width = trained.model.input_size
    images = torch.randn(batch, 3, height, width, generator=torch.Generator().manual_seed(seed))
    expected = F.normalize(descriptor_graph(trained, normalize)(images), dim=1).numpy()
    got = F.normalize(torch.from_numpy(run_onnx(onnx_session(path), images.numpy())), dim=1).numpy()
    return float(np.abs(got - expected).max())
