"""Tracklets: what the images of one person in one camera share, because they are frames of one walk past it.

A real re-ID dataset cuts a person's images in a camera from one track: the person walks one way, at one
distance from the camera, the stretch of scene behind them slides past as they walk, and the exposure hardly
changes in a few seconds. Drawn image by image instead (generator version 1: a random view and a random window
of the camera's panorama per image), a camera's images had the background, not the person, as their strongest
common factor, and the target clustered by camera and background (docs/synthetic-benchmark.md, "Tracklets").
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from raereid.synth.scenes import SCENE_HEIGHT, SCENE_WIDTH
from raereid.synth.styles import CameraStyle

VIEWS = ("front", "back", "left", "right")  # left / right: profiles facing the image's left / right
TURN = 0.1  # share of a tracklet's images in which the person faces another way (turning, stopping, looking back)
WALK = (0.6, 0.85)  # walking speed in person heights per second (about 1.0-1.5 m/s)
PERSON_IN_WINDOW = 0.89  # a person's height as a share of the background window's (render.Placement.height)


@dataclass(frozen=True)
class Tracklet:
    """One person's walk past one camera; every image of it is a frame `time` seconds after the first."""

    view: str  # walking direction as the camera sees it
    zoom: float  # background window height relative to the canvas (the person's distance)
    x: float  # window's left edge at time 0, as a share of the panorama's free width
    y: float  # window's top edge, as a share of the panorama's free height
    drift: float  # horizontal speed of the window, in window heights per second (signed)
    gain: float  # exposure of the camera during the walk
    tint: tuple[float, float, float]  # white-balance drift during the walk


def draw_tracklet(camera: CameraStyle, key: tuple[int, ...]) -> Tracklet:
    """The tracklet of RNG key `key` (plan.Shot.track) in `camera`: its own stream, so every image of it agrees."""
    rng = np.random.default_rng(np.random.SeedSequence(list(key)))
    view = VIEWS[int(rng.choice(4, p=np.asarray(camera.views) / sum(camera.views)))]
    zoom, x, y = rng.uniform(0.95, 1.2), rng.uniform(0, 1), rng.uniform(0, 1)
    lateral = {"left": -1.0, "right": 1.0}.get(view, float(rng.uniform(-0.25, 0.25)))  # along the view axis: little
    drift = lateral * rng.uniform(*WALK) * PERSON_IN_WINDOW
    tint = tuple(float(t) for t in 1 + rng.uniform(-0.02, 0.02, 3))
    return Tracklet(view, float(zoom), float(x), float(y), float(drift), float(rng.uniform(0.9, 1.1)), tint)


def window(track: Tracklet, time: float, size: tuple[int, int], rng: np.random.Generator) -> tuple[int, int, int, int]:
    """The panorama window (x0, y0, width, height) behind the person at `time`: the tracklet's, slid along the
    walk (reflected at the panorama's ends), with a pixel or two of detector jitter."""
    w, h = size
    ch = min(SCENE_HEIGHT, int(h * track.zoom * rng.uniform(0.98, 1.02)))
    cw = max(8, int(ch * w / h))
    span_x, span_y = SCENE_WIDTH - cw, SCENE_HEIGHT - ch
    x = track.x * span_x + time * track.drift * ch + rng.normal(0, 2)
    x0 = int(round(abs((x / span_x + 1) % 2 - 1) * span_x)) if span_x > 0 else 0
    y0 = int(np.clip(round(track.y * span_y + rng.normal(0, 2)), 0, span_y))
    return x0, y0, cw, ch
