"""An unlabeled folder of images: the usual target camera network, which has no identities.

Any folder of images (searched recursively) reads as a training-only dataset; cameras come from
sub-folders named like `cam1/`, `c2/` or `camera_3/` when present (`camera_of`, which the list-file reader uses too
for rows without a camera, so every reader counts cameras the same way).
"""

from __future__ import annotations

import re
from pathlib import Path

from raereid.data.files import list_images
from raereid.data.records import UNKNOWN_ID, ImageRecord, ReidDataset
from raereid.errors import DatasetError

_CAMERA_DIR = re.compile(r"^(?:cam|camera|c)[_-]?(\d+)$", re.IGNORECASE)


def camera_of(relative: Path) -> int:
    """The camera of an image from its folders (relative to the dataset folder): the number of the first folder named
    like cam1, c2 or camera_3 on its path; UNKNOWN_ID when none is."""
    for part in relative.parts[:-1]:
        m = _CAMERA_DIR.match(part)
        if m:
            return int(m.group(1))
    return UNKNOWN_ID


def read_image_folder(folder: Path) -> ReidDataset:
    """An unlabeled folder of images (searched recursively) as a training-only target dataset."""
    paths = list_images(folder, recursive=True)
    if not paths:
        raise DatasetError(
            "no images found in the target folder",
            where=folder,
            fix="put the target camera images (.jpg/.png) in this folder, optionally in cam1/, cam2/ ... sub-folders",
        )
    records = [ImageRecord(str(p.resolve()), UNKNOWN_ID, camera_of(p.relative_to(folder))) for p in paths]
    return ReidDataset(name=folder.name, root=folder, train=records, layout="image folder")
