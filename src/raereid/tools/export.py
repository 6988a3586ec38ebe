"""ONNX export of the whole inference pipeline (Algorithm 2) as one graph with a dynamic batch.

The graph is Enc, Dec, the recurrent Enc, fusion P and pooling (`RAE.forward`; GAP(Enc(I)) for
variants without fusion), averaged with the mirror image when the checkpoint tests with flips,
then L2-normalised: its output is the retrieval descriptor, compared by inner product.

Input (`INPUTS`): `float` is RGB NCHW float32 at the checkpoint's size, ImageNet-normalised (as
`test_transform` makes it); `uint8-nchw` and `uint8-nhwc` take uint8 pixels (0-255) at the
checkpoint's size in RGB or BGR order, and the graph itself scales them by 1/255 and applies the
ImageNet mean and std, so a deployer cannot normalise twice or not at all. Resizing stays outside
the graph: crops are resized to the input size with bicubic interpolation (PIL's, as the evaluation
transform does). The metadata props say all of this.

Exporters: the dynamo-based exporter (`torch.onnx.export(..., dynamo=True)`, needs `onnxscript`,
opsets 18-23) is the default; it exports the convnet_small and ResNet models with a dynamic batch and
matches PyTorch (tested with torch 2.14, onnxscript 0.7). The TorchScript exporter (`dynamo=False`,
deprecated in torch, opsets 13-20) stays as `exporter="torchscript"` for runtimes older than opset 18.
"""

from __future__ import annotations

import inspect
import tempfile
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from raereid.errors import ConfigError, InputError, RaeReidError
from raereid.inference.model_io import TrainedModel
from raereid.models.rae import RAE
from raereid.pixels import IMAGENET_MEAN, IMAGENET_STD

if TYPE_CHECKING:
    import onnxruntime

EXPORTERS = ("dynamo", "torchscript")
OPSETS = {"dynamo": range(18, 24), "torchscript": range(13, 21)}  # TorchScript: Resize and ConvTranspose need >= 13
DEFAULT_OPSET = {"dynamo": 18, "torchscript": 17}
INPUTS = ("float", "uint8-nchw", "uint8-nhwc")
COLORS = ("RGB", "BGR")
INPUT, OUTPUT = "images", "descriptors"
RESIZE = "outside the graph: resize each crop to the input size with bicubic interpolation (PIL Image.BICUBIC)"


class DescriptorGraph(nn.Module):
    """What gets exported: (uint8 inputs: to float, /255, ImageNet mean/std), Algorithm 2, the optional flip
    average, then (optionally) L2 normalisation."""

    def __init__(self, model: RAE, flip: bool = False, normalize: bool = True, input_format: str = "float",
                 color: str = "RGB"):
        super().__init__()
        self.model, self.flip, self.normalize, self.color = model, flip, normalize, color
        self.input = input_format
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)

    def preprocess(self, images: torch.Tensor) -> torch.Tensor:
        """uint8 pixels (NCHW or NHWC, RGB or BGR) -> ImageNet-normalised RGB NCHW float32, as test_transform."""
        if self.input == "float":
            return images
        x = images.to(torch.float32)
        if self.input == "uint8-nhwc":
            x = x.permute(0, 3, 1, 2)
        if self.color == "BGR":
            x = x[:, [2, 1, 0]]
        return (x / 255.0 - self.mean) / self.std

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = self.preprocess(images)
        out = self.model(x)
        if self.flip:
            out = (out + self.model(torch.flip(x, dims=[3]))) / 2
        return F.normalize(out, dim=1) if self.normalize else out

    def example(self, batch: int, seed: int | None = None) -> torch.Tensor:
        """A batch in this graph's input format: zeros, or random images drawn with `seed`."""
        height, width = self.model.input_size
        shape = (batch, height, width, 3) if self.input == "uint8-nhwc" else (batch, 3, height, width)
        if seed is None:
            return torch.zeros(shape, dtype=torch.float32 if self.input == "float" else torch.uint8)
        generator = torch.Generator().manual_seed(seed)
        if self.input == "float":
            return torch.randn(shape, generator=generator)
        return torch.randint(0, 256, shape, generator=generator, dtype=torch.uint8)


def descriptor_graph(trained: TrainedModel, normalize: bool = True, input_format: str = "float",
                     color: str = "RGB") -> DescriptorGraph:
    """The exported module of a checkpoint, on the CPU in eval mode (flip as the checkpoint's flip_test)."""
    if input_format not in INPUTS:
        raise ConfigError(f"unknown input format {input_format!r}", fix=f"use one of {', '.join(INPUTS)}")
    if color not in COLORS or (color != "RGB" and input_format == "float"):
        raise ConfigError(f"colour order {color!r} with {input_format} input",
                          fix="BGR is for uint8 inputs; float inputs are RGB")
    model = trained.model.cpu().eval()
    return DescriptorGraph(model, trained.cfg.model.flip_test, normalize, input_format, color).eval()


def input_metadata(graph: DescriptorGraph) -> dict[str, str]:
    """What a deployer must feed the graph: layout, dtype, colour order, size, normalisation, resizing."""
    height, width = graph.model.input_size
    stats = f"mean {','.join(map(str, IMAGENET_MEAN))}, std {','.join(map(str, IMAGENET_STD))}"
    inside = graph.input != "float"
    return {
        "raereid.input.layout": "NHWC" if graph.input == "uint8-nhwc" else "NCHW",
        "raereid.input.dtype": "uint8" if inside else "float32",
        "raereid.input.color": graph.color,
        "raereid.input.size": f"{height}x{width}",
        "raereid.input.normalization": f"in the graph: x / 255, then (x - mean) / std ({stats})" if inside
        else f"outside the graph: feed (x / 255 - mean) / std ({stats})",
        "raereid.input.resize": RESIZE,
        "raereid.input": f"{graph.color} {'NHWC' if graph.input == 'uint8-nhwc' else 'NCHW'} "
        f"{'uint8 0-255' if inside else 'float32 (x/255 - mean) / std'} {height}x{width}",
        "raereid.mean": ",".join(map(str, IMAGENET_MEAN)),
        "raereid.std": ",".join(map(str, IMAGENET_STD)),
    }


def _check_exporter(exporter: str, opset: int) -> None:
    if exporter not in EXPORTERS:
        raise ConfigError(f"unknown ONNX exporter {exporter!r}", fix=f"use one of {', '.join(EXPORTERS)}")
    allowed = OPSETS[exporter]
    if opset not in allowed:
        other = "torchscript" if exporter == "dynamo" else "dynamo"
        raise ConfigError(f"unsupported ONNX opset {opset} for the {exporter} exporter",
                          fix=f"use an opset from {allowed[0]} to {allowed[-1]} (default {DEFAULT_OPSET[exporter]}), "
                          f"or --exporter {other} (opsets {OPSETS[other][0]}-{OPSETS[other][-1]})")
    if exporter == "dynamo":
        if "dynamo" not in inspect.signature(torch.onnx.export).parameters:
            raise ConfigError(f"torch {torch.__version__} has no dynamo-based torch.onnx.export (torch 2.5 has it)",
                              fix="pass --exporter torchscript, or upgrade torch")
        try:
            import onnxscript  # noqa: F401 - the dynamo exporter's dependency
        except ImportError:
            raise ConfigError("the dynamo ONNX exporter needs the onnxscript package, which is not installed",
                              fix="pip install 'raereid[export]' (or pip install onnxscript), "
                              "or pass --exporter torchscript") from None


def _torch_export(graph: DescriptorGraph, out: Path, opset: int, exporter: str) -> None:
    example = (graph.example(2),)
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # deprecation notices and tracer notes of the exporters
        if exporter == "dynamo":
            torch.onnx.export(graph, example, str(out), dynamo=True, opset_version=opset, input_names=[INPUT],
                              output_names=[OUTPUT], dynamic_shapes={INPUT: {0: torch.export.Dim("batch")}},
                              verbose=False, report=False)
        else:
            torch.onnx.export(graph, example, str(out), dynamo=False, opset_version=opset, input_names=[INPUT],
                              output_names=[OUTPUT], dynamic_axes={INPUT: {0: "batch"}, OUTPUT: {0: "batch"}})


def export_onnx(trained: TrainedModel, out: str | Path, opset: int | None = None, normalize: bool = True,
                input_format: str = "float", color: str = "RGB", exporter: str = "dynamo") -> Path:
    """Write the checkpoint's descriptor pipeline to `out` (ONNX, batch dimension dynamic), checked by onnx.

    `input_format` and `color` choose the input format (module docstring), `exporter` dynamo or torchscript;
    `opset` None is the exporter's default."""
    import onnx

    opset = DEFAULT_OPSET.get(exporter, 0) if opset is None else opset
    _check_exporter(exporter, opset)
    graph = descriptor_graph(trained, normalize, input_format, color)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    # The exporters may write the weights as external data beside the graph (dynamo: OUT.data): export into a
    # folder of our own, then write one self-contained file, so nothing is left beside OUT.
    with tempfile.TemporaryDirectory(prefix=".raereid-export-", dir=out.parent) as tmp:
        try:
            _torch_export(graph, Path(tmp) / "model.onnx", opset, exporter)
        except Exception as exc:  # an exporter failure is reported with the other exporter as the fix
            if exporter != "dynamo":
                raise
            first_line = (str(exc).splitlines() or [""])[0][:300]
            raise RaeReidError(f"the dynamo exporter failed ({type(exc).__name__}: {first_line})", where=trained.path,
                               fix="pass --exporter torchscript, and report this with the checkpoint") from exc
        proto = onnx.load(str(Path(tmp) / "model.onnx"))  # with its external data, if any
    meta = {
        "raereid.variant": trained.model.variant.name,
        "raereid.checkpoint": str(trained.path),
        "raereid.iteration": str(trained.iteration),
        **input_metadata(graph),
        "raereid.output": f"{OUTPUT} (batch, D) float32, compared by inner product",
        "raereid.flip_average": str(graph.flip),
        "raereid.l2_normalized": str(normalize),
        "raereid.exporter": f"torch.onnx {exporter} (torch {torch.__version__})",
    }
    for key, value in meta.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.checker.check_model(proto)
    partial = out.with_name(f".{out.name}.tmp")
    onnx.save(proto, str(partial))  # inline: one file that holds the graph and its weights
    partial.replace(out)
    return out


def onnx_session(path: str | Path, threads: int = 0) -> onnxruntime.InferenceSession:
    """An onnxruntime CPU session for an exported model (`threads` 0 = onnxruntime's default)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def check_input_shape(expected: list, images: np.ndarray) -> None:
    """Refuse a batch whose shape is not the graph's (`expected`, the session input's shape; the batch is free),
    naming the size the crops must be resized to."""
    fixed = [d if isinstance(d, int) else None for d in expected]
    if images.ndim == len(fixed) and all(d is None or d == n for d, n in zip(fixed[1:], images.shape[1:])):
        return
    nhwc = fixed[-1] == 3
    height, width = (fixed[1], fixed[2]) if nhwc else (fixed[2], fixed[3])
    layout = "batch x height x width x 3 (NHWC)" if nhwc else "batch x 3 x height x width (NCHW)"
    raise InputError(
        f"the graph takes {layout} images of {height}x{width} (height x width); got an array of shape "
        f"{tuple(images.shape)}",
        fix=f"resize each crop to {height}x{width} first with bicubic interpolation, as the evaluation does "
        f"(PIL: image.resize(({width}, {height}), Image.BICUBIC)), and stack them in that layout")


def run_onnx(session: onnxruntime.InferenceSession, images: np.ndarray) -> np.ndarray:
    """Descriptors of a batch through an onnxruntime session: float32 preprocessed images, or uint8 pixels
    for a graph exported with a uint8 input (other dtypes are refused there, never cast), at the graph's size."""
    check_input_shape(session.get_inputs()[0].shape, images)
    if session.get_inputs()[0].type == "tensor(uint8)":
        if images.dtype != np.uint8:
            raise ConfigError(f"this graph takes uint8 pixels, got {images.dtype}",
                              fix="pass the images as uint8 (0-255)")
        return session.run([OUTPUT], {INPUT: np.ascontiguousarray(images)})[0]
    return session.run([OUTPUT], {INPUT: np.ascontiguousarray(images, dtype=np.float32)})[0]


@torch.no_grad()
def parity(trained: TrainedModel, path: str | Path, batch: int = 4, seed: int = 0, normalize: bool = True,
           input_format: str = "float", color: str = "RGB") -> float:
    """Max absolute difference between PyTorch's and onnxruntime's L2-normalised descriptors on a random batch
    in the graph's input format (`normalize` says whether the exported graph normalises itself)."""
    graph = descriptor_graph(trained, normalize, input_format, color)
    images = graph.example(batch, seed)
    expected = F.normalize(graph(images), dim=1).numpy()
    got = F.normalize(torch.from_numpy(run_onnx(onnx_session(path), images.numpy())), dim=1).numpy()
    return float(np.abs(got - expected).max())
