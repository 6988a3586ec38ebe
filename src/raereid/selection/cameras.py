"""The one door from dataset records into the label-free signals: camera ids, and nothing else of a record.

A record's identity never leaves this module because it is never read: `camera_ids` takes anything with a
`camid` attribute (an `ImageRecord`, or a stand-in without any identity field) and returns the camera ids as
an array. Every signal then works on arrays, so a dataset's identities cannot reach them (tests prove it).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

import numpy as np

UNKNOWN_CAMERA = -1  # raereid.data.records.UNKNOWN_ID, repeated here so this package does not import the data layer


class HasCamera(Protocol):
    """A record with a zero-based camera id (-1 when unknown)."""

    @property
    def camid(self) -> int: ...


def camera_ids(records: Iterable[HasCamera]) -> np.ndarray:
    """(N,) int64 camera ids of `records`, in order; -1 where the camera is unknown."""
    return np.fromiter((int(r.camid) for r in records), dtype=np.int64)


def known_cameras(cameras: np.ndarray) -> int:
    """How many distinct known cameras (ids >= 0) the array holds."""
    return int(np.unique(cameras[cameras != UNKNOWN_CAMERA]).size)
