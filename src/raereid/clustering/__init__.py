"""Pseudo-labels for unsupervised re-ID: sparse Jaccard distance, DBSCAN and k-means behind one interface."""

from raereid.clustering.dbscan import DBSCANLabels, adaptive_eps
from raereid.clustering.jaccard import jaccard_distance
from raereid.clustering.kmeans import KMeansLabels
from raereid.clustering.label_generators import (
    LabelGenerator,
    available_label_generators,
    build_label_generator,
    label_generator_params,
    pseudo_labels,
    register_label_generator,
)

__all__ = [
    "jaccard_distance",
    "pseudo_labels",
    "LabelGenerator",
    "build_label_generator",
    "label_generator_params",
    "register_label_generator",
    "available_label_generators",
    "DBSCANLabels",
    "KMeansLabels",
    "adaptive_eps",
]
