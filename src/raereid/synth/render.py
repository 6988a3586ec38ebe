"""Drawing one pedestrian image: an identity seen by one camera, with per-image pose and jitter.

The person is drawn with Pillow as simple shapes (head, hair, hat, torso with a clothing pattern,
arms, legs, shoes, bag) from one of four viewpoints: front (face and logo visible, backpack only as
straps), back (hair covers the head, backpack visible), and side views (one arm and leg in front
of the other, backpack sticking out behind). Pose (walking phase, arm swing), scale, position and
occluders change per image; the background, lighting and imaging chain come from `styles`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageChops, ImageDraw

from raereid.synth import identities as ids
from raereid.synth.styles import (
    CameraStyle,
    DomainStyle,
    background,
    crop_size,
    finish,
    light,
    render_height,
    scene,
)

VIEWS = ("front", "back", "left", "right")
Point = tuple[float, float]
RGB = tuple[int, int, int]


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


def _tone(rgb: tuple[int, int, int], shade: float, amount: float = 0.08) -> RGB:
    return tuple(int(np.clip(v * (1.0 + amount * shade), 0, 255)) for v in rgb)  # type: ignore[return-value]


def _darker(rgb: RGB, f: float = 0.8) -> RGB:
    return tuple(int(v * f) for v in rgb)  # type: ignore[return-value]


class _Canvas:
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


class _Person:
    """Colours and proportions of one identity, and the drawing of its parts."""

    def __init__(self, ident: ids.Identity, place: Placement, size: tuple[int, int]):
        s = ident.shade
        self.ident, self.place, self.size = ident, place, size
        self.upper = _tone(ids.PALETTE[ident.upper_colour], s[0])
        self.second = _tone(ids.PALETTE.get(ident.upper_secondary, (0, 0, 0)), s[1])
        self.lower = _tone(ids.PALETTE[ident.lower_colour], s[2])
        self.shoes = _tone(ids.SHOES[ident.shoes], s[3])
        self.hair = _tone(ids.HAIR[ident.hair_colour], s[4])
        self.bag = _tone(ids.PALETTE.get(ident.bag_colour, (0, 0, 0)), s[5])
        self.hat = _tone(ids.PALETTE.get(ident.hat_colour, (0, 0, 0)), s[6])
        self.skin = _tone(ids.SKIN[ident.skin], s[7], 0.05)
        tall = {"short": 1.06, "average": 1.0, "tall": 0.93}[ident.height]
        self.bw = {"slim": 0.86, "average": 1.0, "heavy": 1.2}[ident.build] * tall
        self.legs_top = {"short": 0.51, "average": 0.50, "tall": 0.485}[ident.height]
        self.cv = _Canvas(size)

    def X(self, xr: float, yr: float) -> Point:
        """Body coordinates (units of body height, y from the top of the head) to canvas pixels."""
        p = self.place
        return (p.cx + xr * p.height, p.feet - p.height + yr * p.height)

    def u(self, v: float) -> float:
        return v * self.place.height

    # -- garments ------------------------------------------------------------------------------

    def torso_pattern(self, torso: list[Point], view: str) -> None:
        """Overlay the upper garment's pattern (logo and open jacket only from the front)."""
        kind = self.ident.upper_pattern
        if kind == "plain" or (kind == "logo" and view != "front"):
            return
        region = Image.new("L", self.size, 0)
        ImageDraw.Draw(region).polygon(torso, fill=255)
        pat = Image.new("L", self.size, 0)
        pd = ImageDraw.Draw(pat)
        _, top = self.X(0, 0.15)
        _, bottom = self.X(0, self.legs_top)
        left, right = self.X(-0.3, 0)[0], self.X(0.3, 0)[0]
        if kind == "stripes":
            period = self.u(0.075)
            y = top + period * 0.3
            while y < bottom:
                pd.rectangle([left, y, right, y + period * 0.45], fill=255)
                y += period
        elif kind == "checks":
            period = self.u(0.07)
            for i, y in enumerate(np.arange(top, bottom, period)):
                for j, x in enumerate(np.arange(left, right, period)):
                    if (i + j) % 2 == 0:
                        pd.rectangle([x, y, x + period, y + period], fill=255)
        elif kind == "colourblock":
            pd.rectangle([left, top - self.u(0.02), right, self.X(0, 0.29)[1]], fill=255)
        elif kind == "openjacket":
            if view == "front":
                a, b = self.X(-0.03, 0.15), self.X(0.03, self.legs_top)
                pd.rectangle([a[0], a[1], b[0], b[1]], fill=255)
            elif view == "right":
                edge = self.X(0.055 * self.bw, 0)[0]
                pd.rectangle([edge, top, right, bottom], fill=255)
            else:
                return
        elif kind == "logo":
            cx, cy = self.X(0, 0.25)
            r = self.u(0.032)
            shape = int((self.ident.shade[1] + 1.0) * 1.5) % 3
            if shape == 0:
                pd.ellipse([cx - r, cy - r, cx + r, cy + r], fill=255)
            elif shape == 1:
                pd.rectangle([cx - r * 1.3, cy - r * 0.8, cx + r * 1.3, cy + r * 0.8], fill=255)
            else:
                pd.polygon([(cx, cy - r * 1.2), (cx + r * 1.2, cy + r), (cx - r * 1.2, cy + r)], fill=255)
        self.cv.pattern(region, pat, self.second)

    def sleeve_colour(self) -> RGB:
        return self.second if self.ident.upper_pattern == "colourblock" else self.upper

    def arm(self, shoulder: Point, elbow: Point, hand: Point, dim: float = 1.0) -> None:
        sleeve, skin = _darker(self.sleeve_colour(), dim), _darker(self.skin, dim)
        w0, w1, w2 = self.u(0.042) * self.bw**0.5, self.u(0.034) * self.bw**0.5, self.u(0.028)
        S, E, H = self.X(*shoulder), self.X(*elbow), self.X(*hand)
        if self.ident.sleeves == "long":
            self.cv.limb(S, E, w0, w1, sleeve)
            self.cv.limb(E, H, w1, w2, sleeve)
        else:
            mid = (S[0] + 0.55 * (E[0] - S[0]), S[1] + 0.55 * (E[1] - S[1]))
            self.cv.limb(S, E, w0 * 0.9, w1, skin)
            self.cv.limb(E, H, w1, w2, skin)
            self.cv.limb(S, mid, w0 * 1.08, w0, sleeve)
        r = self.u(0.02)
        self.cv.ellipse([H[0] - r, H[1] - r, H[0] + r, H[1] + r], skin)

    def leg(self, hip: Point, knee: Point, ankle: Point, toe: float, dim: float = 1.0) -> None:
        """Leg from hip over knee to ankle; `toe` is the shoe's forward direction (0 facing camera)."""
        kind = self.ident.lower_type
        lower, skin = _darker(self.lower, dim), _darker(self.skin, dim)
        w0, w1, w2 = self.u(0.056) * self.bw, self.u(0.042) * self.bw**0.5, self.u(0.032)
        Hp, K, A = self.X(*hip), self.X(*knee), self.X(*ankle)
        if kind == "trousers":
            self.cv.limb(Hp, K, w0, w1, lower)
            self.cv.limb(K, A, w1, w2, lower)
        else:
            self.cv.limb(Hp, K, w0 * 0.85, w1 * 0.9, skin)
            self.cv.limb(K, A, w1 * 0.9, w2 * 0.9, skin)
            if kind == "shorts":
                end = (Hp[0] + 0.65 * (K[0] - Hp[0]), Hp[1] + 0.65 * (K[1] - Hp[1]))
                self.cv.limb(Hp, end, w0 * 1.1, w0 * 1.05, lower)
        shoe = _darker(self.shoes, dim)
        h, back, front = self.u(0.032), self.u(0.03 if toe == 0 else 0.025), self.u(0.03 if toe == 0 else 0.06)
        if toe < 0:
            back, front = front, back
        self.cv.ellipse([A[0] - back, A[1] - h * 0.3, A[0] + front, A[1] + h], shoe)

    def head(self, view: str) -> None:
        ident, cv = self.ident, self.cv
        dx = 0.008 if view == "right" else 0.0
        rx, ry = 0.048, 0.062
        box = [*self.X(dx - rx, 0.006), *self.X(dx + rx, 0.006 + 2 * ry)]
        hair_box = [*self.X(dx - rx - 0.006, 0.0), *self.X(dx + rx + 0.006, 0.006 + 2 * ry + 0.004)]
        long = ident.hair_length == "long"
        if long and view == "front":
            cv.ellipse([*self.X(-0.064, 0.0), *self.X(0.064, 0.23)], self.hair)
        if long and view == "right":
            a, b = self.X(dx - 0.062, 0.02), self.X(dx, 0.225)
            cv.ellipse([a[0], a[1], b[0], b[1]], self.hair)
        cv.poly([self.X(-0.02, 0.1), self.X(0.02, 0.1), self.X(0.02, 0.175), self.X(-0.02, 0.175)], self.skin)
        cv.ellipse(box, self.skin)
        if view == "back":
            bottom = 0.23 if long else (0.16 if ident.hair_length == "medium" else 0.125)
            cv.ellipse([*self.X(-0.056, -0.002), *self.X(0.056, bottom)], self.hair)
        elif view == "front":
            cv.chord(hair_box, 180, 360, self.hair)
            if ident.hair_length != "short":
                for side in (-1, 1):
                    a, b = self.X(side * 0.054, 0.03), self.X(side * 0.036, 0.1 if not long else 0.2)
                    cv.ellipse([a[0], a[1], b[0], b[1]], self.hair)
            eye = _darker(self.skin, 0.35)
            for side in (-1, 1):
                ex, ey = self.X(side * 0.018, 0.066)
                r = self.u(0.006)
                cv.ellipse([ex - r, ey - r, ex + r, ey + r], eye)
        else:
            cv.chord(hair_box, 100, 350, self.hair)
            ex, ey = self.X(dx + 0.03, 0.064)
            r = self.u(0.006)
            cv.ellipse([ex - r, ey - r, ex + r, ey + r], _darker(self.skin, 0.35))
        if ident.hat == "cap":
            cap = [*self.X(dx - rx - 0.008, -0.004), *self.X(dx + rx + 0.008, 0.1)]
            cv.chord(cap, 180, 360, self.hat)
            if view == "front":
                cv.ellipse([*self.X(-0.05, 0.04), *self.X(0.05, 0.062)], _darker(self.hat, 0.85))
            elif view == "right":
                a, b = self.X(dx + 0.02, 0.042), self.X(dx + 0.09, 0.058)
                cv.ellipse([a[0], a[1], b[0], b[1]], _darker(self.hat, 0.85))
        elif ident.hat == "beanie":
            cv.chord([*self.X(dx - rx - 0.007, -0.014), *self.X(dx + rx + 0.007, 0.13)], 180, 360, self.hat)
            cv.poly([self.X(dx - rx - 0.007, 0.05), self.X(dx + rx + 0.007, 0.05),
                     self.X(dx + rx + 0.007, 0.064), self.X(dx - rx - 0.007, 0.064)], _darker(self.hat, 0.9))

    def bag_box(self, x0: float, y0: float, x1: float, y1: float, dim: float = 1.0) -> None:
        colour = _darker(self.bag, dim)
        a, b = self.X(x0, y0), self.X(x1, y1)
        self.cv.draw.rounded_rectangle([a[0], a[1], b[0], b[1]], radius=self.u(0.012), fill=colour)
        self.cv.mdraw.rounded_rectangle([a[0], a[1], b[0], b[1]], radius=self.u(0.012), fill=255)
        c, d = self.X(x0, y0 + (y1 - y0) * 0.3), self.X(x1, y0 + (y1 - y0) * 0.3)
        self.cv.draw.line([c, d], fill=_darker(colour, 0.7), width=max(1, int(self.u(0.006))))

    # -- whole body -----------------------------------------------------------------------------

    def frontal(self, back: bool) -> None:
        """Front or back view; the person's left is on the image right when they face the camera."""
        ident, p, bw = self.ident, self.place, self.bw
        view = "back" if back else "front"
        left = -1.0 if back else 1.0  # image x-direction of the person's left side
        s = math.sin(p.phase) * p.swing
        sw, ww, hw = 0.118 * bw, 0.098 * bw, 0.104 * bw
        ysh, ywa, yh = 0.165, 0.40, self.legs_top
        bag_x = left if ident.bag_side == "left" else -left
        for side in (-1.0, 1.0):  # legs
            lift = 0.035 * max(0.0, s * side)
            hip, ankle = (side * 0.05 * bw, yh - 0.01), (side * 0.05 * bw - side * 0.3 * lift, 0.955 - lift)
            knee = ((hip[0] + ankle[0]) / 2, (hip[1] + ankle[1]) / 2)
            self.leg(hip, knee, ankle, 0.0)
        if ident.lower_type == "skirt":
            self.cv.poly([self.X(-hw, 0.45), self.X(hw, 0.45), self.X(hw + 0.05, 0.72), self.X(-hw - 0.05, 0.72)], self.lower)
        else:
            self.cv.poly([self.X(-hw, 0.45), self.X(hw, 0.45), self.X(hw, yh + 0.04), self.X(-hw, yh + 0.04)], self.lower)
        if ident.bag == "handbag":  # held at the side; drawn first, the arm and hand cover its handle
            hx = bag_x * (sw + 0.003)
            self.bag_box(hx - 0.035, 0.49, hx + 0.035, 0.57)
        torso = [self.X(-sw + 0.025, ysh - 0.012), self.X(sw - 0.025, ysh - 0.012), self.X(sw, ysh + 0.025),
                 self.X(ww, ywa), self.X(hw, yh), self.X(-hw, yh), self.X(-ww, ywa), self.X(-sw, ysh + 0.025)]
        self.cv.poly(torso, self.upper)
        self.torso_pattern(torso, view)
        if ident.bag == "backpack":
            if back:
                self.bag_box(-0.085 * bw, 0.18, 0.085 * bw, 0.41)
                self.bag_box(-0.055 * bw, 0.33, 0.055 * bw, 0.4, 0.85)
            else:
                for side in (-1, 1):
                    self.cv.line([self.X(side * (sw - 0.035), ysh - 0.005), self.X(side * (sw - 0.03), 0.34)],
                                 self.bag, self.u(0.02))
        if ident.bag == "shoulder":
            self.cv.line([self.X(-bag_x * (sw - 0.03), ysh - 0.005), self.X(bag_x * hw, 0.43)], self.bag, self.u(0.014))
            self.bag_box(bag_x * hw - 0.045, 0.41, bag_x * hw + 0.045, 0.5)
        for side in (-1.0, 1.0):  # arms: the hand swings up and out slightly as it comes forward
            fwd = -s * side
            self.arm((side * (sw - 0.016), ysh + 0.022), (side * (sw + 0.01), 0.33),
                     (side * (sw + 0.004 + 0.01 * abs(fwd)), 0.485 - 0.025 * max(0.0, fwd)))
        self.head(view)

    def side(self, near: str) -> None:
        """Profile facing image right; `near` is the person's side turned towards the camera."""
        ident, p, bw = self.ident, self.place, self.bw
        a = 0.36 * math.sin(p.phase) * p.swing
        td, ysh, ywa, yh = 0.07 * bw, 0.165, 0.40, self.legs_top
        bag_near = ident.bag_side == near

        def leg_points(angle: float) -> tuple[Point, Point, Point]:
            hip = (0.0, yh - 0.02)
            length = 0.955 - hip[1]
            bend = 0.6 * max(0.0, -angle)
            knee = (hip[0] + 0.5 * length * math.sin(angle), hip[1] + 0.5 * length * math.cos(angle))
            ankle = (knee[0] + 0.5 * length * math.sin(angle - bend), knee[1] + 0.5 * length * math.cos(angle - bend))
            return hip, knee, ankle

        def arm_points(angle: float) -> tuple[Point, Point, Point]:
            sh = (0.0, ysh + 0.025)
            elbow = (sh[0] + 0.17 * math.sin(angle), sh[1] + 0.17 * math.cos(angle))
            fore = angle + 0.25 * max(0.0, angle) + 0.05
            return sh, elbow, (elbow[0] + 0.155 * math.sin(fore), elbow[1] + 0.155 * math.cos(fore))

        far_arm, near_arm = arm_points(1.2 * a), arm_points(-1.2 * a)
        if ident.bag == "handbag" and not bag_near:
            hx, hy = far_arm[2]
            self.bag_box(hx - 0.03, hy, hx + 0.03, hy + 0.075, 0.8)
        self.arm(*far_arm, dim=0.8)
        self.leg(*leg_points(-a), toe=1.0, dim=0.85)
        if ident.bag == "shoulder" and not bag_near:
            self.bag_box(-0.01, 0.41, 0.06, 0.5, 0.8)
        if ident.bag == "backpack":
            self.bag_box(-td - 0.075, 0.18, -td + 0.02, 0.4)
        self.leg(*leg_points(a), toe=1.0)
        if ident.lower_type == "skirt":
            self.cv.poly([self.X(-td, 0.45), self.X(td, 0.45), self.X(td + 0.05, 0.72), self.X(-td - 0.04, 0.72)], self.lower)
        else:
            self.cv.poly([self.X(-td, 0.45), self.X(td, 0.45), self.X(td * 0.8, yh + 0.03), self.X(-td * 0.8, yh + 0.03)], self.lower)
        torso = [self.X(-td + 0.01, ysh - 0.012), self.X(td - 0.005, ysh - 0.012), self.X(td + 0.012, 0.25),
                 self.X(td, ywa), self.X(td - 0.004, yh), self.X(-td + 0.004, yh), self.X(-td - 0.004, ywa),
                 self.X(-td, 0.25)]
        self.cv.poly(torso, self.upper)
        self.torso_pattern(torso, "right")
        if ident.bag == "backpack":
            self.cv.line([self.X(-0.01, ysh - 0.005), self.X(td - 0.01, ysh + 0.05), self.X(td - 0.02, 0.3)],
                         self.bag, self.u(0.016))
        if ident.bag == "shoulder":
            self.cv.line([self.X(-0.02, ysh - 0.005), self.X(0.02, 0.43)], self.bag, self.u(0.013))
            if bag_near:
                self.bag_box(-0.03, 0.41, 0.05, 0.5)
        self.arm(*near_arm)
        if ident.bag == "handbag" and bag_near:
            hx, hy = near_arm[2]
            self.bag_box(hx - 0.03, hy, hx + 0.03, hy + 0.075)
            r = self.u(0.02)
            H = self.X(hx, hy)
            self.cv.ellipse([H[0] - r, H[1] - r, H[0] + r, H[1] + r], self.skin)
        self.head("right")

    def render(self) -> tuple[np.ndarray, np.ndarray]:
        """Draw the person; return float RGB and coverage in [0, 1], both (H, W[, 3])."""
        view = self.place.view
        if view in ("front", "back"):
            self.frontal(view == "back")
        else:
            self.side("right" if view == "right" else "left")
        rgb = np.asarray(self.cv.img, dtype=np.float32)
        alpha = np.asarray(self.cv.mask, dtype=np.float32) / 255.0
        centre = self.place.cx + 0.05 * self.place.light * self.place.height
        xs = (np.arange(self.size[0], dtype=np.float32) - centre) / (0.17 * self.place.height * self.bw)
        rgb = rgb * np.clip(1.04 - 0.3 * xs**2, 0.62, 1.06)[None, :, None]
        if view == "left":  # drawn as a right-facing profile around the mirrored position, then flipped
            rgb, alpha = rgb[:, ::-1], alpha[:, ::-1]
        return rgb, alpha


def draw_person(ident: ids.Identity, place: Placement, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Render `ident` at `place` on a transparent canvas of `size` (width, height): (rgb, alpha)."""
    if place.view == "left":
        mirrored = Placement(place.view, size[0] - 1 - place.cx, place.feet, place.height, place.phase,
                             place.swing, -place.light)
        return _Person(ident, mirrored, size).render()
    return _Person(ident, place, size).render()


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


def _place(rng: np.random.Generator, camera: CameraStyle, size: tuple[int, int], kind: str) -> Placement:
    """Per-image pose and framing: a detector box around the person, looser or cut off for distractors."""
    w, h = size
    view = VIEWS[int(rng.choice(4, p=np.asarray(camera.views) / sum(camera.views)))]
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
        place = Placement(VIEWS[int(rng.integers(4))], w / 2 + side * w * rng.uniform(0.55, 0.8), h * rng.uniform(1.0, 1.1),
                          h * rng.uniform(0.95, 1.15), rng.uniform(0, 2 * math.pi), 0.7, 0.0)
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
) -> Image.Image:
    """One crop as the domain's camera records it: background, person, occluder, light, imaging chain.

    `kind` is "person" (a well-framed box of `ident`), "distractor" (a poorly framed box) or
    "junk" (background or a fragment of someone; Market-1501's pid -1); `session` indexes the
    domain's daylight conditions (time of day).
    """
    out_w, out_h = crop_size(domain, rng)
    rh = render_height(out_h)
    size = (max(16, round(rh * out_w / out_h)), rh)
    img = background(scene(domain, seed, domain_index, camera), size, rng)
    if kind == "junk":
        if rng.random() < 0.5:
            frag = Placement(VIEWS[int(rng.integers(4))], size[0] * rng.uniform(0.0, 1.0),
                             size[1] * rng.uniform(1.2, 2.2), size[1] * rng.uniform(1.8, 2.8),
                             rng.uniform(0, 2 * math.pi), 0.7, 0.0)
            img = _over(img, *draw_person(ids.passer_by(rng, domain.season), frag, size))
    else:
        place = _place(rng, camera, size, kind)
        person = ident if ident is not None else ids.passer_by(rng, domain.season)
        img = _shadow(img, place.cx, place.feet, place.height, domain.shadow)
        img = _over(img, *draw_person(person, place, size))
        if rng.random() < domain.occlusion:
            img = _occlude(img, rng, domain.season)
    img = light(img, camera, rng, domain.daylight[session][1:])
    return finish(img, domain, (out_w, out_h), rng)
