"""Drawing a whole person from one of four viewpoints, out of the parts in `parts`.

Front view: face and logo visible, backpack only as straps; back view: hair covers the head, backpack
visible; side views: one arm and leg in front of the other, backpack sticking out behind (a left view
is a right view drawn around the mirrored position, then flipped).
"""

from __future__ import annotations

import math

import numpy as np

from raereid.synth import identities as ids
from raereid.synth.body import Body, Placement
from raereid.synth.canvas import Point
from raereid.synth.parts import arm, bag_box, head, leg, torso_pattern


def draw_frontal(body: Body, back: bool) -> None:
    """Front or back view; the person's left is on the image right when they face the camera."""
    ident, p, bw = body.ident, body.place, body.bw
    view = "back" if back else "front"
    left = -1.0 if back else 1.0  # image x-direction of the person's left side
    s = math.sin(p.phase) * p.swing
    sw, ww, hw = 0.118 * bw, 0.098 * bw, 0.104 * bw
    ysh, ywa, yh = 0.165, 0.40, body.legs_top
    bag_x = left if ident.bag_side == "left" else -left
    for side in (-1.0, 1.0):  # legs
        lift = 0.035 * max(0.0, s * side)
        hip, ankle = (side * 0.05 * bw, yh - 0.01), (side * 0.05 * bw - side * 0.3 * lift, 0.955 - lift)
        knee = ((hip[0] + ankle[0]) / 2, (hip[1] + ankle[1]) / 2)
        leg(body, hip, knee, ankle, 0.0)
    if ident.lower_type == "skirt":
        waist = [body.X(-hw, 0.45), body.X(hw, 0.45), body.X(hw + 0.05, 0.72), body.X(-hw - 0.05, 0.72)]
    else:
        waist = [body.X(-hw, 0.45), body.X(hw, 0.45), body.X(hw, yh + 0.04), body.X(-hw, yh + 0.04)]
    body.cv.poly(waist, body.lower)
    if ident.bag == "handbag":  # held at the side; drawn first, the arm and hand cover its handle
        hx = bag_x * (sw + 0.003)
        bag_box(body, hx - 0.035, 0.49, hx + 0.035, 0.57)
    torso = [body.X(-sw + 0.025, ysh - 0.012), body.X(sw - 0.025, ysh - 0.012), body.X(sw, ysh + 0.025),
             body.X(ww, ywa), body.X(hw, yh), body.X(-hw, yh), body.X(-ww, ywa), body.X(-sw, ysh + 0.025)]
    body.cv.poly(torso, body.upper)
    torso_pattern(body, torso, view)
    if ident.bag == "backpack":
        if back:
            bag_box(body, -0.085 * bw, 0.18, 0.085 * bw, 0.41)
            bag_box(body, -0.055 * bw, 0.33, 0.055 * bw, 0.4, 0.85)
        else:
            for side in (-1, 1):
                body.cv.line([body.X(side * (sw - 0.035), ysh - 0.005), body.X(side * (sw - 0.03), 0.34)],
                             body.bag, body.u(0.02))
    if ident.bag == "shoulder":
        strap = [body.X(-bag_x * (sw - 0.03), ysh - 0.005), body.X(bag_x * hw, 0.43)]
        body.cv.line(strap, body.bag, body.u(0.014))
        bag_box(body, bag_x * hw - 0.045, 0.41, bag_x * hw + 0.045, 0.5)
    for side in (-1.0, 1.0):  # arms: the hand swings up and out slightly as it comes forward
        fwd = -s * side
        arm(body, (side * (sw - 0.016), ysh + 0.022), (side * (sw + 0.01), 0.33),
            (side * (sw + 0.004 + 0.01 * abs(fwd)), 0.485 - 0.025 * max(0.0, fwd)))
    head(body, view)


def draw_side(body: Body, near: str) -> None:
    """Profile facing image right; `near` is the person's side turned towards the camera."""
    ident, p, bw = body.ident, body.place, body.bw
    a = 0.36 * math.sin(p.phase) * p.swing
    td, ysh, ywa, yh = 0.07 * bw, 0.165, 0.40, body.legs_top
    bag_near = ident.bag_side == near

    def leg_points(angle: float) -> tuple[Point, Point, Point]:
        hip = (0.0, yh - 0.02)
        length = 0.955 - hip[1]
        bend = 0.6 * max(0.0, -angle)
        knee = (hip[0] + 0.5 * length * math.sin(angle), hip[1] + 0.5 * length * math.cos(angle))
        shin = angle - bend
        ankle = (knee[0] + 0.5 * length * math.sin(shin), knee[1] + 0.5 * length * math.cos(shin))
        return hip, knee, ankle

    def arm_points(angle: float) -> tuple[Point, Point, Point]:
        sh = (0.0, ysh + 0.025)
        elbow = (sh[0] + 0.17 * math.sin(angle), sh[1] + 0.17 * math.cos(angle))
        fore = angle + 0.25 * max(0.0, angle) + 0.05
        return sh, elbow, (elbow[0] + 0.155 * math.sin(fore), elbow[1] + 0.155 * math.cos(fore))

    far_arm, near_arm = arm_points(1.2 * a), arm_points(-1.2 * a)
    if ident.bag == "handbag" and not bag_near:
        hx, hy = far_arm[2]
        bag_box(body, hx - 0.03, hy, hx + 0.03, hy + 0.075, 0.8)
    arm(body, *far_arm, dim=0.8)
    leg(body, *leg_points(-a), toe=1.0, dim=0.85)
    if ident.bag == "shoulder" and not bag_near:
        bag_box(body, -0.01, 0.41, 0.06, 0.5, 0.8)
    if ident.bag == "backpack":
        bag_box(body, -td - 0.075, 0.18, -td + 0.02, 0.4)
    leg(body, *leg_points(a), toe=1.0)
    if ident.lower_type == "skirt":
        waist = [body.X(-td, 0.45), body.X(td, 0.45), body.X(td + 0.05, 0.72), body.X(-td - 0.04, 0.72)]
    else:
        waist = [body.X(-td, 0.45), body.X(td, 0.45), body.X(td * 0.8, yh + 0.03), body.X(-td * 0.8, yh + 0.03)]
    body.cv.poly(waist, body.lower)
    torso = [body.X(-td + 0.01, ysh - 0.012), body.X(td - 0.005, ysh - 0.012), body.X(td + 0.012, 0.25),
             body.X(td, ywa), body.X(td - 0.004, yh), body.X(-td + 0.004, yh), body.X(-td - 0.004, ywa),
             body.X(-td, 0.25)]
    body.cv.poly(torso, body.upper)
    torso_pattern(body, torso, "right")
    if ident.bag == "backpack":
        body.cv.line([body.X(-0.01, ysh - 0.005), body.X(td - 0.01, ysh + 0.05), body.X(td - 0.02, 0.3)],
                     body.bag, body.u(0.016))
    if ident.bag == "shoulder":
        body.cv.line([body.X(-0.02, ysh - 0.005), body.X(0.02, 0.43)], body.bag, body.u(0.013))
        if bag_near:
            bag_box(body, -0.03, 0.41, 0.05, 0.5)
    arm(body, *near_arm)
    if ident.bag == "handbag" and bag_near:
        hx, hy = near_arm[2]
        bag_box(body, hx - 0.03, hy, hx + 0.03, hy + 0.075)
        r = body.u(0.02)
        H = body.X(hx, hy)
        body.cv.ellipse([H[0] - r, H[1] - r, H[0] + r, H[1] + r], body.skin)
    head(body, "right")


def _render(body: Body) -> tuple[np.ndarray, np.ndarray]:
    """Draw the person; return float RGB and coverage in [0, 1], both (H, W[, 3])."""
    view = body.place.view
    if view in ("front", "back"):
        draw_frontal(body, view == "back")
    else:
        draw_side(body, "right" if view == "right" else "left")
    rgb = np.asarray(body.cv.img, dtype=np.float32)
    alpha = np.asarray(body.cv.mask, dtype=np.float32) / 255.0
    centre = body.place.cx + 0.05 * body.place.light * body.place.height
    xs = (np.arange(body.size[0], dtype=np.float32) - centre) / (0.17 * body.place.height * body.bw)
    rgb = rgb * np.clip(1.04 - 0.3 * xs**2, 0.62, 1.06)[None, :, None]
    if view == "left":  # drawn as a right-facing profile around the mirrored position, then flipped
        rgb, alpha = rgb[:, ::-1], alpha[:, ::-1]
    return rgb, alpha


def draw_person(ident: ids.Identity, place: Placement, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Render `ident` at `place` on a transparent canvas of `size` (width, height): (rgb, alpha)."""
    if place.view == "left":
        mirrored = Placement(place.view, size[0] - 1 - place.cx, place.feet, place.height, place.phase,
                             place.swing, -place.light)
        return _render(Body(ident, mirrored, size))
    return _render(Body(ident, place, size))
