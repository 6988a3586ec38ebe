"""The imaging chain: camera exposure and white balance, resolution loss, colour cast, tone curve, blur, noise.

These low-level differences between camera networks are most of what a model trained on one domain
has to cope with on another; every setting comes from the domain's `DomainStyle`.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
from PIL import Image, ImageFilter

from raereid.synth.styles import CameraStyle, DomainStyle

MIN_RENDER, MAX_RENDER = 160, 288  # people are drawn ~1.1x the crop height (at least 160 px), then resized

def light(
    img: np.ndarray, camera: CameraStyle, rng: np.random.Generator, daylight: tuple[float, float] = (1.0, 0.0),
    drift: tuple[float, tuple[float, float, float]] | None = None,
) -> np.ndarray:
    """Camera exposure and white balance, a side-light gradient, exposure jitter, and the session's daylight
    (gain, warmth) for outdoor cameras. The jitter is the image's own, or a tracklet's `drift` (gain, tint:
    what the camera's automatic exposure and white balance were during the walk) with a little of the image's."""
    w = img.shape[1]
    ramp = 1.0 + camera.gradient * np.linspace(-1, 1, w, dtype=np.float32)
    if drift is None:
        gain = camera.gain * rng.uniform(0.9, 1.1)
        jitter = 1 + rng.uniform(-0.02, 0.02, 3)
    else:
        gain = camera.gain * drift[0] * rng.uniform(0.98, 1.02)
        jitter = np.asarray(drift[1]) * (1 + rng.uniform(-0.005, 0.005, 3))
    tint = np.asarray(camera.tint, dtype=np.float32) * jitter.astype(np.float32)
    if not camera.indoor:
        gain *= daylight[0]
        tint = tint * np.asarray([1 + daylight[1], 1.0, 1 - daylight[1]], dtype=np.float32)
    return img * (gain * ramp[:, None] * tint[None, :])[None]


@lru_cache(maxsize=16)
def _colour_matrix(domain: DomainStyle) -> tuple[float, ...]:
    """White-balance cast followed by saturation, as the 12-tuple `Image.convert` applies to RGB."""
    luma = np.asarray([0.299, 0.587, 0.114])
    sat = domain.saturation * np.eye(3) + (1 - domain.saturation) * np.outer(np.ones(3), luma)
    m = sat @ np.diag(domain.colour_cast)
    return tuple(float(v) for row in m for v in (*row, 0.0))


@lru_cache(maxsize=16)
def _tone_curve(domain: DomainStyle) -> np.ndarray:
    """Gamma, contrast and brightness as a 256-entry lookup table (float, 0..255)."""
    x = np.linspace(0.0, 1.0, 256) ** domain.gamma
    x = (x - 0.5) * domain.contrast + 0.5 + domain.brightness
    return (np.clip(x, 0.0, 1.0) * 255.0).astype(np.float32)


def box_radius(sigma: float) -> float:
    """Radius of the box blur with the variance of a Gaussian of `sigma` (much faster in Pillow)."""
    return (math.sqrt(12.0 * sigma * sigma + 1.0) - 1.0) / 2.0


@lru_cache(maxsize=1)
def _noise_bank() -> np.ndarray:
    """Fixed standard-normal samples; each image reads a random window (drawing fresh normals per
    pixel would cost more than rendering the person)."""
    return np.random.default_rng(0x4E015E).standard_normal(1 << 20, dtype=np.float32)


def _noise(rng: np.random.Generator, n: int) -> np.ndarray:
    bank = _noise_bank()
    start = int(rng.integers(0, bank.size - n))
    return bank[start: start + n] * (1.0 if rng.random() < 0.5 else -1.0)


def finish(img: np.ndarray, domain: DomainStyle, out_size: tuple[int, int], rng: np.random.Generator) -> Image.Image:
    """The domain's imaging chain on a lit render: resize with resolution loss, colour cast, saturation,
    tone curve, blur and sensor noise; returns the 8-bit crop of size (width, height)."""
    pil = Image.fromarray(np.clip(img + 0.5, 0, 255).astype(np.uint8))
    w, h = out_size
    low = (max(4, round(w * domain.resolution)), max(8, round(h * domain.resolution)))
    pil = pil.resize(low, Image.BOX if low[1] < pil.height else Image.BILINEAR).resize((w, h), Image.BILINEAR)
    pil = pil.convert("RGB", _colour_matrix(domain))
    if domain.blur > 0:
        pil = pil.filter(ImageFilter.BoxBlur(box_radius(domain.blur)))
    noise = _noise(rng, h * w * 4).reshape(h, w, 4) * domain.noise
    out = _tone_curve(domain)[np.asarray(pil)] + 0.6 * noise[..., :1] + 0.8 * noise[..., 1:]
    return Image.fromarray(np.clip(out + 0.5, 0, 255).astype(np.uint8))


def render_height(out_height: int) -> int:
    """Canvas height for a crop: enough supersampling for clean edges, no more (speed)."""
    return int(np.clip(round(1.1 * out_height), MIN_RENDER, MAX_RENDER))


def crop_size(domain: DomainStyle, rng: np.random.Generator) -> tuple[int, int]:
    """(width, height) of one crop: fixed for Market-like domains, varying for Duke-like ones."""
    h = int(rng.integers(domain.height[0], domain.height[1] + 1))
    aspect = rng.uniform(*domain.aspect) if domain.aspect[0] != domain.aspect[1] else domain.aspect[0]
    return max(16, round(h / aspect)), h
