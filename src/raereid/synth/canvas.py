"""Drawing shapes twice, on an RGB layer and on its coverage mask, so a drawn person can be composited."""

from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageChops, ImageDraw

Point = tuple[float, float]
RGB = tuple[int, int, int]


def tone(rgb: tuple[int, int, int], shade: float, amount: float = 0.08) -> RGB:
    return tuple(int(np.clip(v * (1.0 + amount * shade), 0, 255)) for v in rgb)  # type: ignore[return-value]


def darker(rgb: RGB, f: float = 0.8) -> RGB:
    return tuple(int(v * f) for v in rgb)  # type: ignore[return-value]


class Canvas:
    """An RGB layer plus its coverage mask; every shape is drawn on both."""

    def __init__(self, size: tuple[int, int]):
        self.img = Image.new("RGB", size)
        self.mask = Image.new("L", size, 0)
        self.draw = ImageDraw.Draw(self.img)
        self.mdraw = ImageDraw.Draw(self.mask)

    def poly(self, pts: list[Point], fill: RGB) -> None:
        self.draw.polygon(pts, fill=fill)
        self.mdraw.polygon(pts, fill=255)

    def ellipse(self, box: list[float], fill: RGB) -> None:
        box = [min(box[0], box[2]), min(box[1], box[3]), max(box[0], box[2]), max(box[1], box[3])]
        self.draw.ellipse(box, fill=fill)
        self.mdraw.ellipse(box, fill=255)

    def chord(self, box: list[float], start: float, end: float, fill: RGB) -> None:
        self.draw.chord(box, start, end, fill=fill)
        self.mdraw.chord(box, start, end, fill=255)

    def line(self, pts: list[Point], fill: RGB, width: float) -> None:
        w = max(1, int(round(width)))
        self.draw.line(pts, fill=fill, width=w, joint="curve")
        self.mdraw.line(pts, fill=255, width=w, joint="curve")

    def limb(self, p0: Point, p1: Point, w0: float, w1: float, fill: RGB) -> None:
        """A tapered segment with rounded ends (arm, leg)."""
        dx, dy = p1[0] - p0[0], p1[1] - p0[1]
        n = math.hypot(dx, dy) or 1.0
        nx, ny = -dy / n, dx / n
        self.poly(
            [(p0[0] + nx * w0 / 2, p0[1] + ny * w0 / 2), (p1[0] + nx * w1 / 2, p1[1] + ny * w1 / 2),
             (p1[0] - nx * w1 / 2, p1[1] - ny * w1 / 2), (p0[0] - nx * w0 / 2, p0[1] - ny * w0 / 2)],
            fill,
        )
        for (x, y), w in ((p0, w0), (p1, w1)):
            self.ellipse([x - w / 2, y - w / 2, x + w / 2, y + w / 2], fill)

    def pattern(self, region: Image.Image, pattern: Image.Image, fill: RGB) -> None:
        """Paint `fill` where both the garment `region` mask and the `pattern` mask are set."""
        self.img.paste(fill, mask=ImageChops.multiply(region, pattern))

