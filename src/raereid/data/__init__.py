"""Datasets on disk (readers registered per layout, found by content) and the input pipeline (transforms,
samplers, loaders). The benchmark generator that writes datasets is `raereid.synth`."""

from raereid.data.records import ImageRecord, ReidDataset, relabel
from raereid.data.registry import DatasetLayout, discover, load_dataset, register_layout

# isort: off
# The built-in readers register their layouts when imported, in the order detection tries them.
from raereid.data import market1501  # noqa: F401
from raereid.data import dukemtmc  # noqa: F401
from raereid.data import msmt17  # noqa: F401
from raereid.data import custom  # noqa: F401
# isort: on

__all__ = ["ImageRecord", "ReidDataset", "relabel", "DatasetLayout", "discover", "load_dataset", "register_layout"]
