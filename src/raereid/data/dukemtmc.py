"""DukeMTMC-reID (Zheng et al., ICCV'17 re-ID split): `DukeMTMC-reID/{bounding_box_train,bounding_box_test,query}`."""

from __future__ import annotations

from pathlib import Path

from raereid.data.bbox_layout import PARTS, check_bbox_complete, has_bbox_layout, name_fit, read_bbox_dataset
from raereid.data.filenames import parse_dukemtmc
from raereid.data.records import ReidDataset
from raereid.data.registry import DatasetLayout, register_layout

NAME = "dukemtmcreid"
FOLDER_NAMES = ("DukeMTMC-reID", "dukemtmc-reid", "dukemtmcreid", "DukeMTMC", "duke")
EXAMPLE = "0001_c2_f0046182.jpg"


def read_dukemtmc(folder: Path) -> ReidDataset:
    """Read a DukeMTMC-reID folder."""
    return read_bbox_dataset(folder, NAME, parse_dukemtmc, "DukeMTMC-reID", EXAMPLE)


register_layout(DatasetLayout(
    name=NAME, title="DukeMTMC-reID", detect=has_bbox_layout, read=read_dukemtmc,
    aliases=("duke", "dukemtmc", "dukemtmc-reid"), folder_names=FOLDER_NAMES, example=EXAMPLE,
    hint="DukeMTMC-reID/{bounding_box_train,bounding_box_test,query}", file_names=name_fit(parse_dukemtmc),
    incomplete=check_bbox_complete, parts=PARTS,
))
