"""The label-free record of a run, as metrics.json keeps it under `label_free`: the signals of every training
clustering, and of every kept snapshot and of the final model on the reference clustering, each with the score
logged at the time. Plain JSON values, written by the trainer and read back into the candidates `raereid select`
ranks.

A judged model may carry its labelled scores (`labelled`: the target's test / val split, when the target has
them and they were asked for), for the record only: `candidates` hands them to the ranking as `labelled_map` /
`labelled_val_map`, which the score never reads.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from raereid.errors import InputError
from raereid.selection.ranking import Candidate
from raereid.selection.score import DEFAULT_SPEC, LABELLED_KEYS
from raereid.selection.signals import SIGNAL_KEYS, Signals

VERSION = 1
DIGITS = 6  # decimals kept in the JSON
FINAL = "model.pt"  # the checkpoint name of a run's final model (engine/run_folder.py MODEL)


def _round(value: Any) -> Any:
    return round(value, DIGITS) if isinstance(value, float) else value


def rounded(values: Mapping[str, Any]) -> dict[str, Any]:
    """A flat mapping of numbers with its floats rounded to DIGITS decimals (what the JSON keeps)."""
    return {k: _round(v) for k, v in values.items()}


@dataclass
class Clustering:
    """The signals of one training clustering (the run's own pseudo-labels)."""

    iteration: int
    epoch: int
    descriptor: str  # the descriptor clustered: encoder or final
    signals: Signals

    def to_json(self) -> dict[str, Any]:
        return {"iteration": self.iteration, "epoch": self.epoch, "descriptor": self.descriptor,
                "signals": rounded(self.signals)}


@dataclass
class Judged:
    """A model judged on the reference clustering: a kept snapshot or the final model (`checkpoint` relative to the
    run folder), its signals, the score and terms logged at the time, and its labelled scores for the record."""

    checkpoint: str
    iteration: int
    signals: Signals
    score: float | None = None
    terms: dict[str, float | None] = field(default_factory=dict)
    labelled: dict[str, dict[str, float | None]] | None = None  # split ("test", "val") -> metric -> value

    def to_json(self) -> dict[str, Any]:
        out = {"checkpoint": self.checkpoint, "iteration": self.iteration, "signals": rounded(self.signals),
               "score": _round(self.score), "terms": rounded(self.terms)}
        if self.labelled is not None:
            out["labelled"] = {split: rounded(scores) for split, scores in self.labelled.items()}
        return out

    def labelled_map(self, split: str) -> float | None:
        value = (self.labelled or {}).get(split, {}).get("mAP")
        return float(value) if isinstance(value, (int, float)) else None


@dataclass
class LabelFreeRecord:
    """Everything a run logged without labels: `score` names the spec of the logged scores."""

    score: str = DEFAULT_SPEC
    clusterings: list[Clustering] = field(default_factory=list)
    snapshots: list[Judged] = field(default_factory=list)
    final: Judged | None = None

    def add_snapshot(self, judged: Judged) -> None:
        """Keep `judged`, replacing an earlier entry of the same checkpoint (a snapshot taken again after a resume)."""
        self.snapshots = [s for s in self.snapshots if s.checkpoint != judged.checkpoint] + [judged]

    def to_json(self) -> dict[str, Any]:
        return {"version": VERSION, "score": self.score, "clusterings": [c.to_json() for c in self.clusterings],
                "snapshots": [s.to_json() for s in self.snapshots],
                "final": None if self.final is None else self.final.to_json()}

    @classmethod
    def from_json(cls, data: Any, where: str | None = None) -> LabelFreeRecord:
        """The record of a `label_free` mapping; InputError naming what is wrong (a newer version, a missing key)."""
        fix = "train the run again with this raereid, or pass runs written by it"
        if not isinstance(data, Mapping):
            raise InputError("label_free is not a mapping", where=where, fix=fix)
        if data.get("version") != VERSION:
            raise InputError(f"label_free version {data.get('version')!r} is not the one this raereid reads "
                             f"({VERSION})", where=where, fix=fix)
        try:
            return cls(
                score=str(data["score"]),
                clusterings=[Clustering(int(c["iteration"]), int(c["epoch"]), str(c["descriptor"]),
                                        _signals(c["signals"])) for c in data["clusterings"]],
                snapshots=[_judged(s) for s in data["snapshots"]],
                final=None if data["final"] is None else _judged(data["final"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError(f"label_free is malformed ({type(exc).__name__}: {exc})", where=where, fix=fix) from None

    def judged(self, checkpoints: bool = True) -> list[Judged]:
        """The judged models: every kept snapshot then the final model (`checkpoints=False`: the final one only)."""
        found = list(self.snapshots) if checkpoints else []
        return found + ([self.final] if self.final is not None else [])

    def candidates(self, run: str, checkpoints: bool = True, final_labelled: Mapping[str, float | None] | None = None
                   ) -> list[Candidate]:
        """The run's models as ranking candidates; `final_labelled` ({"test": mAP, "val": mAP}, from metrics.json)
        is the final model's labelled mAP, for the record."""
        out = []
        for judged in self.judged(checkpoints):
            test, val = judged.labelled_map("test"), judged.labelled_map("val")
            if judged is self.final and final_labelled is not None:
                test, val = final_labelled.get("test"), final_labelled.get("val")
            out.append(Candidate(run, judged.checkpoint, judged.signals, judged.iteration, test, val))
        return out


def _signals(data: Any) -> Signals:
    if not isinstance(data, Mapping):
        raise TypeError("signals is not a mapping")
    leaked = sorted(LABELLED_KEYS & set(data))
    if leaked:
        raise ValueError(f"signals carry labelled metrics {leaked}")
    values = {k: data.get(k) for k in SIGNAL_KEYS}
    bad = [k for k, v in values.items() if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float)))]
    if bad:
        raise ValueError(f"signal {bad[0]} is {values[bad[0]]!r}, not a number")
    return values


def _judged(data: Any) -> Judged:
    labelled = data.get("labelled")
    if labelled is not None and not isinstance(labelled, Mapping):
        raise TypeError("labelled is not a mapping")
    terms = data.get("terms") or {}
    score = data.get("score")
    return Judged(str(data["checkpoint"]), int(data["iteration"]), _signals(data["signals"]),
                  None if score is None else float(score), {str(k): v for k, v in terms.items()},
                  None if labelled is None else {str(s): dict(v) for s, v in labelled.items()})
