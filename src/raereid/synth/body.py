"""One person to draw: where they stand (`Placement`) and their colours and proportions (`Body`).

Body coordinates are in units of the person's height, x from the body axis and y from the top of the
head; `Body.X` maps them to canvas pixels, so the part drawings in `parts` and `person` are scale-free.
"""

from __future__ import annotations

from dataclasses import dataclass

from raereid.synth import identities as ids
from raereid.synth.canvas import Canvas, Point, tone


@dataclass(frozen=True)
class Placement:
    """Where and how the person stands in the canvas (render pixels) and how they move."""

    view: str
    cx: float
    feet: float
    height: float  # person height in render pixels (u)
    phase: float  # walking phase in radians
    swing: float  # 0 = standing still, 1 = full stride
    light: float  # horizontal offset of the shading highlight, in [-1, 1]


class Body:
    """Colours and proportions of one identity at one placement, and the canvas its parts are drawn on."""

    def __init__(self, ident: ids.Identity, place: Placement, size: tuple[int, int]):
        s = ident.shade
        self.ident, self.place, self.size = ident, place, size
        self.upper = tone(ids.PALETTE[ident.upper_colour], s[0])
        self.second = tone(ids.PALETTE.get(ident.upper_secondary, (0, 0, 0)), s[1])
        self.lower = tone(ids.PALETTE[ident.lower_colour], s[2])
        self.shoes = tone(ids.SHOES[ident.shoes], s[3])
        self.hair = tone(ids.HAIR[ident.hair_colour], s[4])
        self.bag = tone(ids.PALETTE.get(ident.bag_colour, (0, 0, 0)), s[5])
        self.hat = tone(ids.PALETTE.get(ident.hat_colour, (0, 0, 0)), s[6])
        self.skin = tone(ids.SKIN[ident.skin], s[7], 0.05)
        tall = {"short": 1.06, "average": 1.0, "tall": 0.93}[ident.height]
        self.bw = {"slim": 0.86, "average": 1.0, "heavy": 1.2}[ident.build] * tall
        self.legs_top = {"short": 0.51, "average": 0.50, "tall": 0.485}[ident.height]
        self.cv = Canvas(size)

    def X(self, xr: float, yr: float) -> Point:
        """Body coordinates (units of body height, y from the top of the head) to canvas pixels."""
        p = self.place
        return (p.cx + xr * p.height, p.feet - p.height + yr * p.height)

    def u(self, v: float) -> float:
        """A length in body units to canvas pixels."""
        return v * self.place.height
