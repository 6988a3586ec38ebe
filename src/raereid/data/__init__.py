"""Datasets on disk, the procedural benchmark, and the input pipeline (transforms, samplers, loaders)."""

from raereid.data.records import ImageRecord, ReidDataset, relabel
from raereid.data.registry import discover, load_dataset

__all__ = ["ImageRecord", "ReidDataset", "relabel", "discover", "load_dataset"]
