"""Export a checkpoint's inference pipeline (Algorithm 2: Enc, Dec, Enc again, fusion P, pooling; then L2
normalisation) as one ONNX graph with a dynamic batch dimension, and check it against PyTorch with
onnxruntime. Input 'images': RGB NCHW float32 at the checkpoint's size, ImageNet-normalised; output
'descriptors': (batch, D), compared by inner product.
"""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--checkpoint", required=True, help="model.pt or checkpoints/last.pt written by raereid train")
    parser.add_argument("--out", required=True, help="output .onnx file")
    parser.add_argument("--opset", type=int, default=17, help="ONNX opset, 13-20 (default: 17)")
    parser.add_argument("--no-normalize", action="store_true", help="leave the descriptors unnormalised (RAE.forward only)")
    parser.add_argument("--no-check", action="store_true", help="skip the onnxruntime parity check")


def run(args: argparse.Namespace) -> int:
    from raereid.cli import paths
    from raereid.errors import RaeReidError
    from raereid.tools.export import export_onnx, parity
    from raereid.tools.inputs import open_model

    paths.input_file(args.checkpoint, "--checkpoint")
    paths.output_file(args.out, "--out")
    trained = open_model(args.checkpoint, "cpu")
    out = export_onnx(trained, args.out, args.opset, normalize=not args.no_normalize)
    height, width = trained.model.input_size
    print(f"exported the {trained.model.variant.name} model to {out} (opset {args.opset}, input batch x 3 x {height} x {width})")
    if not args.no_check:
        diff = parity(trained, out, normalize=not args.no_normalize)
        print(f"onnxruntime vs PyTorch on 4 random images: max |difference| {diff:.2e}")
        if diff > 1e-4:
            raise RaeReidError(
                f"the exported graph disagrees with PyTorch (max difference {diff:.2e} > 1e-4)",
                where=out,
                fix="report this with the checkpoint; try another --opset",
            )
    return 0
