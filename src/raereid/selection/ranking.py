"""The core of `raereid select`: rank candidate models -- checkpoints of one run, or runs -- by the label-free score.

All candidates are scored on the same terms: a term that does not apply to one of them (the first clustering
has no previous round; a variant without fusion has no second descriptor) is dropped for all, and the ranking
says so, so a score is never compared with one made of other terms. A candidate's labelled mAP, where the target
has labels, rides along for the record and never enters the score.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from raereid.errors import InputError
from raereid.selection.score import DEFAULT_SPEC, ScoreSpec, geometric_mean, get_spec, score_terms


@dataclass(frozen=True)
class Candidate:
    """One model to rank: a checkpoint of a run with the label-free signals measured on it. `labelled_map` and
    `labelled_val_map` (test and validation mAP where the target has labels) are for the record only: the score
    never reads them."""

    run: str
    checkpoint: str
    signals: Mapping[str, float | int | None]
    iteration: int | None = None
    labelled_map: float | None = None
    labelled_val_map: float | None = None


@dataclass(frozen=True)
class Ranked:
    """A candidate's place: its score, rank (1 = chosen), whether it is its run's best, and the term values."""

    run: str
    checkpoint: str
    iteration: int | None
    score: float
    rank: int
    best_in_run: bool
    terms: dict[str, float]
    labelled_map: float | None = None
    labelled_val_map: float | None = None

    @property
    def chosen(self) -> bool:
        return self.rank == 1

    def as_record(self) -> dict[str, Any]:
        """A JSON record: run, checkpoint, iteration, score, rank, chosen, best_in_run, terms, and the labelled mAPs
        (test, val; None without labels), for the record."""
        return {"run": self.run, "checkpoint": self.checkpoint, "iteration": self.iteration,
                "score": round(self.score, 6), "rank": self.rank, "chosen": self.chosen,
                "best_in_run": self.best_in_run, "terms": {k: round(v, 6) for k, v in self.terms.items()},
                "labelled_map": self.labelled_map, "labelled_val_map": self.labelled_val_map}


@dataclass(frozen=True)
class Ranking:
    """Candidates best first, the score they were ranked by, its terms used and those dropped (term -> why)."""

    spec: str
    terms: tuple[str, ...]
    records: list[Ranked]
    dropped: dict[str, str] = field(default_factory=dict)

    @property
    def chosen(self) -> Ranked:
        return self.records[0]

    def best_per_run(self) -> list[Ranked]:
        """Each run's best checkpoint, best run first (the checkpoint choice of every run)."""
        return [r for r in self.records if r.best_in_run]

    def as_json(self) -> dict[str, Any]:
        return {"score": self.spec, "terms": list(self.terms), "dropped": dict(self.dropped),
                "records": [r.as_record() for r in self.records]}


def _check(candidates: Sequence[Candidate]) -> None:
    if not candidates:
        raise InputError("no candidate to rank", fix="pass at least one run or checkpoint with label-free signals")
    seen = set()
    for c in candidates:
        key = (c.run, c.checkpoint)
        if key in seen:
            raise InputError(f"candidate {c.run} / {c.checkpoint} is given twice",
                             fix="pass each run's checkpoint once")
        seen.add(key)


def rank_candidates(candidates: Sequence[Candidate], spec: ScoreSpec | str = DEFAULT_SPEC) -> Ranking:
    """Score every candidate with `spec` on the terms that apply to all of them, best first (ties keep the input
    order). InputError when no term applies to every candidate."""
    spec = get_spec(spec)
    _check(candidates)
    values = [score_terms(c.signals, spec.terms) for c in candidates]
    used, dropped = [], {}
    for term in spec.terms:
        lacking = next((c for c, v in zip(candidates, values) if v[term] is None), None)
        if lacking is None:
            used.append(term)
        else:
            dropped[term] = f"does not apply to {lacking.run} / {lacking.checkpoint}"
    if not used:
        raise InputError(f"no term of score {spec.name!r} applies to every candidate ({'; '.join(dropped.values())})",
                         fix="rank candidates that carry the same signals, or choose another score")
    scored = [(geometric_mean([v[t] for t in used]), i) for i, v in enumerate(values)]
    order = sorted(range(len(candidates)), key=lambda i: -scored[i][0])
    records, runs_seen = [], set()
    for rank, i in enumerate(order, start=1):
        c = candidates[i]
        records.append(Ranked(c.run, c.checkpoint, c.iteration, scored[i][0], rank, c.run not in runs_seen,
                              {t: float(values[i][t]) for t in used}, c.labelled_map, c.labelled_val_map))
        runs_seen.add(c.run)
    return Ranking(spec.name, tuple(used), records, dropped)
