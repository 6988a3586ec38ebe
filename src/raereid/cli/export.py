"""Export a checkpoint's inference pipeline (Algorithm 2: Enc, Dec, Enc again, fusion P, pooling; then L2
normalisation) as one ONNX graph with a dynamic batch dimension, and check it against PyTorch with
onnxruntime. Output 'descriptors': (batch, D), compared by inner product.

Input 'images', at the checkpoint's input size (printed, and in the graph's metadata):
  --input uint8-nhwc  uint8 pixels 0-255, batch x height x width x 3 (numpy / OpenCV crops stacked); the
                      graph converts and normalises, so nothing can be normalised twice (the default)
  --input uint8-nchw  uint8 pixels 0-255, batch x 3 x height x width
  --input float       RGB NCHW float32, already ImageNet-normalised: (x / 255 - mean) / std (for runtimes
                      that normalise themselves)
With uint8 input, --color BGR takes OpenCV's channel order. Resizing stays outside the graph: resize each
crop to the input size with bicubic interpolation (PIL Image.BICUBIC), as the evaluation transform does.
The output is one self-contained .onnx file (graph and weights), nothing beside it.
"""

from __future__ import annotations

import argparse

INPUTS = ("float", "uint8-nchw", "uint8-nhwc")  # as raereid.tools.export (not imported here: heavy)
EXPORTERS = ("dynamo", "torchscript")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from raereid.cli.common import add_checkpoint_argument, add_output_argument

    add_checkpoint_argument(parser)
    add_output_argument(parser, "output .onnx file", required=True)
    parser.add_argument("--input", dest="input_format", default="uint8-nhwc", choices=INPUTS,
                        help="input format of the graph (see above)")
    parser.add_argument("--color", default="RGB", choices=("RGB", "BGR"), help="channel order of uint8 input")
    parser.add_argument("--exporter", default="dynamo", choices=EXPORTERS,
                        help="torch.onnx exporter: dynamo (needs onnxscript, opsets 18-23) or torchscript "
                        "(deprecated by torch, opsets 13-20)")
    parser.add_argument("--opset", type=int, help="ONNX opset (default: 18 with dynamo, 17 with torchscript)")
    parser.add_argument("--no-normalize", action="store_true",
                        help="leave the descriptors unnormalised (RAE.forward only)")
    parser.add_argument("--no-check", action="store_true", help="skip the onnxruntime parity check")


def run(args: argparse.Namespace) -> int:
    from raereid.cli import paths
    from raereid.errors import RaeReidError
    from raereid.tools.export import DEFAULT_OPSET, export_onnx, parity
    from raereid.tools.inputs import open_model

    paths.input_file(args.checkpoint, "--checkpoint")
    paths.output_file(args.out, "--out")
    trained = open_model(args.checkpoint, "cpu")
    fmt = {"input_format": args.input_format, "color": args.color}
    opset = DEFAULT_OPSET[args.exporter] if args.opset is None else args.opset
    out = export_onnx(trained, args.out, opset, normalize=not args.no_normalize, exporter=args.exporter, **fmt)
    height, width = trained.model.input_size
    nhwc = args.input_format == "uint8-nhwc"
    shape = f"batch x {height} x {width} x 3" if nhwc else f"batch x 3 x {height} x {width}"
    kind = "float32, ImageNet-normalised" if args.input_format == "float" else "uint8 0-255, normalised in the graph"
    print(f"exported the {trained.model.variant.name} model to {out} ({args.exporter} exporter, opset {opset})\n"
          f"input 'images': {shape}, {args.color if args.input_format != 'float' else 'RGB'}, {kind}; resize crops to "
          f"{height}x{width} (height x width) with bicubic interpolation first")
    if not args.no_check:
        diff = parity(trained, out, normalize=not args.no_normalize, **fmt)
        print(f"onnxruntime vs PyTorch on 4 random images: max |difference| {diff:.2e}")
        if diff > 1e-4:
            raise RaeReidError(
                f"the exported graph disagrees with PyTorch (max difference {diff:.2e} > 1e-4)",
                where=out,
                fix="report this with the checkpoint; try another --opset or --exporter",
            )
    return 0
