"""Export benchmark: images/s of a checkpoint's descriptor pipeline in PyTorch and in onnxruntime, on the CPU.

    python benchmarks/bench_export.py --checkpoint runs/x/full/model.pt
    python benchmarks/bench_export.py --checkpoint CKPT --batches 1 32 --threads 1 --seconds 5 --exporter torchscript

The model is exported with raereid's exporter (Algorithm 2 + L2 normalisation, one graph) to a
temporary file. Both runtimes get the same random batch at the checkpoint's input size and the
same number of threads; after warm-up runs, each is timed (time.perf_counter) over repeated calls
for at least --seconds, and images/s = images processed / time. PyTorch runs in inference mode.
"""

from __future__ import annotations

import argparse
import functools
import tempfile
import time
from pathlib import Path

import numpy as np
import torch


def images_per_second(fn, batch: int, seconds: float, warmup: int = 3) -> float:
    """Calls `fn` (one batch each) for at least `seconds` after `warmup` calls; returns images per second."""
    for _ in range(warmup):
        fn()
    calls, started = 0, time.perf_counter()
    while True:
        fn()
        calls += 1
        elapsed = time.perf_counter() - started
        if elapsed >= seconds and calls >= 3:
            return calls * batch / elapsed


def main() -> None:
    import onnxruntime

    from raereid.tools.export import descriptor_graph, export_onnx, onnx_session, run_onnx
    from raereid.tools.inputs import open_model

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", required=True)
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 32])
    parser.add_argument("--threads", type=int, default=1, help="threads for both runtimes (default: 1)")
    parser.add_argument("--seconds", type=float, default=3.0, help="minimum timed duration per measurement")
    parser.add_argument("--exporter", default="dynamo", choices=("dynamo", "torchscript"), help="torch.onnx exporter")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    trained = open_model(args.checkpoint, "cpu")
    graph = descriptor_graph(trained)
    height, width = trained.model.input_size
    with tempfile.TemporaryDirectory() as tmp:
        path = export_onnx(trained, Path(tmp) / "model.onnx", exporter=args.exporter)
        session = onnx_session(path, threads=args.threads)
        print(f"checkpoint {args.checkpoint}: {trained.model.variant.name}, backbone {trained.cfg.model.backbone}, "
              f"input {height}x{width}, {sum(p.numel() for p in trained.model.parameters()) / 1e6:.2f} M parameters "
              f"(heads included), descriptor {graph(torch.zeros(1, 3, height, width)).shape[1]}-d")
        print(f"torch {torch.__version__}, onnxruntime {onnxruntime.__version__}, {args.exporter} exporter, "
              f"{args.threads} thread(s)")
        print(f"{'batch':>5}  {'PyTorch img/s':>13}  {'onnxruntime img/s':>17}  {'ratio':>5}  {'max |diff|':>10}")
        for batch in args.batches:
            images = torch.randn(batch, 3, height, width, generator=torch.Generator().manual_seed(batch))
            array = images.numpy()

            def torch_call(images: torch.Tensor = images) -> torch.Tensor:  # bound to this batch
                with torch.inference_mode():
                    return graph(images)

            with torch.inference_mode():
                diff = float(np.abs(run_onnx(session, array) - graph(images).numpy()).max())
            pt = images_per_second(torch_call, batch, args.seconds)
            ort = images_per_second(functools.partial(run_onnx, session, array), batch, args.seconds)
            print(f"{batch:>5}  {pt:>13.1f}  {ort:>17.1f}  {ort / pt:>5.2f}  {diff:>10.1e}", flush=True)


if __name__ == "__main__":
    main()
