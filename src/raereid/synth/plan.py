"""Planning the benchmark: every domain's identities, pids, cameras, file names and per-image RNG keys.

Everything is decided here, in the parent process and before any pixel is drawn, so that the files
do not depend on how rendering is spread over workers: each `Shot` carries the key of its own
random stream.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from raereid.synth.identities import Identity, IdentityPool
from raereid.synth.layouts import LAYOUTS, VAL_SHARE, FileNamer, Layout, Scale
from raereid.synth.styles import DOMAINS, DomainStyle

KIND_CODES = {"person": 0, "distractor": 1, "junk": 2}
TRACK_CODE = 3  # RNG keys of tracklets: (seed, domain, TRACK_CODE, pid, camera)
SPLITS = ("train", "query", "gallery", "val_query", "val_gallery")  # as the readers name them


@dataclass(frozen=True)
class Shot:
    """One image to render: where it goes, what it shows, and the key of its random stream."""

    path: str  # relative to the output folder
    split: str  # train, query, gallery, val_query or val_gallery
    pid: int  # as written in the file name (-1 junk, 0 distractor)
    camera: int  # 1-based
    kind: str  # person, distractor or junk
    domain: str
    key: tuple[int, ...]
    identity: Identity | None = None
    session: int = 0  # index into the domain's daylight conditions
    listed_as: str = ""  # the MSMT17 list naming it: list_{listed_as}.txt (train, val, query, gallery, val_*)
    track: tuple[int, ...] | None = None  # RNG key of its tracklet (what the person's images in this camera share)
    time: float = 0.0  # seconds since the tracklet's first image


@dataclass
class DomainPlan:
    """Everything decided about one domain before rendering."""

    name: str
    layout: Layout
    style: DomainStyle
    identities: dict[str, dict[int, Identity]]  # train / test / gallery_only / distractor / val -> pid -> identity
    shots: list[Shot]


def _camera_count(rng: np.random.Generator, cameras: int) -> int:
    """How many cameras one person crosses: at least two, rarely all (as in Market-1501)."""
    options = np.arange(2, min(6, cameras) + 1)
    weights = 1.0 / (options - 1.0) ** 1.2
    return int(rng.choice(options, p=weights / weights.sum()))


def _spread(rng: np.random.Generator, n: int, cams: list[int]) -> list[int]:
    """Assign `n` >= len(cams) images to cameras: one per camera, the rest at random."""
    extra = [cams[int(i)] for i in rng.integers(0, len(cams), n - len(cams))]
    return sorted(cams + extra)


class _ShotList:
    """The shots of one domain as they are planned: each gets the next file name and its RNG key."""

    def __init__(self, name: str, domain_index: int, seed: int, namer: FileNamer, rng: np.random.Generator,
                 tracklets: bool = False):
        self.name, self.domain_index, self.seed, self.namer, self.rng = name, domain_index, seed, namer, rng
        self.tracklets = tracklets
        self.layout = LAYOUTS[name]
        self.dirs = dict(zip(SPLITS, self.layout.split_dirs + self.layout.val_dirs))
        self.shots: list[Shot] = []

    def add(self, split: str, pid: int, cam: int, kind: str, key: tuple[int, ...], ident: Identity | None) -> None:
        """Plan one image of `split`: its file name, and its RNG key from the seed, domain, kind and `key`."""
        file, session, seconds = self.namer(pid, cam)
        layout, share = self.layout, self.layout.train_val_share
        listed = "val" if split == "train" and share and self.rng.random() < share else split
        track = (self.seed, self.domain_index, TRACK_CODE, pid, cam) if self.tracklets and kind == "person" else None
        self.shots.append(Shot(f"{layout.folder}/{self.dirs[split]}/{file}", split, pid, cam, kind, self.name,
                               (self.seed, self.domain_index, KIND_CODES[kind], *key), ident, session, listed,
                               track, seconds if track else 0.0))


def _draw_pids(rng: np.random.Generator, layout: Layout, taken_pids: set[int], total: int) -> np.ndarray:
    """`total` new pids in the layout's range (wider if needed), none in `taken_pids`, which they join."""
    candidates = np.arange(1, max(layout.pid_range, len(taken_pids) + int(total * 1.2)) + 1)
    pids = rng.choice(np.setdiff1d(candidates, np.fromiter(taken_pids, dtype=np.int64)), size=total, replace=False)
    taken_pids.update(int(p) for p in pids)
    return pids


def _test_shots(rng: np.random.Generator, people: dict[int, Identity], scale: Scale, cameras: list[int],
                add: Callable[..., None], query: str, gallery: str) -> None:
    """Shots of evaluation identities: a query in each of up to `scale.query_cameras` of the cameras a
    person crosses, and gallery images in every one of them, so every query has a cross-camera match."""
    for pid, ident in people.items():
        cams = [int(c) for c in rng.choice(cameras, _camera_count(rng, len(cameras)), replace=False)]
        query_cams = sorted(cams[: scale.query_cameras])
        count = int(rng.integers(scale.gallery_images[0], scale.gallery_images[1] + 1))
        for i, cam in enumerate(query_cams):
            add(query, pid, cam, "person", (pid, i), ident)
        for i, cam in enumerate(_spread(rng, max(count, len(cams)), sorted(cams))):
            add(gallery, pid, cam, "person", (pid, len(query_cams) + i), ident)


def plan_domain(
    name: str, domain_index: int, seed: int, scale: Scale, pool: IdentityPool, taken_pids: set[int],
    tracklets: bool = False,
) -> DomainPlan:
    """Draw the domain's identities, pids, cameras and file names (no pixels yet).

    Pids already in `taken_pids` (other domains) are avoided, so identities are disjoint by pid too. With
    `tracklets`, a person's images in one camera share a tracklet (`Shot.track`); without, each is drawn alone.
    """
    layout, style = LAYOUTS[name], DOMAINS[name]
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0x9A, domain_index]))
    n = max(2, round(scale.ids * layout.id_factor))
    n_extra = round(n * layout.gallery_only)
    people = {
        "train": pool.draw(n, style.season),
        "test": pool.draw(n, style.season),
        "gallery_only": pool.draw(n_extra, style.season),
    }
    total = 2 * n + n_extra
    pids = _draw_pids(rng, layout, taken_pids, total)
    pid_lists = {"train": sorted(pids[:n]), "test": sorted(pids[n: 2 * n]), "gallery_only": sorted(pids[2 * n:])}
    identities = {
        group: {int(pid): person for pid, person in zip(pid_lists[group], people[group])} for group in people
    }
    planned = _ShotList(name, domain_index, seed, FileNamer(name, len(style.daylight), rng), rng, tracklets)
    add = planned.add
    cameras = list(range(1, style.cameras + 1))
    for pid, ident in identities["train"].items():
        cams = sorted(int(c) for c in rng.choice(cameras, _camera_count(rng, style.cameras), replace=False))
        count = int(rng.integers(scale.train_images[0], scale.train_images[1] + 1))
        for i, cam in enumerate(_spread(rng, max(count, len(cams)), cams)):
            add("train", pid, cam, "person", (pid, i), ident)
    _test_shots(rng, identities["test"], scale, cameras, add, "query", "gallery")
    for pid, ident in identities["gallery_only"].items():
        for i in range(int(rng.integers(1, 4))):
            add("gallery", pid, int(rng.choice(cameras)), "person", (pid, i), ident)
    gallery_size = sum(s.split == "gallery" for s in planned.shots)
    n_distractors = round(gallery_size * layout.distractors)
    distractors = pool.draw(n_distractors, style.season)
    for i, person in enumerate(distractors):
        add("gallery", 0, int(rng.choice(cameras)), "distractor", (i,), person)
    for i in range(round(gallery_size * layout.junk)):
        add("gallery", -1, int(rng.choice(cameras)), "junk", (i,), None)
    identities["distractor"] = {i: person for i, person in enumerate(distractors)}
    return DomainPlan(name, layout, style, identities, planned.shots)


def plan_validation(plan: DomainPlan, domain_index: int, seed: int, scale: Scale, pool: IdentityPool,
                    taken_pids: set[int], tracklets: bool = False) -> None:
    """Add the domain's validation split to `plan`: new people (attribute combinations and pids used
    nowhere else), VAL_SHARE as many as its test identities, each shot like a test identity.

    It draws from a random stream of its own, and from the identity pool only after every domain's
    main plan, so the training and test files are the same with or without it.
    """
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0xA1, domain_index]))
    n = max(2, round(len(plan.identities["test"]) * VAL_SHARE))
    people = pool.draw(n, plan.style.season)
    pids = sorted(_draw_pids(rng, plan.layout, taken_pids, n))
    plan.identities["val"] = {int(pid): person for pid, person in zip(pids, people)}
    planned = _ShotList(plan.name, domain_index, seed, FileNamer(plan.name, len(plan.style.daylight), rng), rng,
                        tracklets)
    cameras = list(range(1, plan.style.cameras + 1))
    _test_shots(rng, plan.identities["val"], scale, cameras, planned.add, "val_query", "val_gallery")
    plan.shots += planned.shots
