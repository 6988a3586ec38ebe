"""Cost of each label-free signal (raereid.selection) on random features of a given size.

    python benchmarks/bench_selection.py                  # Market-sized: 12,936 images, 2,048-d
    python benchmarks/bench_selection.py --images 2242 --dim 256

Random features, random pseudo-labels (about 10 images per cluster, some outliers), random cameras (6) and a second
descriptor (the first plus noise). Wall time of each call with time.perf_counter; the values themselves mean
nothing here. reference_labels is the reference clustering of every snapshot (docs/selection.md). The signals'
default sample sizes apply (silhouette 8000, SND 5000).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from raereid.selection import (
    camera_coverage,
    cluster_statistics,
    cosine_silhouette,
    knn_agreement,
    label_stability,
    reference_labels,
    soft_neighbourhood_density,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=12936)
    parser.add_argument("--dim", type=int, default=2048)
    parser.add_argument("--k", type=int, default=10, help="neighbours of the kNN agreement")
    args = parser.parse_args()
    n, rng = args.images, np.random.default_rng(0)
    x = rng.normal(size=(n, args.dim)).astype(np.float32)
    y = x + rng.normal(size=x.shape).astype(np.float32)
    labels, previous, cameras = rng.integers(-1, n // 10, n), rng.integers(-1, n // 10, n), rng.integers(0, 6, n)
    calls = {
        "cluster_statistics": lambda: cluster_statistics(labels),
        "camera_coverage": lambda: camera_coverage(labels, cameras),
        "label_stability": lambda: label_stability(previous, labels),
        "cosine_silhouette": lambda: cosine_silhouette(x, labels),
        "soft_neighbourhood_density": lambda: soft_neighbourhood_density(x),
        f"knn_agreement (k={args.k})": lambda: knn_agreement(x, y, args.k),
        "reference_labels (Jaccard DBSCAN, rho rule)": lambda: reference_labels(x),
    }
    print(f"{n} images, {args.dim}-d")
    for name, call in calls.items():
        start = time.perf_counter()
        call()
        print(f"{name}: {time.perf_counter() - start:.2f} s", flush=True)


if __name__ == "__main__":
    main()
