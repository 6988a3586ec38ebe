"""The attribute space of synthetic pedestrians and the sampling of unique, confusable identities.

An identity is a combination of discrete attributes (clothing colours and patterns, bag, hair, hat,
body shape) drawn from one attribute space shared by every domain, so that what a model learns
on one camera network can transfer to another. Domains only shift the priors (a summer campus
shows more short sleeves and light colours than a winter one). About a third of the identities
are "siblings" of an earlier one that differ in one or two attributes, so retrieval needs the
fine attributes (shoes, hair, bag side) and not only the shirt colour.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields

import numpy as np

# Named colours shared by clothes, bags and hats (sRGB, before any lighting or camera style).
PALETTE: dict[str, tuple[int, int, int]] = {
    "black": (30, 30, 33),
    "charcoal": (66, 66, 70),
    "grey": (130, 130, 132),
    "white": (228, 228, 222),
    "navy": (34, 44, 86),
    "blue": (48, 92, 172),
    "lightblue": (142, 180, 222),
    "denim": (72, 98, 142),
    "red": (184, 38, 44),
    "maroon": (114, 32, 46),
    "pink": (230, 144, 174),
    "orange": (232, 124, 42),
    "yellow": (232, 204, 64),
    "green": (50, 130, 64),
    "olive": (106, 112, 62),
    "khaki": (178, 162, 114),
    "beige": (214, 194, 158),
    "brown": (114, 76, 46),
    "purple": (114, 64, 146),
    "teal": (38, 130, 132),
}
DARK = {"black", "charcoal", "navy", "denim", "maroon", "brown", "olive"}
LIGHT = {"white", "lightblue", "beige", "yellow", "pink", "khaki"}

SKIN: dict[str, tuple[int, int, int]] = {
    "light": (236, 200, 176),
    "medium": (208, 164, 128),
    "tan": (170, 122, 86),
    "dark": (110, 74, 52),
}
HAIR: dict[str, tuple[int, int, int]] = {
    "black": (22, 20, 20),
    "darkbrown": (56, 38, 26),
    "brown": (104, 70, 40),
    "blonde": (200, 170, 110),
    "grey": (160, 158, 154),
    "auburn": (128, 54, 30),
}
SHOES: dict[str, tuple[int, int, int]] = {
    "black": (26, 26, 28),
    "white": (236, 236, 232),
    "brown": (96, 62, 36),
    "grey": (124, 124, 128),
    "red": (176, 40, 44),
}
PATTERNS = ("plain", "stripes", "checks", "logo", "colourblock", "openjacket")
LOWER_TYPES = ("trousers", "shorts", "skirt")
BAGS = ("none", "backpack", "handbag", "shoulder")
HATS = ("none", "cap", "beanie")

# Everyday frequencies (most people wear black, white, grey, blue): many identities share colours.
_UPPER_W = {
    "black": 16, "charcoal": 6, "grey": 9, "white": 13, "navy": 7, "blue": 7, "lightblue": 5, "denim": 2,
    "red": 6, "maroon": 3, "pink": 4, "orange": 2, "yellow": 3, "green": 4, "olive": 2, "khaki": 2,
    "beige": 4, "brown": 3, "purple": 3, "teal": 2,
}
_LOWER_W = {
    "black": 20, "charcoal": 6, "grey": 8, "white": 2, "navy": 6, "blue": 4, "lightblue": 2, "denim": 18,
    "red": 1, "maroon": 1, "pink": 1, "orange": 0.5, "yellow": 0.5, "green": 1, "olive": 3, "khaki": 7,
    "beige": 5, "brown": 4, "purple": 0.5, "teal": 0.5,
}
_SEASONS = {
    # short sleeves, (trousers, shorts, skirt), (no hat, cap, beanie), (no bag, backpack, handbag, shoulder)
    "summer": {"short_sleeves": 0.65, "lower": (0.60, 0.25, 0.15), "hat": (0.86, 0.12, 0.02),
               "bag": (0.45, 0.30, 0.10, 0.15), "light": 1.5, "dark": 0.75},
    "winter": {"short_sleeves": 0.12, "lower": (0.88, 0.03, 0.09), "hat": (0.66, 0.12, 0.22),
               "bag": (0.35, 0.40, 0.10, 0.15), "light": 0.6, "dark": 1.5},
}
SEASONS = tuple(_SEASONS)
SIBLING_RATE = 0.35


@dataclass(frozen=True)
class Identity:
    """One synthetic person: discrete attributes (which define identity) plus fixed colour nuances."""

    height: str
    build: str
    skin: str
    hair_colour: str
    hair_length: str
    hat: str
    hat_colour: str
    upper_colour: str
    upper_pattern: str
    upper_secondary: str
    sleeves: str
    lower_colour: str
    lower_type: str
    shoes: str
    bag: str
    bag_colour: str
    bag_side: str
    shade: tuple[float, ...] = (0.0,) * 8  # per-identity colour nuances in [-1, 1] (not part of the key)

    def key(self) -> tuple[str, ...]:
        """The attribute combination; two identities are the same person iff their keys are equal."""
        return tuple(getattr(self, f.name) for f in fields(self) if f.name != "shade")

    def describe(self) -> dict[str, str]:
        """Attribute name -> value, for manifests and debugging."""
        return dict(zip(ATTRIBUTES, self.key()))


ATTRIBUTES = tuple(f.name for f in fields(Identity) if f.name != "shade")


def _pick(rng: np.random.Generator, names: tuple[str, ...] | list[str], weights: Sequence[float]) -> str:
    cumulative = np.cumsum(np.asarray(weights, dtype=np.float64))
    return names[min(len(names) - 1, int(np.searchsorted(cumulative, rng.random() * cumulative[-1], side="right")))]


def _colour(rng: np.random.Generator, base: dict[str, float], season: str, exclude: str = "") -> str:
    prior = _SEASONS[season]
    names = [n for n in base if n != exclude]
    weights = [base[n] * (prior["light"] if n in LIGHT else prior["dark"] if n in DARK else 1.0) for n in names]
    return _pick(rng, names, weights)


def _canonical(fields_: dict[str, str]) -> dict[str, str]:
    """Blank out attributes that do not apply (a plain shirt has no secondary colour, ...)."""
    if fields_["upper_pattern"] == "plain":
        fields_["upper_secondary"] = "-"
    if fields_["hat"] == "none":
        fields_["hat_colour"] = "-"
    if fields_["bag"] == "none":
        fields_["bag_colour"] = "-"
    if fields_["bag"] in ("none", "backpack"):
        fields_["bag_side"] = "-"
    return fields_


def _secondary(rng: np.random.Generator, pattern: str, upper: str, season: str) -> str:
    return "-" if pattern == "plain" else _colour(rng, _UPPER_W, season, exclude=upper)


def _fresh(rng: np.random.Generator, season: str) -> dict[str, str]:
    """Draw every attribute independently from the season's priors."""
    prior = _SEASONS[season]
    upper = _colour(rng, _UPPER_W, season)
    pattern = _pick(rng, PATTERNS, (40, 14, 10, 14, 10, 12))
    hat = _pick(rng, HATS, prior["hat"])
    bag = _pick(rng, BAGS, prior["bag"])
    return _canonical({
        "height": _pick(rng, ("short", "average", "tall"), (1, 2, 1)),
        "build": _pick(rng, ("slim", "average", "heavy"), (1, 2, 1)),
        "skin": _pick(rng, tuple(SKIN), (4, 3, 2, 2)),
        "hair_colour": _pick(rng, tuple(HAIR), (8, 5, 3, 2, 1, 1)),
        "hair_length": _pick(rng, ("short", "medium", "long"), (5, 2, 3)),
        "hat": hat,
        "hat_colour": _colour(rng, _UPPER_W, season),
        "upper_colour": upper,
        "upper_pattern": pattern,
        "upper_secondary": _secondary(rng, pattern, upper, season),
        "sleeves": "short" if rng.random() < prior["short_sleeves"] else "long",
        "lower_colour": _colour(rng, _LOWER_W, season),
        "lower_type": _pick(rng, LOWER_TYPES, prior["lower"]),
        "shoes": _pick(rng, tuple(SHOES), (8, 6, 3, 2, 1)),
        "bag": bag,
        "bag_colour": _colour(rng, _UPPER_W, season),
        "bag_side": _pick(rng, ("left", "right"), (1, 1)),
    })


# Attribute groups a sibling may change (changing "bag" re-draws its colour and side as well).
_MUTABLE = ("upper_colour", "upper_pattern", "upper_secondary", "lower_colour", "lower_type", "shoes",
            "hair_colour", "hair_length", "hat", "bag", "bag_colour", "bag_side", "build", "sleeves")


def _sibling(rng: np.random.Generator, parent: dict[str, str], season: str) -> dict[str, str]:
    """Copy `parent` and re-draw one or two attribute groups, so the two are easy to confuse."""
    child = dict(parent)
    fresh = _fresh(rng, season)
    for name in rng.choice(_MUTABLE, size=int(rng.integers(1, 3)), replace=False):
        child[name] = fresh[name]
        if name == "hat":
            child["hat_colour"] = fresh["hat_colour"]
        if name == "bag":
            child["bag_colour"], child["bag_side"] = fresh["bag_colour"], fresh["bag_side"]
        if name == "upper_pattern":
            child["upper_secondary"] = fresh["upper_secondary"]
    if child["upper_secondary"] == child["upper_colour"] or (
        child["upper_pattern"] != "plain" and child["upper_secondary"] == "-"
    ):
        child["upper_secondary"] = _secondary(rng, child["upper_pattern"], child["upper_colour"], season)
    if child["bag"] not in ("none", "backpack") and child["bag_side"] == "-":
        child["bag_side"] = fresh["bag_side"]
    if child["bag"] != "none" and child["bag_colour"] == "-":
        child["bag_colour"] = fresh["bag_colour"]
    if child["hat"] != "none" and child["hat_colour"] == "-":
        child["hat_colour"] = fresh["hat_colour"]
    return _canonical(child)


def passer_by(rng: np.random.Generator, season: str) -> Identity:
    """An anonymous person for occluders and junk fragments (not an identity: never checked for uniqueness)."""
    return Identity(**_fresh(rng, season), shade=tuple(float(v) for v in rng.uniform(-1, 1, 8)))


class IdentityPool:
    """Draws identities whose attribute combinations are unique across everything drawn from it."""

    def __init__(self, seed: int):
        self.rng = np.random.default_rng(np.random.SeedSequence([seed, 0x1D]))
        self.taken: set[tuple[str, ...]] = set()

    def draw(self, n: int, season: str) -> list[Identity]:
        """`n` new identities under the season's priors; ~SIBLING_RATE of them near-copies of earlier ones."""
        if season not in _SEASONS:
            raise ValueError(f"unknown season {season!r}, expected one of {SEASONS}")
        drawn: list[Identity] = []
        while len(drawn) < n:
            if drawn and self.rng.random() < SIBLING_RATE:
                parent = drawn[int(self.rng.integers(len(drawn)))].describe()
                attrs = _sibling(self.rng, parent, season)
            else:
                attrs = _fresh(self.rng, season)
            ident = Identity(**attrs, shade=tuple(float(v) for v in self.rng.uniform(-1, 1, 8)))
            if ident.key() in self.taken:
                continue
            self.taken.add(ident.key())
            drawn.append(ident)
        return drawn
