"""An unlabeled folder of images: the usual target camera network, which has no identities.

Any folder of images (searched recursively) reads as a training-only dataset; cameras come from
sub-folders named like `cam1/`, `c2/` or `camera_3/` when present.
"""

from __future__ import annotations

import re
from pathlib import Path

from raereid.data.files import list_images
from raereid.data.records import UNKNOWN_ID, ImageRecord, ReidDataset
from raereid.errors import DatasetError

_CAMERA_DIR = re.compile(r"^(?:cam|camera|c)[_-]?(\d+)$", re.IGNORECASE)


def read_image_folder(folder: Path) -> ReidDataset:
    """An unlabeled folder of images (searched recursively) as a training-only target dataset."""
    paths = list_images(folder, recursive=True)
    if not paths:
        raise DatasetError(
            "no images found in the target folder",
            where=folder,
            fix="put the target camera images (.jpg/.png) in this folder, optionally in cam1/, cam2/ ... sub-folders",
        )
    records = []
    for p in paths:
        first = p.relative_to(folder).parts[0] if len(p.relative_to(folder).parts) > 1 else ""
        m = _CAMERA_DIR.match(first)
        records.append(ImageRecord(str(p.resolve()), UNKNOWN_ID, int(m.group(1)) if m else UNKNOWN_ID))
    return ReidDataset(name=folder.name, root=folder, train=records, layout="image folder")
