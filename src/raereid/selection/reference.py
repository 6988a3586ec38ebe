"""The reference clustering: one fixed clustering rule applied to any model's target descriptors, so that cluster
signals of runs trained with different clustering values (an eps sweep) compare.

A run's own clustering cannot judge its own eps: its outlier fraction and cluster sizes move with eps by
construction. The reference rule re-derives eps from each descriptor's own distances (the MMT / SpCL rho rule:
the mean of the smallest rho share of the Jaccard distances), so the same rule is scale-free across models.
"""

from __future__ import annotations

import numpy as np

from raereid.clustering import DBSCANLabels

REFERENCE_RHO = 1.6e-3  # MMT's and SpCL's rho (raereid's cluster.rho default)


def reference_labels(features: np.ndarray, rho: float = REFERENCE_RHO, min_samples: int = 4, k1: int = 30,
                     k2: int = 6) -> np.ndarray:
    """(N,) pseudo-labels (-1 outliers) of DBSCAN on the Jaccard distance of `features` at the eps the rho rule
    derives from these features (a fresh generator per call: nothing learned from another model is kept)."""
    return DBSCANLabels(eps="auto", min_samples=min_samples, k1=k1, k2=k2, rho=rho)(features)
