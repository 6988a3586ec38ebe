"""How each domain is laid out on disk, after the real dataset it imitates: folders, pid ranges, file names.

`Scale` says how big a domain is, `Layout` where its splits go (the validation split's too) and what
extra images the real dataset has (gallery-only identities, junk, distractors, MSMT17's val list),
`FileNamer` the file names. The split folder names come from the readers in `raereid.data`, so both
sides agree.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from raereid.data.bbox_layout import SPLIT_DIRS, VAL_DIR, VAL_SPLIT_DIRS
from raereid.synth.styles import DOMAINS

DEFAULT_DOMAINS = ("market1501", "dukemtmcreid")


@dataclass(frozen=True)
class Scale:
    """How big each domain is: identities per split and images per identity."""

    ids: int
    train_images: tuple[int, int]  # per training identity, inclusive range
    gallery_images: tuple[int, int]  # per test identity
    query_cameras: int  # at most this many queries (one per camera) per test identity


SCALES = {
    "tiny": Scale(ids=8, train_images=(4, 7), gallery_images=(3, 4), query_cameras=2),
    "small": Scale(ids=150, train_images=(10, 20), gallery_images=(6, 12), query_cameras=3),
    "medium": Scale(ids=700, train_images=(10, 20), gallery_images=(6, 12), query_cameras=3),
}


@dataclass(frozen=True)
class Layout:
    """How a domain is laid out on disk, after the real dataset it imitates."""

    folder: str
    pid_range: int  # pids are drawn from 1..pid_range like the real numbering
    id_factor: float  # identities per split relative to the scale
    gallery_only: float  # extra gallery-only identities, relative to the test identities (DukeMTMC-reID)
    junk: float  # junk images (pid -1) relative to the gallery (Market-1501)
    distractors: float  # distractor images (pid 0) relative to the gallery (Market-1501)
    split_dirs: tuple[str, str, str]  # train, query, gallery
    val_dirs: tuple[str, str]  # the validation split's query and gallery, relative to the dataset folder
    train_val_share: float = 0.0  # share of training images listed in MSMT17's list_val.txt (part of its training set)
    fps: float = 25.0  # video frame rate: turns a tracklet's frame numbers into seconds (how far its person walked)


BBOX_DIRS = tuple(SPLIT_DIRS[split] for split in ("train", "query", "gallery"))
BBOX_VAL_DIRS = tuple(f"{VAL_DIR}/{VAL_SPLIT_DIRS[split]}" for split in ("val_query", "val_gallery"))
LAYOUTS = {
    "market1501": Layout("Market-1501-v15.09.15", 1501, 1.0, 0.0, 0.1, 0.1, BBOX_DIRS, BBOX_VAL_DIRS),
    "dukemtmcreid": Layout("DukeMTMC-reID", 7140, 0.94, 0.4, 0.0, 0.0, BBOX_DIRS, BBOX_VAL_DIRS, fps=60.0),
    # MSMT17: validation images sit in test/<pid>/ like the test ones, listed in list_val_{query,gallery}.txt
    "msmt17": Layout("MSMT17_V1", 4101, 1.0, 0.0, 0.0, 0.0, ("train", "test", "test"), ("test", "test"),
                     train_val_share=0.1),
}
VAL_SHARE = 1 / 3  # validation identities per domain, relative to its test identities
MSMT_DAYS = ("0113", "0114", "0302", "0303")  # recording days, as in MSMT17 file names
MSMT_TIMES = tuple(name for name, _, _ in DOMAINS["msmt17"].daylight)


class FileNamer:
    """File names in the dataset's convention, unique within the domain; each (person, camera) is one
    tracklet with close frames and, in MSMT17, one recording session (day and time of day)."""

    def __init__(self, domain: str, sessions: int, rng: np.random.Generator):
        self.domain, self.sessions, self.rng, self.used = domain, sessions, rng, set()
        self.tracks: dict[tuple[int, int], list[int]] = {}
        self.first: dict[tuple[int, int], int] = {}
        self.counts: dict[int, int] = {}
        self.fps = LAYOUTS[domain].fps

    def __call__(self, pid: int, cam: int) -> tuple[str, int, float]:
        """(file name relative to the split folder, daylight session, seconds since the tracklet's first
        image) of the next image; images that are no tracklet (pid <= 0) are at 0 s."""
        rng = self.rng
        start = [int(rng.integers(1, 7)), int(rng.integers(0, 9000 if self.domain == "msmt17" else 150000)),
                 int(rng.integers(len(MSMT_DAYS))), int(rng.integers(self.sessions))]
        track = self.tracks.setdefault((pid, cam), start) if pid > 0 else start
        track[1] += int(rng.integers(4, 30))
        seq, frame, day, session = track
        seconds = (frame - self.first.setdefault((pid, cam), frame)) / self.fps if pid > 0 else 0.0
        while True:
            if self.domain == "market1501":
                pid_text = "-1" if pid == -1 else f"{pid:04d}"
                name = f"{pid_text}_c{cam}s{seq}_{frame:06d}_{int(rng.integers(1, 9)):02d}.jpg"
            elif self.domain == "dukemtmcreid":
                name = f"{pid:04d}_c{cam}_f{frame:07d}.jpg"
            else:
                index = self.counts.get(pid, 0)
                when = f"{MSMT_DAYS[day]}{MSMT_TIMES[session]}"
                name = f"{pid:04d}/{pid:04d}_{index:03d}_{cam:02d}_{when}_{frame % 10000:04d}_{int(rng.integers(0, 3))}"
                name += ".jpg"
            if name not in self.used:
                self.used.add(name)
                self.counts[pid] = self.counts.get(pid, 0) + 1
                return name, session, seconds
            frame += 1

