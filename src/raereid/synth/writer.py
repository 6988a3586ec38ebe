"""Writing the benchmark: the output folder, parallel rendering of the planned images, lists and manifest.

`generate(out, seed, scale, domains)` plans every image in the parent process (`plan`: identities,
pids, cameras, file names and one RNG key per image), renders them in a process pool (each image's
RNG comes from its key, so the bytes do not depend on which worker renders it), and writes
`synth.json` last: a folder without it is an interrupted run.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np

from raereid.atomic import write_json
from raereid.errors import RaeReidError
from raereid.synth.identities import IdentityPool
from raereid.synth.layouts import DEFAULT_DOMAINS, LAYOUTS, SCALES
from raereid.synth.manifest import (
    IDENTITIES_FILE,
    MANIFEST,
    build_manifest,
    identities_table,
    read_manifest,
)
from raereid.synth.plan import DomainPlan, Shot, plan_domain, plan_validation
from raereid.synth.render import render_image
from raereid.synth.styles import DOMAINS, camera_styles
from raereid.synth.tracklets import draw_tracklet

IN_PROGRESS = ".synth-in-progress"
JPEG_SETTINGS = {"subsampling": 2, "optimize": False, "progressive": False}
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
    camera = cams[shot.camera - 1]
    track = draw_tracklet(camera, shot.track) if shot.track is not None else None
    img = render_image(shot.identity, style, camera, _WORKER["seed"], index, rng, shot.kind, shot.session, track,
                       shot.time)
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


def _owned_entries() -> set[str]:
    return {layout.folder for layout in LAYOUTS.values()} | {MANIFEST, IDENTITIES_FILE, IN_PROGRESS}


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


def generate(
    out: str | Path,
    seed: int = 0,
    scale: str = "small",
    domains: tuple[str, ...] | list[str] = DEFAULT_DOMAINS,
    force: bool = False,
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    tracklets: bool = False,
) -> dict:
    """Write the procedural benchmark to `out` and return its manifest (also saved as synth.json).

    Same seed, scale and domains give byte-identical files whatever the number of workers. With `tracklets`
    (generator version 2), a person's images in one camera are frames of one walk (`synth.tracklets`);
    without (the default, generator version 1), every image is drawn alone.
    """
    if scale not in SCALES:
        raise RaeReidError(f"unknown scale {scale!r}", fix=f"use one of {', '.join(SCALES)}")
    unknown = [d for d in domains if d not in LAYOUTS]
    if unknown or not domains:
        raise RaeReidError(f"unknown domain(s) {', '.join(unknown) or '(none)'}",
                           fix=f"choose from {', '.join(LAYOUTS)}")
    if seed < 0:
        raise RaeReidError(f"seed must be >= 0, got {seed}", fix="pass --seed 0 or another non-negative integer")
    out = Path(out).expanduser()
    prepare_output(out, force)
    (out / IN_PROGRESS).write_text(json.dumps({"seed": seed, "scale": scale}) + "\n", encoding="utf-8")
    pool, taken_pids = IdentityPool(seed), set()
    # all domains are planned: one domain's data never depends on the others chosen; the validation
    # splits come after every main plan, so the training and test files do not depend on them
    planned = {name: plan_domain(name, i, seed, SCALES[scale], pool, taken_pids, tracklets)
               for i, name in enumerate(LAYOUTS)}
    for index, plan in enumerate(planned.values()):
        plan_validation(plan, index, seed, SCALES[scale], pool, taken_pids, tracklets)
    plans = {name: plan for name, plan in planned.items() if name in domains}
    shots = [shot for plan in plans.values() for shot in plan.shots]
    for folder in sorted({Path(shot.path).parent for shot in shots}):
        (out / folder).mkdir(parents=True, exist_ok=True)
    _render_all(out, seed, shots, workers if workers is not None else (os.cpu_count() or 1), progress)
    for plan in plans.values():
        if plan.layout.train_val_share:
            write_msmt_lists(out, plan)
    manifest = build_manifest(plans, seed, scale, tracklets)
    write_json(out / IDENTITIES_FILE, identities_table(plans))
    write_json(out / MANIFEST, manifest)
    (out / IN_PROGRESS).unlink()
    return manifest


def write_msmt_lists(out: Path, plan: DomainPlan) -> None:
    """MSMT17's list_{train,val,query,gallery}.txt and the validation split's list_val_{query,gallery}.txt:
    `pid_folder/file.jpg pid` per line, sorted."""
    root = out / plan.layout.folder
    for listed in ("train", "val", "query", "gallery", "val_query", "val_gallery"):
        lines = sorted(
            f"{'/'.join(Path(shot.path).parts[2:])} {shot.pid}" for shot in plan.shots if shot.listed_as == listed
        )
        (root / f"list_{listed}.txt").write_text("".join(line + "\n" for line in lines), encoding="utf-8")

