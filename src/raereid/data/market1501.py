"""Market-1501 (Zheng et al., ICCV'15): `Market-1501-v15.09.15/{bounding_box_train,bounding_box_test,query}`."""

from __future__ import annotations

from pathlib import Path

from raereid.data.bbox_layout import PARTS, check_bbox_complete, has_bbox_layout, name_fit, read_bbox_dataset
from raereid.data.filenames import parse_market1501
from raereid.data.records import ReidDataset
from raereid.data.registry import DatasetLayout, register_layout

NAME = "market1501"
FOLDER_NAMES = ("Market-1501-v15.09.15", "Market-1501", "market1501", "Market1501", "market")
EXAMPLE = "0002_c1s1_000451_03.jpg"


def read_market1501(folder: Path) -> ReidDataset:
    """Read a Market-1501 folder; pid -1 (junk) is dropped, pid 0 (distractor) stays in the gallery."""
    return read_bbox_dataset(folder, NAME, parse_market1501, "Market-1501", EXAMPLE)


register_layout(DatasetLayout(
    name=NAME, title="Market-1501", detect=has_bbox_layout, read=read_market1501, aliases=("market", "market-1501"),
    folder_names=FOLDER_NAMES, example=EXAMPLE,
    hint="Market-1501-v15.09.15/{bounding_box_train,bounding_box_test,query}", file_names=name_fit(parse_market1501),
    incomplete=check_bbox_complete, parts=PARTS,
))
