"""Drawing one body part of a person: the upper garment's pattern, an arm, a leg, the head, a bag.

Each function draws on the `Body`'s canvas in body coordinates; `person` composes them into a view.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from raereid.synth.body import Body
from raereid.synth.canvas import RGB, Point, darker


def torso_pattern(body: Body, torso: list[Point], view: str) -> None:
    """Overlay the upper garment's pattern (logo and open jacket only from the front)."""
    kind = body.ident.upper_pattern
    if kind == "plain" or (kind == "logo" and view != "front"):
        return
    region = Image.new("L", body.size, 0)
    ImageDraw.Draw(region).polygon(torso, fill=255)
    pat = Image.new("L", body.size, 0)
    pd = ImageDraw.Draw(pat)
    _, top = body.X(0, 0.15)
    _, bottom = body.X(0, body.legs_top)
    left, right = body.X(-0.3, 0)[0], body.X(0.3, 0)[0]
    if kind == "stripes":
        period = body.u(0.075)
        y = top + period * 0.3
        while y < bottom:
            pd.rectangle([left, y, right, y + period * 0.45], fill=255)
            y += period
    elif kind == "checks":
        period = body.u(0.07)
        for i, y in enumerate(np.arange(top, bottom, period)):
            for j, x in enumerate(np.arange(left, right, period)):
                if (i + j) % 2 == 0:
                    pd.rectangle([x, y, x + period, y + period], fill=255)
    elif kind == "colourblock":
        pd.rectangle([left, top - body.u(0.02), right, body.X(0, 0.29)[1]], fill=255)
    elif kind == "openjacket":
        if view == "front":
            a, b = body.X(-0.03, 0.15), body.X(0.03, body.legs_top)
            pd.rectangle([a[0], a[1], b[0], b[1]], fill=255)
        elif view == "right":
            edge = body.X(0.055 * body.bw, 0)[0]
            pd.rectangle([edge, top, right, bottom], fill=255)
        else:
            return
    elif kind == "logo":
        cx, cy = body.X(0, 0.25)
        r = body.u(0.032)
        shape = int((body.ident.shade[1] + 1.0) * 1.5) % 3
        if shape == 0:
            pd.ellipse([cx - r, cy - r, cx + r, cy + r], fill=255)
        elif shape == 1:
            pd.rectangle([cx - r * 1.3, cy - r * 0.8, cx + r * 1.3, cy + r * 0.8], fill=255)
        else:
            pd.polygon([(cx, cy - r * 1.2), (cx + r * 1.2, cy + r), (cx - r * 1.2, cy + r)], fill=255)
    body.cv.pattern(region, pat, body.second)


def sleeve_colour(body: Body) -> RGB:
    """The sleeves take the secondary colour on a colour-block top."""
    return body.second if body.ident.upper_pattern == "colourblock" else body.upper


def arm(body: Body, shoulder: Point, elbow: Point, hand: Point, dim: float = 1.0) -> None:
    """Arm from shoulder over elbow to hand, sleeved to the wrist or to mid upper arm; `dim` darkens the far side."""
    sleeve, skin = darker(sleeve_colour(body), dim), darker(body.skin, dim)
    w0, w1, w2 = body.u(0.042) * body.bw**0.5, body.u(0.034) * body.bw**0.5, body.u(0.028)
    S, E, H = body.X(*shoulder), body.X(*elbow), body.X(*hand)
    if body.ident.sleeves == "long":
        body.cv.limb(S, E, w0, w1, sleeve)
        body.cv.limb(E, H, w1, w2, sleeve)
    else:
        mid = (S[0] + 0.55 * (E[0] - S[0]), S[1] + 0.55 * (E[1] - S[1]))
        body.cv.limb(S, E, w0 * 0.9, w1, skin)
        body.cv.limb(E, H, w1, w2, skin)
        body.cv.limb(S, mid, w0 * 1.08, w0, sleeve)
    r = body.u(0.02)
    body.cv.ellipse([H[0] - r, H[1] - r, H[0] + r, H[1] + r], skin)


def leg(body: Body, hip: Point, knee: Point, ankle: Point, toe: float, dim: float = 1.0) -> None:
    """Leg from hip over knee to ankle; `toe` is the shoe's forward direction (0 facing camera)."""
    kind = body.ident.lower_type
    lower, skin = darker(body.lower, dim), darker(body.skin, dim)
    w0, w1, w2 = body.u(0.056) * body.bw, body.u(0.042) * body.bw**0.5, body.u(0.032)
    Hp, K, A = body.X(*hip), body.X(*knee), body.X(*ankle)
    if kind == "trousers":
        body.cv.limb(Hp, K, w0, w1, lower)
        body.cv.limb(K, A, w1, w2, lower)
    else:
        body.cv.limb(Hp, K, w0 * 0.85, w1 * 0.9, skin)
        body.cv.limb(K, A, w1 * 0.9, w2 * 0.9, skin)
        if kind == "shorts":
            end = (Hp[0] + 0.65 * (K[0] - Hp[0]), Hp[1] + 0.65 * (K[1] - Hp[1]))
            body.cv.limb(Hp, end, w0 * 1.1, w0 * 1.05, lower)
    shoe = darker(body.shoes, dim)
    h, back, front = body.u(0.032), body.u(0.03 if toe == 0 else 0.025), body.u(0.03 if toe == 0 else 0.06)
    if toe < 0:
        back, front = front, back
    body.cv.ellipse([A[0] - back, A[1] - h * 0.3, A[0] + front, A[1] + h], shoe)


def head(body: Body, view: str) -> None:
    """Neck, face, hair (covering the head from behind), eyes and hat, as seen from `view`."""
    ident, cv = body.ident, body.cv
    dx = 0.008 if view == "right" else 0.0
    rx, ry = 0.048, 0.062
    box = [*body.X(dx - rx, 0.006), *body.X(dx + rx, 0.006 + 2 * ry)]
    hair_box = [*body.X(dx - rx - 0.006, 0.0), *body.X(dx + rx + 0.006, 0.006 + 2 * ry + 0.004)]
    long = ident.hair_length == "long"
    if long and view == "front":
        cv.ellipse([*body.X(-0.064, 0.0), *body.X(0.064, 0.23)], body.hair)
    if long and view == "right":
        a, b = body.X(dx - 0.062, 0.02), body.X(dx, 0.225)
        cv.ellipse([a[0], a[1], b[0], b[1]], body.hair)
    cv.poly([body.X(-0.02, 0.1), body.X(0.02, 0.1), body.X(0.02, 0.175), body.X(-0.02, 0.175)], body.skin)
    cv.ellipse(box, body.skin)
    if view == "back":
        bottom = 0.23 if long else (0.16 if ident.hair_length == "medium" else 0.125)
        cv.ellipse([*body.X(-0.056, -0.002), *body.X(0.056, bottom)], body.hair)
    elif view == "front":
        cv.chord(hair_box, 180, 360, body.hair)
        if ident.hair_length != "short":
            for side in (-1, 1):
                a, b = body.X(side * 0.054, 0.03), body.X(side * 0.036, 0.1 if not long else 0.2)
                cv.ellipse([a[0], a[1], b[0], b[1]], body.hair)
        eye = darker(body.skin, 0.35)
        for side in (-1, 1):
            ex, ey = body.X(side * 0.018, 0.066)
            r = body.u(0.006)
            cv.ellipse([ex - r, ey - r, ex + r, ey + r], eye)
    else:
        cv.chord(hair_box, 100, 350, body.hair)
        ex, ey = body.X(dx + 0.03, 0.064)
        r = body.u(0.006)
        cv.ellipse([ex - r, ey - r, ex + r, ey + r], darker(body.skin, 0.35))
    if ident.hat == "cap":
        cap = [*body.X(dx - rx - 0.008, -0.004), *body.X(dx + rx + 0.008, 0.1)]
        cv.chord(cap, 180, 360, body.hat)
        if view == "front":
            cv.ellipse([*body.X(-0.05, 0.04), *body.X(0.05, 0.062)], darker(body.hat, 0.85))
        elif view == "right":
            a, b = body.X(dx + 0.02, 0.042), body.X(dx + 0.09, 0.058)
            cv.ellipse([a[0], a[1], b[0], b[1]], darker(body.hat, 0.85))
    elif ident.hat == "beanie":
        cv.chord([*body.X(dx - rx - 0.007, -0.014), *body.X(dx + rx + 0.007, 0.13)], 180, 360, body.hat)
        cv.poly([body.X(dx - rx - 0.007, 0.05), body.X(dx + rx + 0.007, 0.05),
                 body.X(dx + rx + 0.007, 0.064), body.X(dx - rx - 0.007, 0.064)], darker(body.hat, 0.9))


def bag_box(body: Body, x0: float, y0: float, x1: float, y1: float, dim: float = 1.0) -> None:
    """A bag (or a backpack's body) between two corners in body coordinates, with a flap line."""
    colour = darker(body.bag, dim)
    a, b = body.X(x0, y0), body.X(x1, y1)
    body.cv.draw.rounded_rectangle([a[0], a[1], b[0], b[1]], radius=body.u(0.012), fill=colour)
    body.cv.mdraw.rounded_rectangle([a[0], a[1], b[0], b[1]], radius=body.u(0.012), fill=255)
    c, d = body.X(x0, y0 + (y1 - y0) * 0.3), body.X(x1, y0 + (y1 - y0) * 0.3)
    body.cv.draw.line([c, d], fill=darker(colour, 0.7), width=max(1, int(body.u(0.006))))
