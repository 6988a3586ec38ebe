"""What a clustering looks like, without identities: its size distribution and how its clusters span cameras.

Pseudo-labels follow the label generators' convention: one int per image, -1 for an outlier (left out of the
target losses); clusters need not be numbered 0..n-1. A real identity is usually seen by several cameras, so a
clustering whose clusters stay inside one camera groups by camera style rather than by person.
"""

from __future__ import annotations

import numpy as np

from raereid.arrays import check_labels
from raereid.selection.cameras import UNKNOWN_CAMERA, known_cameras

TINY_CLUSTER = 2  # a cluster of at most this many images is "tiny": hardly a person seen twice by two cameras


def _sizes(labels: np.ndarray) -> np.ndarray:
    """Images per cluster (outliers excluded), in the order of the sorted cluster ids."""
    return np.unique(labels[labels >= 0], return_counts=True)[1]


def cluster_statistics(labels: np.ndarray) -> dict[str, float | int | None]:
    """Size distribution of a clustering of N images.

    images: N; clusters: distinct labels >= 0; outlier_fraction: share of images labelled -1;
    median_cluster_size: median images per cluster; largest_cluster_share: the largest cluster's share of the
    clustered images (near 1 when the clustering collapsed into one group); tiny_cluster_share: share of clusters
    with at most TINY_CLUSTER images. The last three are None without any cluster.
    """
    labels = check_labels(labels, "labels", len(labels))
    sizes = _sizes(labels)
    n = int(labels.size)
    clustered = int(sizes.sum())
    return {
        "images": n,
        "clusters": int(sizes.size),
        "outlier_fraction": float((n - clustered) / n) if n else None,
        "median_cluster_size": float(np.median(sizes)) if sizes.size else None,
        "largest_cluster_share": float(sizes.max() / clustered) if sizes.size else None,
        "tiny_cluster_share": float(np.mean(sizes <= TINY_CLUSTER)) if sizes.size else None,
    }


def camera_coverage(labels: np.ndarray, cameras: np.ndarray) -> dict[str, float | int | None]:
    """How clusters span cameras: cameras, the known cameras among the images; cross_camera_share, the share of
    clustered images whose cluster holds images of at least 2 known cameras; cameras_per_cluster, the mean number
    of known cameras per cluster.

    Images of unknown camera (-1) count as members of their cluster but add no camera. The last two are None
    without clusters, or when the images show fewer than 2 known cameras (nothing to span).
    """
    labels = check_labels(labels, "labels", len(labels))
    cameras = check_labels(cameras, "cameras", labels.size)
    seen_cameras = known_cameras(cameras)
    none: dict[str, float | int | None] = {"cameras": seen_cameras, "cross_camera_share": None,
                                           "cameras_per_cluster": None}
    clustered = labels >= 0
    if not clustered.any() or seen_cameras < 2:
        return none
    ids, index = np.unique(labels[clustered], return_inverse=True)
    seen = clustered.copy()
    seen[clustered] = cameras[clustered] != UNKNOWN_CAMERA
    pairs = np.unique(np.stack([np.searchsorted(ids, labels[seen]), cameras[seen]]), axis=1)
    spans = np.bincount(pairs[0], minlength=ids.size)  # known cameras per cluster
    return {
        "cameras": seen_cameras,
        "cross_camera_share": float(np.mean(spans[index] >= 2)),
        "cameras_per_cluster": float(spans.mean()),
    }
