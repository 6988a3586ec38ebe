"""Measure the domain gap of the procedural benchmark with a small supervised CNN baseline.

Trains a from-scratch CNN on the labelled training split of each domain (identity cross-entropy)
and evaluates it on the test split of every domain (rank-1 and mAP, Market-1501 protocol: gallery
images of the query's identity seen by the query's camera are ignored, junk was dropped by the
reader, distractors stay as negatives). The gap is the drop from "train and test on B" to "train
on A, test on B". This is a sanity check of the data, not the RAE method.

    python benchmarks/synth_domain_gap.py --root DATA --epochs 30
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

from raereid.data.images import load_rgb
from raereid.data.records import ImageRecord, relabel
from raereid.data.registry import discover


def load_tensor(records: list[ImageRecord], height: int, width: int) -> torch.Tensor:
    """All images of a split, resized, as one uint8 tensor N x 3 x H x W."""
    arrays = [np.asarray(load_rgb(r.path).resize((width, height), Image.BICUBIC)) for r in records]
    return torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).contiguous()


def normalise(x: torch.Tensor) -> torch.Tensor:
    return (x.float() / 255.0 - 0.45) / 0.25


class SmallNet(nn.Module):
    """Four conv-BN-ReLU stages with pooling, global average pooling and a BN neck."""

    def __init__(self, classes: int, widths: tuple[int, ...] = (32, 64, 128, 256)):
        super().__init__()
        layers, c_in = [], 3
        for i, c in enumerate(widths):
            layers += [nn.Conv2d(c_in, c, 3, padding=1, bias=False), nn.BatchNorm2d(c), nn.ReLU(inplace=True)]
            if i < len(widths) - 1:
                layers.append(nn.MaxPool2d(2))
            c_in = c
        self.body = nn.Sequential(*layers)
        self.neck = nn.BatchNorm1d(c_in)
        self.classifier = nn.Linear(c_in, classes, bias=False)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.neck(F.adaptive_avg_pool2d(self.body(x), 1).flatten(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


def augment(x: torch.Tensor, pad: int = 4) -> torch.Tensor:
    """Random horizontal flip and random crop after padding (per batch offsets, per sample flips)."""
    flip = torch.rand(x.shape[0]) < 0.5
    x = torch.where(flip[:, None, None, None], x.flip(3), x)
    h, w = x.shape[2:]
    x = F.pad(x, (pad, pad, pad, pad), mode="replicate")
    dy, dx = np.random.randint(0, 2 * pad + 1, 2)
    return x[:, :, dy: dy + h, dx: dx + w]


def train(images: torch.Tensor, labels: np.ndarray, epochs: int, batch: int, seed: int) -> SmallNet:
    torch.manual_seed(seed)
    np.random.seed(seed)
    model = SmallNet(int(labels.max()) + 1)
    optim = torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=5e-4)
    steps = epochs * ((len(labels) + batch - 1) // batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(optim, max_lr=2e-3, total_steps=steps)
    y = torch.from_numpy(labels)
    model.train()
    for epoch in range(epochs):
        order = torch.randperm(len(y))
        total = 0.0
        for i in range(0, len(y), batch):
            idx = order[i: i + batch]
            if len(idx) < 2:
                continue
            loss = F.cross_entropy(model(augment(normalise(images[idx]))), y[idx], label_smoothing=0.1)
            optim.zero_grad()
            loss.backward()
            optim.step()
            sched.step()
            total += loss.item() * len(idx)
        if epoch % 5 == 4 or epoch == epochs - 1:
            print(f"    epoch {epoch + 1}/{epochs} loss {total / len(y):.3f}", flush=True)
    return model.eval()


@torch.no_grad()
def embed(model: SmallNet, images: torch.Tensor) -> torch.Tensor:
    feats = [model.features(normalise(images[i: i + 256])) for i in range(0, len(images), 256)]
    return F.normalize(torch.cat(feats), dim=1)


def evaluate(qf, gf, query: list[ImageRecord], gallery: list[ImageRecord]) -> dict[str, float]:
    """Rank-1 and mAP, ignoring gallery images of the same identity and camera as the query."""
    dist = (1 - qf @ gf.T).numpy()
    g_pid = np.array([r.pid for r in gallery])
    g_cam = np.array([r.camid for r in gallery])
    hits, aps = [], []
    for i, q in enumerate(query):
        keep = ~((g_pid == q.pid) & (g_cam == q.camid))
        order = np.argsort(dist[i][keep], kind="stable")
        match = (g_pid[keep][order] == q.pid)
        if not match.any():
            continue
        hits.append(bool(match[0]))
        ranks = np.flatnonzero(match)
        aps.append(float(np.mean((np.arange(len(ranks)) + 1) / (ranks + 1))))
    return {"rank1": 100 * float(np.mean(hits)), "mAP": 100 * float(np.mean(aps))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--root", required=True, help="output folder of raereid synth")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--height", type=int, default=64)
    parser.add_argument("--width", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--sources", help="comma-separated training domains (default: every domain found)")
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    datasets = discover(args.root)
    data = {}
    for name, ds in sorted(datasets.items()):
        data[name] = {split: load_tensor(getattr(ds, split), args.height, args.width)
                      for split in ("train", "query", "gallery")}
    results: dict[str, dict[str, dict[str, float]]] = {}
    sources = args.sources.split(",") if args.sources else sorted(datasets)
    for source in sources:
        ds = datasets[source]
        start = time.time()
        print(f"training on {source} ({len(ds.train)} images)", flush=True)
        labels, _ = relabel([r.pid for r in ds.train])
        model = train(data[source]["train"], labels, args.epochs, args.batch, args.seed)
        results[source] = {}
        for target, tds in sorted(datasets.items()):
            qf, gf = embed(model, data[target]["query"]), embed(model, data[target]["gallery"])
            results[source][target] = evaluate(qf, gf, tds.query, tds.gallery)
            r = results[source][target]
            print(f"  {source} -> {target}: rank-1 {r['rank1']:.1f}  mAP {r['mAP']:.1f}", flush=True)
        print(f"  ({time.time() - start:.0f} s)", flush=True)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(results, fh, indent=2)


if __name__ == "__main__":
    main()
