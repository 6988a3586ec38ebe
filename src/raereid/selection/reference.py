"""The reference clustering: one fixed clustering rule applied to any model's target descriptors, so that cluster
signals of runs trained with different clustering values (an eps sweep) compare.

A run's own clustering cannot judge its own eps: its outlier fraction and cluster sizes move with eps by
construction. The reference rule re-derives eps from each descriptor's own distances (the MMT / SpCL rho rule:
the mean of the smallest rho share of the Jaccard distances), so the same rule is scale-free across models.
"""

from __future__ import annotations

import numpy as np

from raereid.clustering import DBSCANLabels
from raereid.errors import ConfigError
from raereid.selection.signals import SignalOptions, Signals, clustering_signals

REFERENCE_RHO = 1.6e-3  # MMT's and SpCL's rho (raereid's cluster.rho default)


def reference_labels(features: np.ndarray, rho: float = REFERENCE_RHO, min_samples: int = 4, k1: int = 30,
                     k2: int = 6) -> np.ndarray:
    """(N,) pseudo-labels (-1 outliers) of DBSCAN on the Jaccard distance of `features` at the eps the rho rule
    derives from these features (a fresh generator per call: nothing learned from another model is kept). Every
    image is an outlier when the rule finds no close pair (a target of a few dozen images, or no structure)."""
    try:
        return DBSCANLabels(eps="auto", min_samples=min_samples, k1=k1, k2=k2, rho=rho)(features)
    except ConfigError:  # the rho rule selected no pair, or only pairs at distance 1
        return np.full(len(features), -1, dtype=np.int64)


def reference_signals(features: np.ndarray, *, cameras: np.ndarray | None = None, previous: np.ndarray | None = None,
                      second_features: np.ndarray | None = None, options: SignalOptions | None = None
                      ) -> tuple[np.ndarray, Signals]:
    """The reference clustering of `features` (the retrieval descriptor) and all its signals: camera coverage with
    `cameras`, stability against `previous` (the reference labels of the model judged before), the silhouette and
    SND of `features`, and their neighbourhood agreement with `second_features` (the other descriptor)."""
    labels = reference_labels(features)
    return labels, clustering_signals(labels, cameras=cameras, previous=previous, features=features,
                                      second_features=second_features, options=options)
