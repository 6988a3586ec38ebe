"""The metrics record: what a model scored on a target, as `metrics.json` holds it (written by the trainer, printed
by `raereid evaluate`, read by the report, the demo and the results tables). Written and parsed here only.

The scores are percentages (0-100) rounded to 4 decimals: mAP, rank-1/5/10 and mINP on the target's test split at
the top level (None when the target has none), the same on its validation split under "val" when it was evaluated,
and for a model with a decoder the PSNR (dB) / SSIM of its reconstructions of source and target test images.
Last, under "label_free", the run's label-free record (the signals of its clusterings, snapshots and final model;
`raereid.selection.record` reads it), kept here as the plain mapping it is.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from raereid.atomic import write_json
from raereid.engine.run_folder import METRICS

METRIC_KEYS = ("mAP", "rank1", "rank5", "rank10", "mINP")  # retrieval scores of a split, in percent
RECONSTRUCTION_KEYS = ("psnr_source", "ssim_source", "psnr_target", "ssim_target")


class UnreadableMetrics(ValueError):
    """A metrics.json that cannot be read, is not JSON, or is not a mapping of metric names to values."""


def _number(value: object) -> float | None:
    """A number as a float; None for anything else (a missing key, None, a bool, text)."""
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(float(value), 4)


def _text(value: object) -> str | None:
    return None if value is None else str(value)


@dataclass
class MetricsRecord:
    """One model's scores on one target: the run's variant and learner, the source and target names, the test
    split's METRIC_KEYS (None without a test split), the validation split's (None when not evaluated), the
    reconstruction quality (RECONSTRUCTION_KEYS it has), the iterations trained, the seconds taken, and the run's
    label-free record."""

    variant: str | None
    learner: str | None
    source: str | None
    target: str | None
    scores: dict[str, float | None]
    iterations: int | None
    seconds: float | None
    val: dict[str, float | None] | None = None
    reconstruction: dict[str, float] = field(default_factory=dict)
    label_free: dict[str, Any] | None = None  # the label-free record (raereid.selection.record), None in older files

    @property
    def scored(self) -> bool:
        """Whether the record holds the target's test scores (an mAP)."""
        return self.scores.get("mAP") is not None

    def split(self, name: str) -> dict[str, float | None]:
        """The scores of split `name`: "test" (the top level) or "val" ({} when it was not evaluated)."""
        return dict(self.scores) if name == "test" else dict(self.val or {}) if name == "val" else {}

    def value(self, key: str) -> float | None:
        """The number at a metrics.json key ("val.mAP": the validation split's mAP), or None."""
        section, _, name = key.rpartition(".")
        if section:
            return self.split(section).get(name)
        if key in METRIC_KEYS:
            return self.scores.get(key)
        if key in ("iterations", "seconds"):
            return _number(getattr(self, key))
        return self.reconstruction.get(key)

    def to_json(self) -> dict[str, Any]:
        """The metrics.json mapping, keys in their fixed order, numbers rounded (seconds to 0.1)."""
        out: dict[str, Any] = {
            "variant": self.variant,
            "learner": self.learner,
            "source": self.source,
            "target": self.target,
            **{k: _rounded(self.scores.get(k)) for k in METRIC_KEYS},
            "iterations": self.iterations,
            "seconds": None if self.seconds is None else round(self.seconds, 1),
        }
        if self.val is not None:
            out["val"] = {k: _rounded(self.val.get(k)) for k in METRIC_KEYS}
        out.update({k: _rounded(self.reconstruction[k]) for k in RECONSTRUCTION_KEYS if k in self.reconstruction})
        if self.label_free is not None:
            out["label_free"] = self.label_free
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> MetricsRecord:
        """The record of a metrics.json mapping; a key it lacks (an older or a partial file) reads as None."""
        val = data.get("val")
        iterations = data.get("iterations")
        return cls(
            variant=_text(data.get("variant")), learner=_text(data.get("learner")), source=_text(data.get("source")),
            target=_text(data.get("target")), scores={k: _number(data.get(k)) for k in METRIC_KEYS},
            iterations=iterations if isinstance(iterations, int) and not isinstance(iterations, bool) else None,
            seconds=_number(data.get("seconds")),
            val={k: _number(val.get(k)) for k in METRIC_KEYS} if isinstance(val, Mapping) else None,
            reconstruction={k: v for k in RECONSTRUCTION_KEYS if (v := _number(data.get(k))) is not None},
            label_free=dict(data["label_free"]) if isinstance(data.get("label_free"), Mapping) else None,
        )

    def write(self, path: str | Path) -> Path:
        """Write the record as JSON to `path` through a temporary file, so a reader never sees half of it."""
        return write_json(path, self.to_json())

    @classmethod
    def read(cls, path: str | Path) -> MetricsRecord:
        """The record of a metrics.json file; UnreadableMetrics saying what is wrong with it."""
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
            raise UnreadableMetrics(f"{METRICS} cannot be read ({exc})") from None
        if not isinstance(data, dict):
            raise UnreadableMetrics(f"{METRICS} is not a mapping of metric names to values")
        return cls.from_json(data)
