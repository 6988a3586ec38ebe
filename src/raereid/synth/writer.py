"""Writing the benchmark: dataset layouts, file names, splits, parallel rendering and the manifest.

`generate(out, seed, scale, domains)` plans every image in the parent process (identities, pids,
cameras, file names and one RNG key per image), renders them in a process pool (each image's RNG
comes from its key, so the bytes do not depend on which worker renders it), and writes
`synth.json` last: a folder without it is an interrupted run.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from raereid import __version__
from raereid.synth.identities import ATTRIBUTES, Identity, IdentityPool
from raereid.synth.render import render_image
from raereid.synth.styles import DOMAINS, DomainStyle, camera_styles
from raereid.errors import RaeReidError

GENERATOR = "raereid synth"
GENERATOR_VERSION = 1  # bump when the same seed would give different files
MANIFEST = "synth.json"
IDENTITIES_FILE = "synth_identities.json"
IN_PROGRESS = ".synth-in-progress"
DEFAULT_DOMAINS = ("market1501", "dukemtmcreid")
JPEG_SETTINGS = {"subsampling": 2, "optimize": False, "progressive": False}


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
    val: float = 0.0  # share of training images listed in list_val.txt (MSMT17)


BBOX_DIRS = ("bounding_box_train", "query", "bounding_box_test")
LAYOUTS = {
    "market1501": Layout("Market-1501-v15.09.15", 1501, 1.0, 0.0, 0.1, 0.1, BBOX_DIRS),
    "dukemtmcreid": Layout("DukeMTMC-reID", 7140, 0.94, 0.4, 0.0, 0.0, BBOX_DIRS),
    "msmt17": Layout("MSMT17_V1", 4101, 1.0, 0.0, 0.0, 0.0, ("train", "test", "test"), val=0.1),
}
MSMT_DAYS = ("0113", "0114", "0302", "0303")  # recording days, as in MSMT17 file names
MSMT_TIMES = tuple(name for name, _, _ in DOMAINS["msmt17"].daylight)
KIND_CODES = {"person": 0, "distractor": 1, "junk": 2}


@dataclass(frozen=True)
class Shot:
    """One image to render: where it goes, what it shows, and the key of its random stream."""

    path: str  # relative to the output folder
    split: str  # train, query or gallery
    pid: int  # as written in the file name (-1 junk, 0 distractor)
    camera: int  # 1-based
    kind: str  # person, distractor or junk
    domain: str
    key: tuple[int, ...]
    identity: Identity | None = None
    session: int = 0  # index into the domain's daylight conditions
    listed_as: str = ""  # MSMT17 list file the image belongs to (train, val, query, gallery)


@dataclass
class DomainPlan:
    """Everything decided about one domain before rendering."""

    name: str
    layout: Layout
    style: DomainStyle
    identities: dict[str, dict[int, Identity]]  # train / test / gallery_only / distractor -> pid -> identity
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


class _Namer:
    """File names in the dataset's convention, unique within the domain; each (person, camera) is one
    tracklet with close frames and, in MSMT17, one recording session (day and time of day)."""

    def __init__(self, domain: str, sessions: int, rng: np.random.Generator):
        self.domain, self.sessions, self.rng, self.used = domain, sessions, rng, set()
        self.tracks: dict[tuple[int, int], list[int]] = {}
        self.counts: dict[int, int] = {}

    def __call__(self, pid: int, cam: int) -> tuple[str, int]:
        """(file name relative to the split folder, daylight session) of the next image."""
        rng = self.rng
        start = [int(rng.integers(1, 7)), int(rng.integers(0, 9000 if self.domain == "msmt17" else 150000)),
                 int(rng.integers(len(MSMT_DAYS))), int(rng.integers(self.sessions))]
        track = self.tracks.setdefault((pid, cam), start) if pid > 0 else start
        track[1] += int(rng.integers(4, 30))
        seq, frame, day, session = track
        while True:
            if self.domain == "market1501":
                pid_text = "-1" if pid == -1 else f"{pid:04d}"
                name = f"{pid_text}_c{cam}s{seq}_{frame:06d}_{int(rng.integers(1, 9)):02d}.jpg"
            elif self.domain == "dukemtmcreid":
                name = f"{pid:04d}_c{cam}_f{frame:07d}.jpg"
            else:
                index = self.counts.get(pid, 0)
                when = f"{MSMT_DAYS[day]}{MSMT_TIMES[session]}"
                name = f"{pid:04d}/{pid:04d}_{index:03d}_{cam:02d}_{when}_{frame % 10000:04d}_{int(rng.integers(0, 3))}.jpg"
            if name not in self.used:
                self.used.add(name)
                self.counts[pid] = self.counts.get(pid, 0) + 1
                return name, session
            frame += 1


def plan_domain(
    name: str, domain_index: int, seed: int, scale: Scale, pool: IdentityPool, taken_pids: set[int]
) -> DomainPlan:
    """Draw the domain's identities, pids, cameras and file names (no pixels yet).

    Pids already in `taken_pids` (other domains) are avoided, so identities are disjoint by pid too.
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
    candidates = np.arange(1, max(layout.pid_range, len(taken_pids) + int(total * 1.2)) + 1)
    pids = rng.choice(np.setdiff1d(candidates, np.fromiter(taken_pids, dtype=np.int64)), size=total, replace=False)
    taken_pids.update(int(p) for p in pids)
    pid_lists = {"train": sorted(pids[:n]), "test": sorted(pids[n: 2 * n]), "gallery_only": sorted(pids[2 * n:])}
    identities = {
        group: {int(pid): person for pid, person in zip(pid_lists[group], people[group])} for group in people
    }
    namer = _Namer(name, len(style.daylight), rng)
    dirs = dict(zip(("train", "query", "gallery"), layout.split_dirs))
    shots: list[Shot] = []

    def add(split: str, pid: int, cam: int, kind: str, key: tuple[int, ...], ident: Identity | None) -> None:
        file, session = namer(pid, cam)
        listed = "val" if split == "train" and layout.val and rng.random() < layout.val else split
        shots.append(Shot(f"{layout.folder}/{dirs[split]}/{file}", split, pid, cam, kind, name,
                          (seed, domain_index, KIND_CODES[kind], *key), ident, session, listed))

    cameras = list(range(1, style.cameras + 1))
    for pid, ident in identities["train"].items():
        cams = sorted(int(c) for c in rng.choice(cameras, _camera_count(rng, style.cameras), replace=False))
        count = int(rng.integers(scale.train_images[0], scale.train_images[1] + 1))
        for i, cam in enumerate(_spread(rng, max(count, len(cams)), cams)):
            add("train", pid, cam, "person", (pid, i), ident)
    for pid, ident in identities["test"].items():
        cams = [int(c) for c in rng.choice(cameras, _camera_count(rng, style.cameras), replace=False)]
        query_cams = sorted(cams[: scale.query_cameras])
        count = int(rng.integers(scale.gallery_images[0], scale.gallery_images[1] + 1))
        for i, cam in enumerate(query_cams):
            add("query", pid, cam, "person", (pid, i), ident)
        for i, cam in enumerate(_spread(rng, max(count, len(cams)), sorted(cams))):
            add("gallery", pid, cam, "person", (pid, len(query_cams) + i), ident)
    for pid, ident in identities["gallery_only"].items():
        for i in range(int(rng.integers(1, 4))):
            add("gallery", pid, int(rng.choice(cameras)), "person", (pid, i), ident)
    gallery_size = sum(s.split == "gallery" for s in shots)
    n_distractors = round(gallery_size * layout.distractors)
    distractors = pool.draw(n_distractors, style.season)
    for i, person in enumerate(distractors):
        add("gallery", 0, int(rng.choice(cameras)), "distractor", (i,), person)
    for i in range(round(gallery_size * layout.junk)):
        add("gallery", -1, int(rng.choice(cameras)), "junk", (i,), None)
    identities["distractor"] = {i: person for i, person in enumerate(distractors)}
    return DomainPlan(name, layout, style, identities, shots)


# --- rendering -------------------------------------------------------------------------------

_WORKER: dict = {}


def _init_worker(out: str, seed: int, names: tuple[str, ...]) -> None:
    _WORKER.update(out=out, seed=seed, names=names, cams={})


def _render(shot: Shot) -> str:
    """Render one shot and write it as a JPEG with fixed encoder settings (worker side)."""
    name = shot.domain
    index = _WORKER["names"].index(name)
    cams = _WORKER["cams"].get(name)
    if cams is None:
        cams = _WORKER["cams"][name] = camera_styles(DOMAINS[name], _WORKER["seed"], index)
    style = DOMAINS[name]
    rng = np.random.default_rng(np.random.SeedSequence(list(shot.key)))
    img = render_image(shot.identity, style, cams[shot.camera - 1], _WORKER["seed"], index, rng, shot.kind, shot.session)
    img.save(os.path.join(_WORKER["out"], shot.path), "JPEG", quality=style.jpeg_quality, **JPEG_SETTINGS)
    return shot.path


def _render_all(out: Path, seed: int, shots: list[Shot], workers: int,
                progress: Callable[[int, int], None] | None) -> None:
    args = (str(out), seed, tuple(LAYOUTS))
    total = len(shots)
    if workers <= 1 or total < 64:
        _init_worker(*args)
        for done, shot in enumerate(shots, 1):
            _render(shot)
            if progress:
                progress(done, total)
        return
    import multiprocessing

    with multiprocessing.get_context().Pool(workers, initializer=_init_worker, initargs=args) as pool:
        for done, _ in enumerate(pool.imap_unordered(_render, shots, chunksize=16), 1):
            if progress:
                progress(done, total)


# --- output folder and manifest --------------------------------------------------------------


def split_counts(shots: list[Shot]) -> dict[str, dict[str, int]]:
    """Per split ids / images / cameras exactly as the readers count them (junk dropped, pid 0 kept)."""
    counts = {}
    for split in ("train", "query", "gallery"):
        kept = [s for s in shots if s.split == split and s.pid != -1]
        counts[split] = {
            "ids": len({s.pid for s in kept}),
            "images": len(kept),
            "cameras": len({s.camera for s in kept}),
        }
    return counts


def _owned_entries() -> set[str]:
    return {layout.folder for layout in LAYOUTS.values()} | {MANIFEST, IDENTITIES_FILE, IN_PROGRESS}


def read_manifest(out: Path) -> dict | None:
    """The manifest of a complete synth output in `out`, or None."""
    try:
        data = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("generator") == GENERATOR else None


def prepare_output(out: Path, force: bool) -> None:
    """Make `out` ready: create it, or clear a previous synth output when `force` is set.

    A folder with anything raereid synth did not write is never touched.
    """
    if out.exists() and not out.is_dir():
        raise RaeReidError("output path exists and is not a folder", where=out, fix="pass --out a new or empty folder")
    entries = sorted(os.listdir(out)) if out.is_dir() else []
    if not entries:
        out.mkdir(parents=True, exist_ok=True)
        return
    complete = read_manifest(out) is not None
    partial = (out / IN_PROGRESS).exists()
    if not complete and not partial:
        raise RaeReidError(
            "output folder is not empty and is not a raereid synth output",
            where=out,
            fix="pass --out a new or empty folder (raereid synth never deletes files it did not write)",
        )
    foreign = [e for e in entries if e not in _owned_entries()]
    if foreign:
        raise RaeReidError(
            f"output folder holds files raereid synth did not write: {', '.join(foreign[:5])}",
            where=out,
            fix="move them elsewhere or pass --out a new folder",
        )
    if not force:
        state = "an incomplete synthetic benchmark (an interrupted run)" if partial else "a synthetic benchmark"
        raise RaeReidError(
            f"output folder already holds {state}",
            where=out,
            fix="rerun with --force to overwrite it, or pass --out a new folder",
        )
    for entry in entries:
        path = out / entry
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()


def _write_json(path: Path, data: dict) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def generate(
    out: str | Path,
    seed: int = 0,
    scale: str = "small",
    domains: tuple[str, ...] | list[str] = DEFAULT_DOMAINS,
    force: bool = False,
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> dict:
    """Write the procedural benchmark to `out` and return its manifest (also saved as synth.json).

    Same seed, scale and domains give byte-identical files whatever the number of workers.
    """
    if scale not in SCALES:
        raise RaeReidError(f"unknown scale {scale!r}", fix=f"use one of {', '.join(SCALES)}")
    unknown = [d for d in domains if d not in LAYOUTS]
    if unknown or not domains:
        raise RaeReidError(f"unknown domain(s) {', '.join(unknown) or '(none)'}", fix=f"choose from {', '.join(LAYOUTS)}")
    if seed < 0:
        raise RaeReidError(f"seed must be >= 0, got {seed}", fix="pass --seed 0 or another non-negative integer")
    out = Path(out).expanduser()
    prepare_output(out, force)
    (out / IN_PROGRESS).write_text(json.dumps({"seed": seed, "scale": scale}) + "\n", encoding="utf-8")
    pool, taken_pids = IdentityPool(seed), set()
    plans = {}
    for index, name in enumerate(LAYOUTS):  # all domains are planned: one domain's data never depends on the others chosen
        plan = plan_domain(name, index, seed, SCALES[scale], pool, taken_pids)
        if name in domains:
            plans[name] = plan
    shots = [shot for plan in plans.values() for shot in plan.shots]
    for folder in sorted({Path(shot.path).parent for shot in shots}):
        (out / folder).mkdir(parents=True, exist_ok=True)
    _render_all(out, seed, shots, workers if workers is not None else (os.cpu_count() or 1), progress)
    for plan in plans.values():
        if plan.layout.val:
            write_msmt_lists(out, plan)
    manifest = build_manifest(plans, seed, scale)
    _write_json(out / IDENTITIES_FILE, identities_table(plans))
    _write_json(out / MANIFEST, manifest)
    (out / IN_PROGRESS).unlink()
    return manifest


def write_msmt_lists(out: Path, plan: DomainPlan) -> None:
    """MSMT17's list_{train,val,query,gallery}.txt: `pid_folder/file.jpg pid` per line, sorted."""
    root = out / plan.layout.folder
    for listed in ("train", "val", "query", "gallery"):
        lines = sorted(
            f"{'/'.join(Path(shot.path).parts[2:])} {shot.pid}" for shot in plan.shots if shot.listed_as == listed
        )
        (root / f"list_{listed}.txt").write_text("".join(line + "\n" for line in lines), encoding="utf-8")


def build_manifest(plans: dict[str, DomainPlan], seed: int, scale: str) -> dict:
    """The manifest: counts as `raereid datasets --json` reports them, plus the style of every domain."""
    details, styles = {}, {}
    for name, plan in plans.items():
        index = list(LAYOUTS).index(name)
        gallery = [s for s in plan.shots if s.split == "gallery"]
        details[name] = {
            "folder": plan.layout.folder,
            "train_ids": len(plan.identities["train"]),
            "test_ids": len(plan.identities["test"]),
            "gallery_only_ids": len(plan.identities["gallery_only"]),
            "distractor_images_pid0": sum(s.pid == 0 for s in gallery),
            "junk_images_pid-1": sum(s.pid == -1 for s in gallery),
            "files": len(plan.shots),
        }
        styles[name] = {
            **plan.style.as_dict(),
            "camera_styles": [c.as_dict() for c in camera_styles(plan.style, seed, index)],
        }
    return {
        "generator": GENERATOR,
        "generator_version": GENERATOR_VERSION,
        "raereid_version": __version__,
        "seed": seed,
        "scale": scale,
        "domains": list(plans),
        "datasets": {name: split_counts(plan.shots) for name, plan in plans.items()},
        "details": details,
        "styles": styles,
        "identities_file": IDENTITIES_FILE,
    }


def identities_table(plans: dict[str, DomainPlan]) -> dict:
    """Every identity's attributes per domain and group (train / test / gallery_only / distractor)."""
    return {
        "attributes": list(ATTRIBUTES),
        "domains": {
            name: {
                group: {str(pid): list(person.key()) for pid, person in people.items()}
                for group, people in plan.identities.items()
            }
            for name, plan in plans.items()
        },
    }
