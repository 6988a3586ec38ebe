"""Guard for behaviour-preserving refactors: short seeded CPU runs and a digest of everything they produce.

Generates the tiny benchmark (`raereid synth --scale tiny`), trains short runs that cover the variants,
learners, DSBN, AdaBN, DBSCAN's learned eps, train.init and a resume across a checkpoint (each
`raereid train` on one thread, in its own process), and prints one line per run: digests of the final
weights (model, discriminators, the learner's memories and target classifiers, wherever the checkpoint
keeps them), of the pseudo-labels and label-generator state, and the final metrics. Run it before and
after a change that must not change the numbers and diff the outputs:

    python benchmarks/same_seed.py --work SCRATCH > before.txt     # on the old commit
    python benchmarks/same_seed.py --work SCRATCH > after.txt      # on the new one
    diff before.txt after.txt

A 1-class target classifier (the placeholder the classifier learner had before any clustering) is left
out of the digest, so the guard reads checkpoints written before and after the learners owned them.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import torch

from raereid.experiments.run import one_thread_env

HEAD = re.compile(r"(fused_)?target_head\..*")
BASE = [
    "data.height=64", "data.width=32", "data.p=4", "data.k=2", "data.workers=0", "data.verify_images=false",
    "model.backbone=convnet_small", "model.last_stride=2", "model.pretrained=none", "model.decoder_channels=16,8",
    "model.discriminator_channels=8,16,16", "model.fusion_dim=32", "model.fusion_out=32", "cluster.method=kmeans",
    "cluster.num_clusters=4", "train.eval_every=0", "train.log_every=1", "train.iters_per_epoch=4",
    "train.gap_picture=false", "train.checkpoint_every=0",
]
# name -> (variant, iterations, extra overrides)
RUNS: dict[str, tuple[str, int, list[str]]] = {
    "direct": ("direct", 8, []),
    "baseline": ("baseline", 8, []),
    "full-classifier": ("full", 8, []),
    "full-memory": ("full", 8, ["learner.name=memory"]),
    "full-hybrid": ("full", 8, ["learner.name=hybrid"]),
    "ft+prept+f": ("ft+prept+f", 8, []),
    "full-dsbn": ("full", 8, ["model.dsbn=true"]),
    "baseline-adabn": ("baseline", 8, ["train.adabn=true"]),
    "ft-dbscan": ("ft", 8, ["cluster.method=dbscan", "cluster.eps=auto", "cluster.rho=0.05", "cluster.min_samples=2"]),
    "full-init": ("full", 6, ["train.init={out}/direct/model.pt"]),
}
RESUMED = ("full", 8, 5, ["cluster.method=dbscan", "cluster.eps=auto", "cluster.rho=0.05", "cluster.min_samples=2"])


def _tensors(obj: object, prefix: str = "") -> dict[str, torch.Tensor]:
    """Every tensor inside nested dicts / lists, by dotted path."""
    if isinstance(obj, torch.Tensor):
        return {prefix: obj}
    items = obj.items() if isinstance(obj, dict) else enumerate(obj) if isinstance(obj, (list, tuple)) else []
    found: dict[str, torch.Tensor] = {}
    for key, value in items:
        found.update(_tensors(value, f"{prefix}.{key}" if prefix else str(key)))
    return found


def _digest(tensors: dict[str, torch.Tensor]) -> str:
    h = hashlib.sha256()
    for name in sorted(tensors):
        t = tensors[name].detach().cpu().contiguous()
        h.update(f"{name}|{t.dtype}|{tuple(t.shape)}|".encode())
        h.update(t.numpy().tobytes() if t.dtype != torch.bfloat16 else t.float().numpy().tobytes())
    return h.hexdigest()[:16]


def describe(run: Path) -> str:
    """One line: digests of the final checkpoint's parts and the metrics."""
    state = torch.load(run / "model.pt", map_location="cpu", weights_only=True)
    model, heads, learner = {}, {}, {}
    for section in ("model", "learner", "learner_modules"):
        for name, t in _tensors(state.get(section, {})).items():
            head = HEAD.search(name)
            if head:
                if t.shape[0] > 1:  # a 1-class placeholder is not a trained classifier
                    heads[head.group(0)] = t
            elif section == "model":
                model[name] = t
            else:
                learner[name] = t
    pseudo = state.get("pseudo_labels")
    generator = state.get("label_generator") or (state.get("pseudo") or {}).get("generator", {})
    if pseudo is None and state.get("pseudo"):
        pseudo = state["pseudo"].get("labels")
    metrics = json.loads((run / "metrics.json").read_text())
    metrics.pop("seconds", None)
    parts = {
        "model": _digest(model), "discs": _digest(_tensors(state.get("discriminators", {}))),
        "heads": _digest(heads), "learner": _digest(learner),
        "pseudo": "none" if pseudo is None else _digest({"labels": pseudo}),
        "generator": json.dumps(generator, sort_keys=True),
        "history": hashlib.sha256(json.dumps(state.get("history"), sort_keys=True).encode()).hexdigest()[:16],
    }
    return " ".join(f"{k}={v}" for k, v in parts.items()) + " metrics=" + json.dumps(metrics, sort_keys=True)


def train(data: Path, out: Path, variant: str, iterations: int, extra: list[str], resume: bool = False,
          keep_last: bool = False) -> None:
    sets = [f"data.root={data}", f"train.output={out}", f"train.variant={variant}", f"optim.iterations={iterations}",
            *BASE, *extra]
    cmd = [sys.executable, "-m", "raereid", "train", "--config", "synthetic", *(["--keep-last"] if keep_last else []),
           *[a for kv in sets for a in ("--set", kv)], *(["--resume"] if resume else [])]
    done = subprocess.run(cmd, env=one_thread_env(), capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{done.stderr[-3000:]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "raereid_same_seed",
                        help="scratch folder (replaced)")
    parser.add_argument("--only", nargs="*", help="run only these names (and 'resumed')")
    args = parser.parse_args()
    work = args.work
    if work.exists():
        shutil.rmtree(work)
    data, out = work / "data", work / "runs"
    subprocess.run([sys.executable, "-m", "raereid", "synth", "--out", str(data), "--scale", "tiny", "--workers", "1",
                    "--quiet"], check=True, capture_output=True)
    wanted = set(args.only or [*RUNS, "resumed"])
    for name, (variant, iterations, extra) in RUNS.items():
        if name in wanted or (name == "direct" and "full-init" in wanted):
            train(data, out / name, variant, iterations, [e.format(out=out) for e in extra])
            print(f"{name}: {describe(out / name)}", flush=True)
    if "resumed" in wanted:
        variant, iterations, stop, extra = RESUMED
        train(data, out / "resumed", variant, stop, [*extra, "train.checkpoint_every=1"], keep_last=True)
        train(data, out / "resumed", variant, iterations, [*extra, "train.checkpoint_every=1"], resume=True)
        print(f"resumed: {describe(out / 'resumed')}", flush=True)
        train(data, out / "straight", variant, iterations, [*extra, "train.checkpoint_every=1"])
        print(f"straight: {describe(out / 'straight')}", flush=True)


if __name__ == "__main__":
    main()
