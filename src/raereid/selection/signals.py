"""Every label-free signal of one clustering of the target, as one flat record with a fixed set of keys (None where
a signal does not apply): what the training loop logs at each clustering and checkpoint, and what the score reads.

Inputs are arrays only: the pseudo-labels, and optionally the camera ids (`camera_ids(records)`), the previous
round's pseudo-labels, the clustered descriptor and a second descriptor of the same images. No identity.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from raereid.arrays import check_labels
from raereid.errors import InputError
from raereid.selection.clusters import camera_coverage, cluster_statistics
from raereid.selection.neighbourhoods import knn_agreement, soft_neighbourhood_density
from raereid.selection.stability import label_stability
from raereid.selection.validity import cosine_silhouette

SIGNAL_KEYS = (
    "images", "clusters", "outlier_fraction", "median_cluster_size", "largest_cluster_share", "tiny_cluster_share",
    "cameras", "cross_camera_share", "cameras_per_cluster", "stability_ari", "stability_nmi", "both_clustered",
    "silhouette", "knn_agreement", "snd",
)

Signals = dict[str, float | int | None]


@dataclass(frozen=True)
class SignalOptions:
    """The fixed settings of the signals (not tuned on any split): k of the neighbourhood agreement, SND's
    temperature (the paper's) and sample size, the silhouette's sample size; snd=False skips SND's N x N pass."""

    knn_k: int = 10
    snd_temperature: float = 0.05
    snd_samples: int | None = 5000
    silhouette_samples: int | None = 8000
    snd: bool = True


def clustering_signals(
    labels: np.ndarray,
    *,
    cameras: np.ndarray | None = None,
    previous: np.ndarray | None = None,
    features: np.ndarray | None = None,
    second_features: np.ndarray | None = None,
    options: SignalOptions | None = None,
) -> Signals:
    """The SIGNAL_KEYS of a clustering `labels` (-1 outliers) of N target images.

    cameras: (N,) camera ids (-1 unknown) for the camera coverage; previous: the round before's labels of the same
    images for the stability; features: the (N, D) descriptor that was clustered, for the silhouette and SND;
    second_features: another descriptor of the same images (the fused one when the encoder's was clustered, or
    the reverse) for the neighbourhood agreement with `features`. A signal whose input is missing is None.
    """
    opts = options or SignalOptions()
    labels = check_labels(labels, "labels", len(labels))
    n = labels.size
    for name, value in (("cameras", cameras), ("previous", previous), ("features", features),
                        ("second_features", second_features)):
        if value is not None and len(value) != n:
            raise InputError(f"{name} describes {len(value)} images, the labels {n}",
                             fix=f"pass {name} of the same target images, in the same order as the labels")
    if second_features is not None and features is None:
        raise InputError("second_features was given without features", fix="pass the clustered descriptor too")
    out: Signals = dict.fromkeys(SIGNAL_KEYS)
    out.update(cluster_statistics(labels))
    if cameras is not None:
        out.update(camera_coverage(labels, cameras))
    if previous is not None:
        out.update(label_stability(previous, labels))
    if features is not None:
        out["silhouette"] = cosine_silhouette(features, labels, opts.silhouette_samples)
        if opts.snd and n >= 3:
            out["snd"] = soft_neighbourhood_density(features, opts.snd_temperature, opts.snd_samples)
        if second_features is not None and n > opts.knn_k:
            out["knn_agreement"] = knn_agreement(features, second_features, opts.knn_k)
    return out


# (signal, how a log line names it, decimals); the counts first
SHOWN = (("outlier_fraction", "outliers", 2), ("largest_cluster_share", "largest", 2),
         ("tiny_cluster_share", "tiny", 2), ("cross_camera_share", "cross-camera", 2),
         ("stability_ari", "stability", 2), ("silhouette", "silhouette", 2), ("knn_agreement", "kNN agreement", 2),
         ("snd", "SND", 2))


def describe_signals(signals: Signals) -> str:
    """One readable line of a signal record, e.g. "48 clusters of 2242 images, outliers 0.21, largest 0.06, ..."
    (signals that do not apply are left out)."""
    parts = [f"{signals.get('clusters')} clusters of {signals.get('images')} images"]
    parts += [f"{name} {signals[key]:.{digits}f}" for key, name, digits in SHOWN if signals.get(key) is not None]
    return ", ".join(parts)
