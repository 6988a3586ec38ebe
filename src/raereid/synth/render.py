"""Composing one pedestrian image: an identity seen by one camera, with per-image pose and jitter.

The person is drawn with Pillow as simple shapes (`person`, from the parts in `parts`: head, hair,
hat, torso with a clothing pattern, arms, legs, shoes, bag) over a crop of the camera's background
(`scenes`), with a ground shadow and sometimes an occluder; pose (viewpoint, walking phase, arm swing),
scale and position change per image; then the camera's light and the domain's imaging chain
(`imaging`) are applied. An image of a tracklet (`tracklets`) takes its walking direction, background
window and exposure from the tracklet, at its time in it; other images draw them alone.
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image

from raereid.synth import identities as ids
from raereid.synth.body import Placement
from raereid.synth.imaging import crop_size, finish, light, render_height
from raereid.synth.person import draw_person
from raereid.synth.scenes import background, scene
from raereid.synth.styles import CameraStyle, DomainStyle
from raereid.synth.tracklets import TURN, VIEWS, Tracklet, window


def _over(img: np.ndarray, rgb: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Alpha-composite a drawn layer over the image, only inside the layer's bounding rows."""
    rows = np.flatnonzero(alpha.any(axis=1))
    if rows.size == 0:
        return img
    r0, r1 = rows[0], rows[-1] + 1
    a = alpha[r0:r1, :, None]
    img[r0:r1] = img[r0:r1] * (1.0 - a) + rgb[r0:r1] * a
    return img


def _shadow(img: np.ndarray, cx: float, feet: float, height: float, strength: float) -> np.ndarray:
    """A soft ground shadow around the feet (strong in sun, faint under overcast skies)."""
    h, w, _ = img.shape
    r0, r1 = max(0, int(feet - 0.1 * height)), min(h, int(feet + 0.1 * height) + 1)
    if r0 >= r1:
        return img
    ys = ((np.arange(r0, r1, dtype=np.float32) - feet) / (0.035 * height))[:, None]
    xs = ((np.arange(w, dtype=np.float32) - cx - 0.06 * height) / (0.2 * height))[None, :]
    img[r0:r1] *= (1.0 - strength * np.exp(-(xs**2 + ys**2)))[..., None]
    return img


def _place(rng: np.random.Generator, camera: CameraStyle, size: tuple[int, int], kind: str,
           track: Tracklet | None = None) -> Placement:
    """Per-image pose and framing: a detector box around the person, looser or cut off for distractors; the
    tracklet's walking direction except when the person turns (TURN)."""
    w, h = size
    if track is None or rng.random() < TURN:
        view = VIEWS[int(rng.choice(4, p=np.asarray(camera.views) / sum(camera.views)))]
    else:
        view = track.view
    swing = 0.15 if rng.random() < 0.15 else rng.uniform(0.4, 1.0)
    height = h * rng.uniform(0.84, 0.95) * camera.squash
    feet = h * rng.uniform(0.965, 0.995)
    cx = w / 2 + rng.normal(0, 0.04 * w)
    if kind == "distractor":  # a poor detection: the box cuts the person or holds too much background
        if rng.random() < 0.6:
            height = h * rng.uniform(1.3, 1.9)
            feet = h * rng.uniform(1.0, 1.6) if rng.random() < 0.6 else height * rng.uniform(0.7, 0.95)
            cx = w / 2 + rng.uniform(-0.35, 0.35) * w
        else:
            height = h * rng.uniform(0.45, 0.62)
            cx = w * rng.uniform(0.3, 0.7)
    return Placement(view, float(cx), float(feet), float(height), float(rng.uniform(0, 2 * math.pi)),
                     float(swing), float(rng.uniform(-1, 1)))


def _occlude(img: np.ndarray, rng: np.random.Generator, season: str) -> np.ndarray:
    """Something between camera and person: a passer-by, a pole, or a low object (bench, bin, bike)."""
    h, w, _ = img.shape
    kind = rng.choice(3, p=(0.5, 0.2, 0.3))
    if kind == 0:
        other = ids.passer_by(rng, season)
        side = 1 if rng.random() < 0.5 else -1
        place = Placement(VIEWS[int(rng.integers(4))], w / 2 + side * w * rng.uniform(0.55, 0.8),
                          h * rng.uniform(1.0, 1.1), h * rng.uniform(0.95, 1.15), rng.uniform(0, 2 * math.pi), 0.7, 0.0)
        rgb, alpha = draw_person(other, place, (w, h))
        return _over(img, rgb, alpha)
    out = img.copy()
    colour = rng.uniform(30, 200, 3).astype(np.float32)
    if kind == 1:
        x = int(rng.uniform(0.05, 0.85) * w)
        out[:, x: x + max(3, int(w * rng.uniform(0.06, 0.12)))] = colour
    else:
        top = int(h * rng.uniform(0.62, 0.82))
        x0, x1 = sorted(int(v) for v in rng.uniform(-0.3, 1.3, 2) * w)
        out[top:, max(0, x0): max(0, min(w, max(x1, x0 + w // 2)))] = colour
        out[top: top + max(2, h // 40)] = np.minimum(out[top: top + max(2, h // 40)], colour * 0.7)
    return out


def render_image(
    ident: ids.Identity | None,
    domain: DomainStyle,
    camera: CameraStyle,
    seed: int,
    domain_index: int,
    rng: np.random.Generator,
    kind: str = "person",
    session: int = 0,
    track: Tracklet | None = None,
    time: float = 0.0,
) -> Image.Image:
    """One crop as the domain's camera records it: background, person, occluder, light, imaging chain.

    `kind` is "person" (a well-framed box of `ident`), "distractor" (a poorly framed box) or
    "junk" (background or a fragment of someone; Market-1501's pid -1); `session` indexes the
    domain's daylight conditions (time of day); `track` is the person's tracklet in this camera and
    `time` the image's seconds in it (None: everything drawn for this image alone).
    """
    out_w, out_h = crop_size(domain, rng)
    rh = render_height(out_h)
    size = (max(16, round(rh * out_w / out_h)), rh)
    box = window(track, time, size, rng) if track is not None else None
    img = background(scene(domain, seed, domain_index, camera), size, rng, box)
    if kind == "junk":
        if rng.random() < 0.5:
            frag = Placement(VIEWS[int(rng.integers(4))], size[0] * rng.uniform(0.0, 1.0),
                             size[1] * rng.uniform(1.2, 2.2), size[1] * rng.uniform(1.8, 2.8),
                             rng.uniform(0, 2 * math.pi), 0.7, 0.0)
            img = _over(img, *draw_person(ids.passer_by(rng, domain.season), frag, size))
    else:
        place = _place(rng, camera, size, kind, track)
        person = ident if ident is not None else ids.passer_by(rng, domain.season)
        img = _shadow(img, place.cx, place.feet, place.height, domain.shadow)
        img = _over(img, *draw_person(person, place, size))
        if rng.random() < domain.occlusion:
            img = _occlude(img, rng, domain.season)
    img = light(img, camera, rng, domain.daylight[session][1:], None if track is None else (track.gain, track.tint))
    return finish(img, domain, (out_w, out_h), rng)
