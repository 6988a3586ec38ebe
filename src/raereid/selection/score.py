"""The label-free score: a fixed formula over the signals, never fit to labels.

Each term maps one signal to (0, 1], higher meaning healthier; the score is the geometric mean of the terms a
spec names. Why a geometric mean: its ranking is unchanged when any one term is multiplied by a constant, so the
terms need no common scale and no weights (nothing to fit), and a candidate is only as good as its weakest term
(a collapsed clustering with perfect stability still scores low). Terms are floored at FLOOR so one zero term
does not tie every degenerate candidate at 0.

A term is None ("does not apply": no previous round, no camera ids, one descriptor only) or 0 ("degenerate":
no cluster, one cluster). The candidate specs are fixed in advance; which one is the default is decided on the
benchmark's validation split and reported on its test split (the measurement plan in the note).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from raereid.errors import InputError

FLOOR = 1e-3
# Labelled metrics a record may carry beside its signals; a score term reading one would be a leak, so they are
# refused as signals (raereid's names: metrics_in_percent, label_quality).
LABELLED_KEYS = frozenset({"mAP", "rank1", "rank5", "rank10", "mINP", "ari", "nmi", "true_ids"})

SignalMap = Mapping[str, float | int | None]


def _degenerate(signals: SignalMap, below: int) -> bool:
    """Whether the clustering has fewer than `below` clusters (known: `clusters` is present)."""
    clusters = signals.get("clusters")
    return clusters is not None and clusters < below


def _coverage(s: SignalMap) -> float | None:
    return None if s.get("outlier_fraction") is None else 1.0 - float(s["outlier_fraction"])


def _cross_camera(s: SignalMap) -> float | None:
    if s.get("cross_camera_share") is not None:
        return float(s["cross_camera_share"])
    cameras = s.get("cameras")
    return 0.0 if cameras is not None and cameras >= 2 and _degenerate(s, 1) else None


def _stability(s: SignalMap) -> float | None:
    if s.get("stability_ari") is not None:
        return max(0.0, float(s["stability_ari"]))
    return 0.0 if s.get("both_clustered") is not None else None  # compared, but under 2 images kept a label


def _separation(s: SignalMap) -> float | None:
    if s.get("silhouette") is not None:
        return (1.0 + float(s["silhouette"])) / 2.0
    return 0.0 if _degenerate(s, 2) else None


def _balance(s: SignalMap) -> float | None:
    if s.get("largest_cluster_share") is not None:
        return 1.0 - float(s["largest_cluster_share"])
    return 0.0 if _degenerate(s, 1) else None


def _agreement(s: SignalMap) -> float | None:
    return None if s.get("knn_agreement") is None else float(s["knn_agreement"])


def _density(s: SignalMap) -> float | None:
    return None if s.get("snd") is None else float(s["snd"])


# term -> (what it rewards, its function of the signals)
TERMS: dict[str, tuple[str, Callable[[SignalMap], float | None]]] = {
    "coverage": ("1 - outlier_fraction: the share of images the clustering can use", _coverage),
    "cross_camera": ("cross_camera_share: clusters seen by several cameras, as persons are", _cross_camera),
    "stability": ("max(0, stability_ari): pseudo-labels that persist between rounds", _stability),
    "separation": ("(1 + silhouette) / 2: compact, separated clusters in cosine distance", _separation),
    "balance": ("1 - largest_cluster_share: no collapse into one group", _balance),
    "agreement": ("knn_agreement: the two descriptors rank the same neighbours first", _agreement),
    "density": ("snd: Saito et al.'s soft neighbourhood density (normalised)", _density),
}


@dataclass(frozen=True)
class ScoreSpec:
    """A named, fixed score: the geometric mean of `terms`."""

    name: str
    terms: tuple[str, ...]
    why: str

    def __post_init__(self) -> None:
        unknown = [t for t in self.terms if t not in TERMS]
        if unknown or not self.terms:
            raise InputError(f"score {self.name!r} names unknown or no terms {unknown}",
                             fix=f"use terms among {', '.join(TERMS)}")


SPECS: dict[str, ScoreSpec] = {spec.name: spec for spec in (
    ScoreSpec("health", ("coverage", "cross_camera", "stability", "separation", "balance", "agreement"),
              "every failure the issue names lowers it: outliers, camera-bound clusters, moving labels, loose "
              "clusters, collapse, descriptors that disagree (the default until the validation split decides)"),
    ScoreSpec("clusters", ("coverage", "cross_camera", "separation", "balance"),
              "health without the terms that need a previous round or a second descriptor"),
    ScoreSpec("separation", ("separation",), "the silhouette alone (internal validity, the literature's classic)"),
    ScoreSpec("stability", ("stability",), "pseudo-label stability alone"),
    ScoreSpec("cross_camera", ("cross_camera",), "cross-camera coverage alone"),
    ScoreSpec("agreement", ("agreement",), "the two descriptors' neighbourhood agreement alone"),
    ScoreSpec("density", ("density",), "SND alone (Saito et al. 2021; suspected to favour collapse on re-ID)"),
)}
DEFAULT_SPEC = "health"


def get_spec(spec: ScoreSpec | str) -> ScoreSpec:
    """A spec by name (or the spec itself); an unknown name raises InputError listing the known ones."""
    if isinstance(spec, ScoreSpec):
        return spec
    if spec not in SPECS:
        raise InputError(f"unknown score {spec!r}", fix=f"use one of {', '.join(SPECS)}")
    return SPECS[spec]


def score_terms(signals: SignalMap, terms: tuple[str, ...] = tuple(TERMS)) -> dict[str, float | None]:
    """The value of each of `terms` for one signal record (None where it does not apply)."""
    leaked = sorted(LABELLED_KEYS & set(signals))
    if leaked:
        raise InputError(f"the signals carry labelled metrics {leaked}",
                         fix="keep labelled metrics out of the signal record (a candidate's labelled_map is for the "
                             "record only)")
    out = {}
    for name in terms:
        value = TERMS[name][1](signals)
        if value is not None and not (math.isfinite(value) and -1e-9 <= value <= 1.0 + 1e-9):
            raise InputError(f"score term {name} is {value!r}, outside [0, 1]", fix="check the signal record")
        out[name] = value
    return out


def geometric_mean(values: list[float]) -> float:
    """exp(mean(log(max(v, FLOOR)))) of term values in [0, 1]."""
    if not values:
        raise InputError("no score term to average", fix="give at least one term that applies")
    return math.exp(sum(math.log(max(v, FLOOR)) for v in values) / len(values))


def score_signals(signals: SignalMap, spec: ScoreSpec | str = DEFAULT_SPEC) -> float | None:
    """The spec's score of one record: the geometric mean of its terms that apply (None if none applies). To
    compare candidates, use `rank_candidates`, which scores them all on the same terms."""
    spec = get_spec(spec)
    values = [v for v in score_terms(signals, spec.terms).values() if v is not None]
    return geometric_mean(values) if values else None
