"""Background painting: one panorama per camera (buildings, trees, parked cars and bikes, paving, halls).

Each domain has a scene family (summer campus, winter campus, plaza, indoor hall); a camera's panorama
is drawn once from its seed and every image of that camera crops a random window of it.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from raereid.synth.imaging import box_radius
from raereid.synth.styles import CameraStyle, DomainStyle

SCENE_HEIGHT, SCENE_WIDTH = 320, 512  # one background panorama per camera, crops are taken from it
_NOTICE_COLOURS = ((60, 90, 150), (160, 60, 50), (70, 120, 80), (200, 180, 90))  # notice boards in halls

def smooth_noise(rng: np.random.Generator, h: int, w: int, cells: tuple[int, int]) -> np.ndarray:
    """Low-frequency noise in [-1, 1] (bicubic upsampling of a coarse random grid)."""
    grid = rng.uniform(-1, 1, size=cells).astype(np.float32)
    return np.asarray(Image.fromarray(grid).resize((w, h), Image.BICUBIC), dtype=np.float32)


def _jitter(rng: np.random.Generator, rgb: tuple[int, int, int], amount: float = 12) -> tuple[int, int, int]:
    return tuple(int(np.clip(v + rng.uniform(-amount, amount), 0, 255)) for v in rgb)  # type: ignore[return-value]


def _windows(draw: ImageDraw.ImageDraw, rng: np.random.Generator, x0: int, x1: int, y0: int, y1: int) -> None:
    glass = _jitter(rng, (80, 96, 112), 18)
    ww, wh = int(rng.integers(26, 48)), int(rng.integers(30, 56))
    gap_x, gap_y = int(rng.integers(18, 40)), int(rng.integers(20, 36))
    for y in range(y0 + gap_y // 2, y1 - wh, wh + gap_y):
        for x in range(x0 + int(rng.integers(0, gap_x)), x1 - ww, ww + gap_x):
            draw.rectangle([x, y, x + ww, y + wh], fill=_jitter(rng, glass, 10))
            draw.line([x, y + wh // 2, x + ww, y + wh // 2], fill=(200, 200, 196), width=2)


def _trees(draw: ImageDraw.ImageDraw, rng: np.random.Generator, horizon: int, leafy: bool) -> None:
    for _ in range(int(rng.integers(4, 9))):
        x = int(rng.integers(0, SCENE_WIDTH))
        top = int(rng.integers(-40, max(1, horizon - 120)))
        trunk = (int(rng.integers(60, 90)), int(rng.integers(45, 65)), int(rng.integers(35, 50)))
        draw.rectangle([x - 5, top + 60, x + 5, horizon + 4], fill=trunk)
        if leafy:
            for _ in range(int(rng.integers(5, 10))):
                cx, cy = x + rng.normal(0, 40), top + 50 + rng.normal(0, 30)
                r = rng.uniform(25, 55)
                green = (int(rng.integers(40, 90)), int(rng.integers(95, 150)), int(rng.integers(35, 75)))
                draw.ellipse([cx - r, cy - r * 0.8, cx + r, cy + r * 0.8], fill=green)
        else:
            _branch(draw, rng, x, top + 80, -math.pi / 2, 70.0, 6, trunk)


def _branch(draw: ImageDraw.ImageDraw, rng: np.random.Generator, x: float, y: float, angle: float, length: float,
            width: float, colour: tuple[int, int, int]) -> None:
    if width < 1 or length < 8:
        return
    x2, y2 = x + length * math.cos(angle), y + length * math.sin(angle)
    draw.line([x, y, x2, y2], fill=colour, width=int(width))
    for turn in (-0.5, 0.45):
        _branch(draw, rng, x2, y2, angle + turn + rng.normal(0, 0.15), length * rng.uniform(0.6, 0.75),
                width - 1.5, colour)


def _bikes(draw: ImageDraw.ImageDraw, rng: np.random.Generator, ground_y: int) -> None:
    for _ in range(int(rng.integers(2, 7))):
        x, y = int(rng.integers(0, SCENE_WIDTH)), ground_y + int(rng.integers(-6, 16))
        colour = _jitter(rng, ((30, 30, 30), (150, 30, 30), (40, 60, 120), (120, 120, 120))[int(rng.integers(4))], 20)
        r = int(rng.integers(16, 22))
        for wx in (x - r - 4, x + r + 4):
            draw.ellipse([wx - r, y - r, wx + r, y + r], outline=(35, 35, 35), width=3)
        draw.line([x - r - 4, y, x, y - r, x + r + 4, y, x - r - 4, y], fill=colour, width=3)
        draw.line([x, y - r, x + 4, y - r - 12], fill=colour, width=3)


def _cars(draw: ImageDraw.ImageDraw, rng: np.random.Generator, ground_y: int) -> None:
    x = int(rng.integers(-120, 40))
    while x < SCENE_WIDTH:
        body = _jitter(rng, ((180, 182, 186), (30, 32, 36), (220, 220, 216), (40, 50, 80), (120, 30, 30),
                             (90, 92, 96))[int(rng.integers(6))], 10)
        length, hgt = int(rng.integers(170, 230)), int(rng.integers(46, 60))
        y = ground_y + int(rng.integers(-10, 10))
        draw.rounded_rectangle([x, y - hgt, x + length, y], radius=12, fill=body)
        draw.rounded_rectangle([x + 35, y - hgt - 32, x + length - 45, y - hgt + 4], radius=10, fill=body)
        draw.rectangle([x + 44, y - hgt - 26, x + length - 54, y - hgt], fill=(52, 58, 66))
        for wx in (x + 40, x + length - 40):
            draw.ellipse([wx - 17, y - 17, wx + 17, y + 17], fill=(22, 22, 24))
        x += length + int(rng.integers(10, 160))


def _paving(draw: ImageDraw.ImageDraw, rng: np.random.Generator, horizon: int, colour: tuple[int, int, int]) -> None:
    """Tiles in perspective: rows get wider towards the bottom, joints converge to a vanishing point."""
    line = tuple(max(0, v - 26) for v in colour)
    y, step = float(horizon), 6.0
    while y < SCENE_HEIGHT:
        draw.line([0, int(y), SCENE_WIDTH, int(y)], fill=line, width=1 + int(step > 20))
        y += step
        step *= 1.35
    vx = SCENE_WIDTH * rng.uniform(0.3, 0.7)
    for k in range(-20, 21):
        x = vx + k * rng.uniform(55, 70)
        draw.line([vx + (x - vx) * 0.1, horizon, x, SCENE_HEIGHT], fill=line, width=1)


def _scene_campus_summer(rng: np.random.Generator) -> Image.Image:
    horizon = int(SCENE_HEIGHT * rng.uniform(0.28, 0.5))
    img = Image.new("RGB", (SCENE_WIDTH, SCENE_HEIGHT))
    draw = ImageDraw.Draw(img)
    if rng.random() < 0.5:
        wall = _jitter(rng, ((214, 206, 190), (196, 192, 184), (222, 212, 192), (200, 160, 130))[int(rng.integers(4))])
        draw.rectangle([0, 0, SCENE_WIDTH, horizon], fill=wall)
        _windows(draw, rng, 0, SCENE_WIDTH, 0, horizon - 10)
    else:
        draw.rectangle([0, 0, SCENE_WIDTH, horizon], fill=_jitter(rng, (205, 215, 222)))
        _trees(draw, rng, horizon, leafy=True)
    draw.rectangle([0, horizon - 18, SCENE_WIDTH, horizon], fill=_jitter(rng, (52, 98, 48), 14))
    pave = _jitter(rng, (190, 184, 170), 14)
    draw.rectangle([0, horizon, SCENE_WIDTH, SCENE_HEIGHT], fill=pave)
    grass = rng.random() < 0.4
    if grass:
        draw.rectangle([0, horizon, SCENE_WIDTH, horizon + 26], fill=_jitter(rng, (86, 140, 60), 14))
    _paving(draw, rng, horizon + (26 if grass else 0), pave)
    _bikes(draw, rng, horizon + (30 if grass else 8))
    arr = np.asarray(img, dtype=np.float32)
    if rng.random() < 0.5:  # sunlit ground with the shadows of trees and buildings
        shade = smooth_noise(rng, SCENE_HEIGHT, SCENE_WIDTH, (8, 22))
        shadow = np.where(shade > 0.5, 0.72, 1.0).astype(np.float32)
        shadow[:horizon] = 1.0
        arr *= shadow[..., None]
    return _finish_scene(rng, arr, 10.0)


def _scene_campus_winter(rng: np.random.Generator) -> Image.Image:
    horizon = int(SCENE_HEIGHT * rng.uniform(0.3, 0.52))
    img = Image.new("RGB", (SCENE_WIDTH, SCENE_HEIGHT))
    draw = ImageDraw.Draw(img)
    kind = rng.choice(3)
    if kind == 0:  # brick
        brick = _jitter(rng, (132, 70, 54), 16)
        draw.rectangle([0, 0, SCENE_WIDTH, horizon], fill=(150, 140, 128))
        for row, y in enumerate(range(0, horizon, 14)):
            for x in range(-((row % 2) * 20), SCENE_WIDTH, 40):
                draw.rectangle([x + 1, y + 1, x + 38, y + 12], fill=_jitter(rng, brick, 12))
        _windows(draw, rng, 0, SCENE_WIDTH, 0, horizon - 20)
    elif kind == 1:  # stone
        stone = _jitter(rng, (150, 136, 112), 12)
        draw.rectangle([0, 0, SCENE_WIDTH, horizon], fill=stone)
        for y in range(0, horizon, 28):
            x = int(rng.integers(-40, 0))
            while x < SCENE_WIDTH:
                w = int(rng.integers(40, 90))
                draw.rectangle([x + 2, y + 2, x + w, y + 26], fill=_jitter(rng, stone, 14))
                x += w
    else:  # bare trees against an overcast sky
        draw.rectangle([0, 0, SCENE_WIDTH, horizon], fill=_jitter(rng, (186, 190, 196), 10))
        _trees(draw, rng, horizon, leafy=False)
    asphalt = _jitter(rng, (88, 88, 92), 12)
    draw.rectangle([0, horizon, SCENE_WIDTH, SCENE_HEIGHT], fill=asphalt)
    walk = _jitter(rng, (140, 138, 134), 10)
    draw.rectangle([0, horizon, SCENE_WIDTH, horizon + 22], fill=walk)
    if rng.random() < 0.6:
        _cars(draw, rng, horizon + 30)
    if rng.random() < 0.6:
        paint = (214, 204, 120) if rng.random() < 0.5 else (210, 210, 206)
        y = int(rng.integers(horizon + 70, SCENE_HEIGHT - 20))
        for x in range(int(rng.integers(-60, 0)), SCENE_WIDTH, 120):
            draw.polygon([(x, y), (x + 60, y), (x + 66, y + 8), (x + 6, y + 8)], fill=paint)
    arr = np.asarray(img, dtype=np.float32)
    return _finish_scene(rng, arr, 8.0)


def _finish_scene(rng: np.random.Generator, arr: np.ndarray, texture: float) -> Image.Image:
    """Add coarse texture and fine grain so flat fills look like surfaces, not paint."""
    grain = texture * smooth_noise(rng, SCENE_HEIGHT, SCENE_WIDTH, (16, 40))
    grain += 3.0 * rng.standard_normal(arr.shape[:2], dtype=np.float32)
    arr += grain[..., None]
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8)).filter(ImageFilter.BoxBlur(box_radius(0.8)))


def _scene_plaza(rng: np.random.Generator) -> Image.Image:
    """Outdoor campus plaza: glass or concrete buildings, evergreen shrubs, granite paving."""
    horizon = int(SCENE_HEIGHT * rng.uniform(0.3, 0.5))
    img = Image.new("RGB", (SCENE_WIDTH, SCENE_HEIGHT))
    draw = ImageDraw.Draw(img)
    if rng.random() < 0.5:  # glass curtain wall
        draw.rectangle([0, 0, SCENE_WIDTH, horizon], fill=_jitter(rng, (92, 112, 128), 14))
        step = int(rng.integers(30, 50))
        for x in range(int(rng.integers(0, step)), SCENE_WIDTH, step):
            draw.line([x, 0, x, horizon], fill=(170, 174, 178), width=3)
        for y in range(10, horizon, step):
            draw.line([0, y, SCENE_WIDTH, y], fill=(170, 174, 178), width=2)
    else:
        draw.rectangle([0, 0, SCENE_WIDTH, horizon], fill=_jitter(rng, (176, 172, 166), 12))
        _windows(draw, rng, 0, SCENE_WIDTH, 0, horizon - 14)
    for _ in range(int(rng.integers(3, 7))):
        x, r = int(rng.integers(0, SCENE_WIDTH)), int(rng.integers(18, 34))
        draw.ellipse([x - r, horizon - r, x + r, horizon + 6], fill=_jitter(rng, (40, 76, 48), 12))
    granite = _jitter(rng, (150, 150, 152), 14)
    draw.rectangle([0, horizon, SCENE_WIDTH, SCENE_HEIGHT], fill=granite)
    _paving(draw, rng, horizon, granite)
    if rng.random() < 0.3:
        _bikes(draw, rng, horizon + 10)
    return _finish_scene(rng, np.asarray(img, dtype=np.float32), 9.0)


def _scene_indoor(rng: np.random.Generator) -> Image.Image:
    """A hall: pale walls with doors and notice boards, a glossy tiled floor."""
    horizon = int(SCENE_HEIGHT * rng.uniform(0.42, 0.6))
    img = Image.new("RGB", (SCENE_WIDTH, SCENE_HEIGHT))
    draw = ImageDraw.Draw(img)
    wall = _jitter(rng, (222, 218, 204), 10)
    draw.rectangle([0, 0, SCENE_WIDTH, horizon], fill=wall)
    x = int(rng.integers(-40, 40))
    while x < SCENE_WIDTH:
        if rng.random() < 0.5:
            draw.rectangle([x, horizon - 150, x + 60, horizon], fill=_jitter(rng, (128, 92, 60), 14))
        else:
            colour = _jitter(rng, _NOTICE_COLOURS[int(rng.integers(4))], 20)
            draw.rectangle([x, horizon - 130, x + 70, horizon - 70], fill=colour)
        x += int(rng.integers(110, 200))
    draw.rectangle([0, horizon - 8, SCENE_WIDTH, horizon], fill=_darker_rgb(wall, 0.7))
    floor = _jitter(rng, (196, 192, 184), 12)
    draw.rectangle([0, horizon, SCENE_WIDTH, SCENE_HEIGHT], fill=floor)
    _paving(draw, rng, horizon, floor)
    arr = np.asarray(img, dtype=np.float32)
    arr[horizon:] *= np.linspace(1.08, 0.92, SCENE_HEIGHT - horizon, dtype=np.float32)[:, None, None]  # reflections
    return _finish_scene(rng, arr, 5.0)


def _darker_rgb(rgb: tuple[int, int, int], f: float) -> tuple[int, int, int]:
    return tuple(int(v * f) for v in rgb)  # type: ignore[return-value]


SCENE_FAMILIES = {
    "campus_summer": _scene_campus_summer,
    "campus_winter": _scene_campus_winter,
    "campus_mixed": _scene_plaza,  # outdoor cameras; indoor ones use _scene_indoor
}


@lru_cache(maxsize=64)
def scene(domain: DomainStyle, seed: int, domain_index: int, camera: CameraStyle) -> Image.Image:
    """The background panorama of one camera (cached: every image of the camera crops from it)."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0x5C, domain_index, camera.index]))
    return (_scene_indoor if camera.indoor else SCENE_FAMILIES[domain.scenes])(rng)


def background(panorama: Image.Image, size: tuple[int, int], rng: np.random.Generator,
               box: tuple[int, int, int, int] | None = None) -> np.ndarray:
    """The window `box` (x0, y0, width, height) of the camera's panorama, or a random one, resized to the canvas
    (width, height), as float RGB."""
    w, h = size
    if box is None:
        zoom = rng.uniform(0.95, 1.2)
        ch = min(SCENE_HEIGHT, int(h * zoom))
        cw = max(8, int(ch * w / h))
        x0 = int(rng.integers(0, SCENE_WIDTH - cw + 1))
        y0 = int(rng.integers(0, SCENE_HEIGHT - ch + 1))
    else:
        x0, y0, cw, ch = box
    crop = panorama.crop((x0, y0, x0 + cw, y0 + ch)).resize((w, h), Image.BILINEAR)
    return np.asarray(crop, dtype=np.float32)
