"""How much the pseudo-labels change between two consecutive clusterings of the same target images.

Compared on the images clustered both times (an outlier has no label to keep), with scikit-learn's adjusted Rand
index and normalised mutual information: both ignore how clusters are numbered, so relabelling is no change.
A run whose clusters keep being rebuilt from scratch trains on a moving target.
"""

from __future__ import annotations

import numpy as np
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

from raereid.arrays import check_labels
from raereid.errors import InputError


def label_stability(previous: np.ndarray, current: np.ndarray) -> dict[str, float | None]:
    """stability_ari and stability_nmi between two clusterings on the images clustered in both, and
    both_clustered, the share of all images clustered in both. ARI and NMI are None when fewer than 2
    images were clustered both times."""
    current = check_labels(current, "current", len(current))
    previous = check_labels(previous, "previous", len(previous))
    if previous.size != current.size:
        raise InputError(f"the two clusterings label {previous.size} and {current.size} images",
                         fix="compare two clusterings of the same target images, in the same order")
    both = (previous >= 0) & (current >= 0)
    share = float(both.mean()) if both.size else None
    if both.sum() < 2:
        return {"stability_ari": None, "stability_nmi": None, "both_clustered": share}
    return {
        "stability_ari": float(adjusted_rand_score(previous[both], current[both])),
        "stability_nmi": float(normalized_mutual_info_score(previous[both], current[both])),
        "both_clustered": share,
    }
