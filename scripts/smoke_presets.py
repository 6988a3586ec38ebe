"""Smoke test of every shipped preset at its real input size and backbone, through `raereid train`
(the translator's presets, translate-*, through `raereid translate`).

Each preset (the paper's four at ResNet-50 / 256x128, and the CPU preset) trains a couple of
iterations on the tiny procedural benchmark, written in the real Market-1501, DukeMTMC-reID and
MSMT17 layouts, then evaluates, saves model.pt and draws the domain-gap picture, on the CPU. It
departs from the presets only where a CPU run of seconds forces it (SMOKE_OVERRIDES): a 2 x 2
batch (2 target images x the preset's K views where it sizes the target batch on its own), k-means
with 4 clusters (the preset's DBSCAN finds no cluster among 47 tiny images), and
for the ResNet-50 presets a local weights file instead of the ImageNet download (random weights
whose batch-norm statistics are measured on random images, so that a model evaluated after two
iterations does not give descriptors of 1e20 that overflow t-SNE) and learning rates 50x lower
(from random weights with a 2 x 2 batch the paper's rates, meant for ImageNet weights and an
18 x 4 batch, blow the weights up within two iterations). A translate-* preset trains its CycleGAN at
its own size for two iterations (TRANSLATE_OVERRIDES) and writes the translated Duke-style source.

    python scripts/smoke_presets.py                       # every preset; exit 1 if one fails
    python scripts/smoke_presets.py --presets duke2market --keep SMOKE_DIR
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SMOKE_OVERRIDES = (
    "model.pretrained=none", "data.p=2", "data.k=2", "data.test_batch_size=16", "data.workers=0",
    "optim.iterations=2", "source.iterations=2", "train.iters_per_epoch=2", "cluster.method=kmeans",
    "cluster.num_clusters=4",
    "cluster.reliability_gap=0",  # SpCL's reliability criterion (the *-hybrid presets) is DBSCAN's; off with k-means
    "data.target_p=2",  # the *-mmcl / *-jvtc presets' own target batch (72 x 1, 18 x 4): 2 images, their K views
)
TRANSLATE_OVERRIDES = ("translate.iterations=2", "translate.lr_decay_start=1", "translate.workers=0",
                       "translate.checkpoint_every=1", "translate.log_every=1", "train.device=cpu")
PAPER_RATES = ("optim.lr_encoder=0.001", "optim.lr_other=0.01", "optim.lr_discriminator=0.01",
               "source.lr_encoder=0.001", "source.lr_other=0.01")
WEIGHTS_FILE = "{backbone}-calibrated.pth"
DOMAINS = "market1501,dukemtmcreid,msmt17"


def is_translator(preset: str) -> bool:
    """Whether `preset` configures `raereid translate` (translate-*) rather than `raereid train`."""
    return preset.startswith("translate-")


def presets() -> list[str]:
    """Every preset shipped with the package."""
    from raereid.config import list_presets

    return list_presets()


def write_data(folder: Path) -> Path:
    """The tiny benchmark in the three layouts the presets read (about 2 s; reused when already there)."""
    from raereid.synth import generate

    if (folder / "synth.json").is_file():
        return folder
    generate(folder, seed=0, scale="tiny", domains=DOMAINS.split(","), workers=1)
    return folder


def weights_layout(backbone: str):  # -> an nn.Module (torch is imported inside)
    """The whole ImageNet network whose state dict `model.pretrained: PATH` reads for `backbone` (random weights)."""
    import torchvision

    if backbone == "resnet50_ibn_a":
        from raereid.models.backbones.ibn import resnet50_ibn_a_network

        return resnet50_ibn_a_network()  # IBN-Net's published key layout
    return torchvision.models.get_model(backbone, weights=None)


def calibrated_weights(backbone: str, folder: Path, batches: int = 2) -> Path:
    """A state dict of random weights in the layout of the backbone's ImageNet file, whose batch-norm running statistics
    are averaged over `batches` batches of random images: what the ImageNet file provides, for a network evaluated after
    two steps."""
    import torch

    path = folder / WEIGHTS_FILE.format(backbone=backbone)
    if path.is_file():
        return path
    torch.manual_seed(0)
    model = weights_layout(backbone)
    norms = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # a plain average over the batches
    model.train()
    with torch.no_grad():
        for _ in range(batches):
            model(torch.randn(16, 3, 256, 128))
    for m in norms:
        m.momentum = 0.1
    folder.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), path)
    return path


def train_command(preset: str, data: Path, out: Path, *extra: str) -> list[str]:
    """`raereid train` of `preset` with the smoke overrides, as a subprocess command line."""
    from raereid.config import load_config

    if is_translator(preset):
        return [sys.executable, "-m", "raereid", "translate", "--config", preset, "--data-root", str(data),
                "--out", str(out),
                *[a for kv in (*TRANSLATE_OVERRIDES, *extra) for a in ("--set", kv)]]
    backbone = load_config(preset).model.backbone
    sets = list(SMOKE_OVERRIDES)
    if backbone.startswith("resnet"):
        sets += [*PAPER_RATES, f"model.pretrained={calibrated_weights(backbone, data.parent / 'weights')}"]
    return [sys.executable, "-m", "raereid", "train", "--config", preset, "--data-root", str(data), "--out", str(out),
            "--overwrite", *[a for kv in (*sets, *extra) for a in ("--set", kv)]]  # --keep FOLDER: train them again


def run_preset(preset: str, data: Path, out: Path, *extra: str) -> tuple[float, dict | str]:
    """Train `preset`; (seconds, metrics.json or translate.json) on success, (seconds, the end of stderr) on failure."""
    from raereid.experiments.run import one_thread_env

    start = time.perf_counter()
    proc = subprocess.run(train_command(preset, data, out, *extra), capture_output=True, text=True,
                          env=one_thread_env(keep_set=True))
    seconds = time.perf_counter() - start
    result = out / ("translate.json" if is_translator(preset) else "metrics.json")
    if proc.returncode != 0 or not result.is_file():
        return seconds, f"exit {proc.returncode}\n{proc.stderr[-3000:]}"
    return seconds, json.loads(result.read_text())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--presets", help="comma-separated presets (default: all)")
    parser.add_argument("--keep", help="folder to keep the data and runs in (default: a temporary folder)")
    parser.add_argument("--set", dest="extra", action="append", default=[], metavar="KEY=VALUE",
                        help="one more override")
    args = parser.parse_args(argv)
    chosen = args.presets.split(",") if args.presets else presets()
    with tempfile.TemporaryDirectory(prefix="raereid-smoke-") as tmp:
        base = Path(args.keep) if args.keep else Path(tmp)
        started = time.perf_counter()
        data = write_data(base / "data")
        failed = []
        for preset in chosen:
            seconds, result = run_preset(preset, data, base / "runs" / preset, *args.extra)
            ok = isinstance(result, dict)
            summary = "FAILED" if not ok else (
                f"mAP {result['mAP']:.1f} after {result['iterations']} iterations" if "mAP" in result
                else f"{result['stats']['train']['images']} training images translated")
            print(f"{preset:<12} {seconds:6.1f} s  {summary}", flush=True)
            if not ok:
                print(result, file=sys.stderr)
                failed.append(preset)
        print(f"{len(chosen) - len(failed)} of {len(chosen)} presets passed in {time.perf_counter() - started:.0f} s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
