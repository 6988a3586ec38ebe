"""Property-based tests (hypothesis) of the file-name parsers and the metrics."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from raereid.data.filenames import parse_dukemtmc, parse_market1501, parse_msmt17
from raereid.evaluation import evaluate_rank

pids = st.integers(min_value=-1, max_value=9999)
cams = st.integers(min_value=1, max_value=9)


@given(pids, cams, st.integers(1, 9), st.integers(0, 999999), st.integers(0, 99))
def test_market_names_round_trip(pid: int, cam: int, seq: int, frame: int, box: int) -> None:
    person = f"{pid:04d}" if pid >= 0 else "-1"
    name = f"{person}_c{cam}s{seq}_{frame:06d}_{box:02d}.jpg"
    assert parse_market1501(name) == (pid, cam - 1)
    assert parse_dukemtmc(name) is None


@given(st.integers(0, 9999), cams, st.integers(0, 9999999))
def test_duke_names_round_trip(pid: int, cam: int, frame: int) -> None:
    name = f"{pid:04d}_c{cam}_f{frame:07d}.jpg"
    assert parse_dukemtmc(name) == (pid, cam - 1)
    assert parse_market1501(name) is None


@given(st.integers(0, 4100), st.integers(0, 999), st.integers(1, 15),
       st.sampled_from(["0303morning", "0113noon", "0302afternoon"]))
def test_msmt_names_round_trip(pid: int, idx: int, cam: int, when: str) -> None:
    assert parse_msmt17(f"{pid:04d}_{idx:03d}_{cam:02d}_{when}_0015_0.jpg") == (pid, cam - 1)


@given(st.text(max_size=30))
def test_parsers_never_crash(name: str) -> None:
    for parse in (parse_market1501, parse_dukemtmc, parse_msmt17):
        result = parse(name)
        assert result is None or (isinstance(result[0], int) and result[1] >= 0)


@st.composite
def ranking_problems(draw):
    nq, ng = draw(st.integers(1, 6)), draw(st.integers(2, 25))
    q_pids = draw(arrays(np.int64, nq, elements=st.integers(0, 4)))
    g_pids = draw(arrays(np.int64, ng, elements=st.integers(0, 4)))
    q_cams = draw(arrays(np.int64, nq, elements=st.integers(0, 2)))
    g_cams = draw(arrays(np.int64, ng, elements=st.integers(0, 2)))
    dist = draw(arrays(np.float32, (nq, ng), elements=st.floats(0, 10, width=32), unique=True))
    return dist, q_pids, g_pids, q_cams, g_cams


@settings(max_examples=60, deadline=None)
@given(ranking_problems(), st.randoms(use_true_random=False))
def test_metrics_bounded_monotone_and_gallery_order_invariant(problem, rnd) -> None:
    dist, q_pids, g_pids, q_cams, g_cams = problem
    valid = [((g_pids == p) & (g_cams != c)).any() for p, c in zip(q_pids, q_cams)]
    if not any(valid):
        return
    result = evaluate_rank(dist, q_pids, g_pids, q_cams, g_cams, max_rank=10)
    cmc = result["cmc"]
    assert 0.0 <= result["mAP"] <= 1.0 and 0.0 <= result["mINP"] <= 1.0
    assert np.all(np.diff(cmc) >= 0) and 0.0 <= cmc[0] and cmc[-1] <= 1.0
    perm = np.array(rnd.sample(range(dist.shape[1]), dist.shape[1]))
    shuffled = evaluate_rank(dist[:, perm], q_pids, g_pids[perm], q_cams, g_cams[perm], max_rank=10)
    assert abs(shuffled["mAP"] - result["mAP"]) < 1e-9  # distinct distances: no ties, order must not matter
    np.testing.assert_allclose(shuffled["cmc"], cmc)
