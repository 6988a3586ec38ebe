"""Tracklets in the procedural benchmark: a person's images in one camera are frames of one walk past it."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest

from raereid.cli.main import main
from raereid.synth import generate
from raereid.synth.identities import IdentityPool
from raereid.synth.layouts import LAYOUTS, SCALES
from raereid.synth.plan import TRACK_CODE, plan_domain
from raereid.synth.scenes import SCENE_WIDTH, background, scene
from raereid.synth.styles import DOMAINS, camera_styles
from raereid.synth.tracklets import Tracklet, draw_tracklet, window


def _plans(tracklets: bool) -> dict:
    pool, taken = IdentityPool(0), set()
    return {n: plan_domain(n, i, 0, SCALES["tiny"], pool, taken, tracklets) for i, n in enumerate(LAYOUTS)}


def test_person_images_of_one_camera_share_a_tracklet_and_the_file_names_do_not_change():
    with_tracks, without = _plans(True), _plans(False)
    for name, plan in with_tracks.items():
        index = list(LAYOUTS).index(name)
        assert [s.path for s in plan.shots] == [s.path for s in without[name].shots]
        assert all(s.track is None and s.time == 0.0 for s in without[name].shots)
        times = defaultdict(list)
        for shot in plan.shots:
            if shot.kind != "person":
                assert shot.track is None  # junk and distractors are no tracklet
                continue
            assert shot.track == (0, index, TRACK_CODE, shot.pid, shot.camera)
            times[shot.track].append(shot.time)
        for seconds in times.values():
            assert seconds[0] == 0.0 and seconds == sorted(seconds) and seconds[-1] < 30


def _track(drift: float, x: float = 0.5) -> Tracklet:
    return Tracklet("right" if drift > 0 else "front", 1.05, x, 0.5, drift, 1.0, (1.0, 1.0, 1.0))


def test_the_background_window_slides_with_the_walk_and_stays_in_the_panorama():
    size = (80, 160)
    rng = np.random.default_rng(0)
    still = {window(_track(0.0), t, size, rng)[0] for t in (0.0, 0.5, 1.0)}
    assert max(still) - min(still) <= 12  # detector jitter only
    walking = [window(_track(0.6, x=0.2), t, size, rng)[0] for t in (0.0, 0.4, 0.8)]
    assert walking[0] < walking[1] < walking[2]
    for t in np.linspace(0, 60, 50):
        x0, y0, cw, ch = window(_track(0.7), float(t), size, rng)
        assert 0 <= x0 <= SCENE_WIDTH - cw and y0 >= 0


def test_images_of_one_tracklet_show_more_alike_backgrounds_than_other_tracklets():
    style = DOMAINS["market1501"]
    camera = camera_styles(style, 0, 0)[0]
    panorama, size = scene(style, 0, 0, camera), (80, 160)
    same, other = [], []
    for pid in range(1, 21):
        rng = np.random.default_rng(pid)
        first = draw_tracklet(camera, (0, 0, TRACK_CODE, pid, 1))
        second = draw_tracklet(camera, (0, 0, TRACK_CODE, pid + 50, 1))
        a = background(panorama, size, rng, window(first, 0.0, size, rng))
        same.append(np.abs(a - background(panorama, size, rng, window(first, 0.3, size, rng))).mean())
        other.append(np.abs(a - background(panorama, size, rng, window(second, 0.3, size, rng))).mean())
    assert np.mean(same) < 0.6 * np.mean(other)


def test_tracklets_write_generator_version_2_and_change_only_the_person_images(tmp_path: Path,
                                                                              capsys: pytest.CaptureFixture):
    old, new = tmp_path / "independent", tmp_path / "tracklets"
    assert main(["synth", "--out", str(new), "--scale", "tiny", "--domains", "market", "--quiet", "--tracklets"]) == 0
    capsys.readouterr()
    manifest = json.loads((new / "synth.json").read_text())
    assert manifest["generator_version"] == 2 and manifest["shots"] == "tracklets"
    again = generate(old, seed=0, scale="tiny", domains=["market1501"], workers=1)
    assert again["generator_version"] == 1 and again["shots"] == "independent"
    images = sorted(p.relative_to(old) for p in old.rglob("*.jpg"))
    assert images == sorted(p.relative_to(new) for p in new.rglob("*.jpg"))
    changed = sum((old / p).read_bytes() != (new / p).read_bytes() for p in images)
    junk = sum(p.name.startswith("-1_") for p in images)
    assert changed >= len(images) - junk - sum(p.name.startswith("0000_") for p in images)
