"""The label-free score and the ranking behind `raereid select` (raereid.selection): term values and the geometric
mean by hand, the ranking of a constructed example, and the labelled mAP never moving it."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from raereid.errors import InputError
from raereid.selection import SPECS, Candidate, ScoreSpec, rank_candidates, score_signals, score_terms
from raereid.selection.score import FLOOR, geometric_mean


def signals(outliers: float = 0.1, cross: float | None = 0.8, ari: float | None = 0.7, sil: float | None = 0.4,
            largest: float | None = 0.05, clusters: int = 40, agreement: float | None = None) -> dict:
    """A signal record with the keys the terms read (the others of SIGNAL_KEYS do not matter here)."""
    return {"clusters": clusters, "outlier_fraction": outliers, "cameras": 4, "cross_camera_share": cross,
            "stability_ari": ari, "both_clustered": None if ari is None else 0.8, "silhouette": sil,
            "largest_cluster_share": largest, "knn_agreement": agreement, "snd": None}


HEALTHY = signals()
CAMERA_BOUND = signals(cross=0.1)  # clusters confined to one camera: grouping by camera style
COLLAPSED = signals(outliers=0.0, cross=1.0, ari=1.0, sil=None, largest=1.0, clusters=1)  # one group of everything


def test_terms_by_hand() -> None:
    # coverage 1 - 0.1; cross-camera 0.8; stability max(0, 0.7); separation (1 + 0.4) / 2; balance 1 - 0.05
    assert score_terms(HEALTHY, ("coverage", "cross_camera", "stability", "separation", "balance")) == pytest.approx(
        {"coverage": 0.9, "cross_camera": 0.8, "stability": 0.7, "separation": 0.7, "balance": 0.95})


def test_degenerate_clusterings_score_zero_where_absent_inputs_score_none() -> None:
    # one cluster: no silhouette (separation 0), largest share 1 (balance 0); no previous round: stability None
    terms = score_terms(COLLAPSED, ("separation", "balance"))
    assert terms == {"separation": 0.0, "balance": 0.0}
    empty = {"clusters": 0, "outlier_fraction": 1.0, "cameras": 3, "cross_camera_share": None,
             "largest_cluster_share": None, "silhouette": None, "stability_ari": None, "both_clustered": 0.0}
    assert score_terms(empty, ("coverage", "cross_camera", "balance", "separation", "stability")) == {
        "coverage": 0.0, "cross_camera": 0.0, "balance": 0.0, "separation": 0.0, "stability": 0.0}
    first_round = {"clusters": 5, "stability_ari": None, "both_clustered": None, "knn_agreement": None,
                   "cameras": None, "cross_camera_share": None}
    assert score_terms(first_round, ("stability", "agreement", "cross_camera")) == {
        "stability": None, "agreement": None, "cross_camera": None}
    assert score_terms({"stability_ari": -0.3, "both_clustered": 0.5}, ("stability",)) == {"stability": 0.0}


def test_geometric_mean_by_hand() -> None:
    # (0.9 * 0.8 * 0.7 * 0.7 * 0.95) ** (1/5): logs -0.105361 -0.223144 -0.356675 -0.356675 -0.051293,
    # sum -1.093147, mean -0.218629 -> 0.803619
    assert geometric_mean([0.9, 0.8, 0.7, 0.7, 0.95]) == pytest.approx(0.803619, abs=1e-6)
    assert geometric_mean([0.0, 1.0]) == pytest.approx(math.sqrt(FLOOR))  # a zero term is floored, not fatal
    assert score_signals(HEALTHY, "clusters") == pytest.approx((0.9 * 0.8 * 0.7 * 0.95) ** 0.25)


def test_ranking_of_a_constructed_example() -> None:
    # health without agreement (no candidate has a second descriptor): the five terms above.
    # healthy 0.803619; camera-bound: cross 0.1 instead of 0.8, log sum -1.093147 + 0.223144 - 2.302585 = -3.172589,
    # mean -0.634518 -> 0.530191; collapsed: 1 1 1 and two zeros floored at 1e-3 -> (1e-3 ** 2) ** (1/5) = 0.063096
    ranking = rank_candidates([Candidate("collapsed", "model.pt", COLLAPSED),
                               Candidate("camera_bound", "model.pt", CAMERA_BOUND),
                               Candidate("healthy", "model.pt", HEALTHY)])
    assert [r.run for r in ranking.records] == ["healthy", "camera_bound", "collapsed"]
    assert [r.score for r in ranking.records] == pytest.approx([0.803619, 0.530191, 0.063096], abs=1e-6)
    assert ranking.chosen.run == "healthy" and ranking.chosen.rank == 1 and ranking.chosen.chosen
    assert ranking.terms == ("coverage", "cross_camera", "stability", "separation", "balance")
    assert ranking.dropped == {"agreement": "does not apply to collapsed / model.pt"}


def test_checkpoints_within_runs_and_the_best_per_run() -> None:
    later = signals(ari=0.9, sil=0.5)
    ranking = rank_candidates([Candidate("a", "iter_100", HEALTHY, 100), Candidate("a", "iter_200", later, 200),
                               Candidate("b", "iter_100", CAMERA_BOUND, 100), Candidate("b", "iter_200", HEALTHY, 200)])
    assert [(r.run, r.checkpoint) for r in ranking.best_per_run()] == [("a", "iter_200"), ("b", "iter_200")]
    # a/iter_100 and b/iter_200 have the same signals: the tie keeps the input order
    assert [(r.run, r.checkpoint, r.rank) for r in ranking.records] == [
        ("a", "iter_200", 1), ("a", "iter_100", 2), ("b", "iter_200", 3), ("b", "iter_100", 4)]
    record = ranking.chosen.as_record()
    assert {"run", "checkpoint", "score", "iteration", "rank", "chosen", "labelled_map"} <= set(record)
    assert ranking.as_json()["records"][0] == record


def test_a_term_missing_for_one_candidate_is_dropped_for_all() -> None:
    first = signals(ari=None)  # the first clustering of a run: no previous round
    ranking = rank_candidates([Candidate("r", "iter_25", first), Candidate("r", "iter_50", HEALTHY)])
    assert "stability" not in ranking.terms
    assert ranking.dropped["stability"] == "does not apply to r / iter_25"


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.floats(0, 0.9), st.floats(0, 1), st.floats(-1, 1), st.floats(-1, 1), st.floats(0, 1),
                          st.floats(0, 100)), min_size=1, max_size=8),
       st.randoms(use_true_random=False))
def test_the_labelled_map_never_moves_the_ranking(rows, rnd) -> None:
    candidates = [Candidate(f"run{i}", "model.pt", signals(o, c, a, s, g), labelled_map=m)
                  for i, (o, c, a, s, g, m) in enumerate(rows)]
    maps = [c.labelled_map for c in candidates]
    rnd.shuffle(maps)
    shuffled = [Candidate(c.run, c.checkpoint, c.signals, labelled_map=m) for c, m in zip(candidates, maps)]
    first, second = rank_candidates(candidates), rank_candidates(shuffled)
    assert [(r.run, r.score) for r in first.records] == [(r.run, r.score) for r in second.records]
    assert {r.run: r.labelled_map for r in second.records} == {c.run: c.labelled_map for c in shuffled}


def test_bad_input_is_refused_clearly() -> None:
    with pytest.raises(InputError, match="no candidate"):
        rank_candidates([])
    with pytest.raises(InputError, match="given twice"):
        rank_candidates([Candidate("r", "model.pt", HEALTHY), Candidate("r", "model.pt", HEALTHY)])
    with pytest.raises(InputError, match="unknown score 'best'"):
        rank_candidates([Candidate("r", "model.pt", HEALTHY)], spec="best")
    with pytest.raises(InputError, match=r"labelled metrics \['mAP'\]"):
        rank_candidates([Candidate("r", "model.pt", {**HEALTHY, "mAP": 40.0})])
    with pytest.raises(InputError, match="no term of score 'stability' applies"):
        rank_candidates([Candidate("r", "model.pt", signals(ari=None))], spec="stability")
    with pytest.raises(InputError, match="unknown or no terms"):
        ScoreSpec("mine", ("coverage", "accuracy"), "")
    with pytest.raises(InputError, match="outside"):
        score_terms({"knn_agreement": 1.5}, ("agreement",))


def test_every_spec_is_fixed_and_documented() -> None:
    assert "health" in SPECS
    for spec in SPECS.values():
        assert spec.why and spec.terms
