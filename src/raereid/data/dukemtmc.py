"""DukeMTMC-reID (Zheng et al., ICCV'17 re-ID split): `DukeMTMC-reID/{bounding_box_train,bounding_box_test,query}`."""

from __future__ import annotations

from pathlib import Path

from raereid.data.bbox_layout import read_bbox_dataset
from raereid.data.filenames import parse_dukemtmc
from raereid.data.records import ReidDataset

NAME = "dukemtmcreid"
FOLDER_NAMES = ("DukeMTMC-reID", "dukemtmc-reid", "dukemtmcreid", "DukeMTMC", "duke")
EXAMPLE = "0001_c2_f0046182.jpg"


def read_dukemtmc(folder: Path) -> ReidDataset:
    """Read a DukeMTMC-reID folder."""
    return read_bbox_dataset(folder, NAME, parse_dukemtmc, "DukeMTMC-reID", EXAMPLE)
