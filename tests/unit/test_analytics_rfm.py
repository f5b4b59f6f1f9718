"""RFM scoring: hand-checked cases and hypothesis properties."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cvo_plugin.analytics.rfm import quantile_scores, rfm_grid, rfm_scores, to_five_point


def test_distinct_values_make_true_quintiles() -> None:
    values = np.arange(1, 11)
    assert quantile_scores(values, 5).tolist() == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    assert quantile_scores(values, 5, higher_is_better=False).tolist() == [5, 5, 4, 4, 3, 3, 2, 2, 1, 1]


def test_ties_share_a_score_by_the_share_they_beat() -> None:
    # seven one-order customers, two with 2 orders, one with 3
    f = [1, 1, 1, 1, 1, 1, 1, 2, 2, 3]
    # 2 orders beat 7 of 10: 1 + 5 * 7 // 10 = 4; 3 orders beat 9: 1 + 45 // 10 = 5
    assert quantile_scores(f, 5).tolist() == [1] * 7 + [4, 4, 5]


def test_fewer_distinct_values_than_the_scale() -> None:
    assert quantile_scores([5, 5, 5, 5], 5).tolist() == [1, 1, 1, 1]
    # half beat the other half: 1 + 5 * 2 // 4 = 3
    assert quantile_scores([1, 2, 1, 2], 5).tolist() == [1, 3, 1, 3]
    assert quantile_scores([7.0], 5).tolist() == [1]
    assert quantile_scores([], 5).tolist() == []


def test_rfm_scores_by_hand() -> None:
    scores = rfm_scores(recency_days=[0, 10, 100], frequency=[3, 1, 1], monetary=[30.0, 5.0, 50.0], scale=3)
    # recency: 0 days beats 2 of 3 -> 1 + 3*2//3 = 3; 10 days beats 1 -> 2; 100 -> 1
    assert scores.r.tolist() == [3, 2, 1]
    assert scores.f.tolist() == [3, 1, 1]
    assert scores.m.tolist() == [2, 1, 3]
    assert scores.codes().tolist() == [332, 211, 113]


@pytest.mark.parametrize(
    "scale, expected",
    [(3, [1, 3, 5]), (4, [1, 2, 4, 5]), (5, [1, 2, 3, 4, 5]), (2, [1, 5])],
)
def test_scales_map_onto_the_five_point_grid(scale: int, expected: list[int]) -> None:
    assert to_five_point(np.arange(1, scale + 1), scale).tolist() == expected


def test_bad_scale_and_scores_are_refused() -> None:
    with pytest.raises(ValueError, match="scale"):
        quantile_scores([1, 2], 1)
    with pytest.raises(ValueError, match="scale"):
        quantile_scores([1, 2], 11)
    with pytest.raises(ValueError, match="1..3"):
        to_five_point(np.array([4]), 3)
    with pytest.raises(ValueError, match="finite"):
        quantile_scores([1.0, float("nan")], 5)


def test_grid_counts_and_average_monetary() -> None:
    grid = rfm_grid(r=[1, 1, 3, 3], f=[2, 2, 3, 1], monetary=[10.0, 30.0, 5.0, 7.0], scale=3)
    assert grid.customers.tolist() == [[0, 2, 0], [0, 0, 0], [1, 0, 1]]
    assert grid.avg_monetary[0, 1] == 20.0
    assert grid.avg_monetary[2, 0] == 7.0
    assert np.isnan(grid.avg_monetary[1, 1])


values_st = st.lists(st.integers(min_value=0, max_value=60), min_size=1, max_size=200)
scale_st = st.integers(min_value=2, max_value=10)


@settings(max_examples=150, deadline=None)
@given(values=values_st, scale=scale_st, higher=st.booleans())
def test_scores_lie_in_the_scale_and_are_monotone(values: list[int], scale: int, higher: bool) -> None:
    x = np.array(values, dtype=float)
    scores = quantile_scores(x, scale, higher_is_better=higher)
    assert scores.min() >= 1 and scores.max() <= scale
    # the worst value always scores 1
    worst = x.min() if higher else x.max()
    assert set(scores[x == worst].tolist()) == {1}
    # monotone: a better value never scores lower
    better = x if higher else -x
    order = np.argsort(better, kind="stable")
    assert np.all(np.diff(scores[order].astype(int)) >= 0)
    # equal values, equal scores
    for value in np.unique(x):
        assert len(set(scores[x == value].tolist())) == 1


@settings(max_examples=100, deadline=None)
@given(values=values_st, scale=scale_st, data=st.data())
def test_scores_are_deterministic_and_permutation_invariant(values: list[int], scale: int, data) -> None:  # type: ignore[no-untyped-def]
    x = np.array(values, dtype=float)
    permutation = np.array(data.draw(st.permutations(range(len(x)))), dtype=int)
    first = quantile_scores(x, scale)
    assert np.array_equal(first, quantile_scores(x.copy(), scale))
    assert np.array_equal(quantile_scores(x[permutation], scale), first[permutation])


@settings(max_examples=100, deadline=None)
@given(groups=st.integers(min_value=1, max_value=20), scale=scale_st)
def test_distinct_values_fill_every_score_equally(groups: int, scale: int) -> None:
    x = np.arange(groups * scale, dtype=float)
    counts = np.bincount(quantile_scores(x, scale), minlength=scale + 1)[1:]
    assert counts.tolist() == [groups] * scale


@settings(max_examples=100, deadline=None)
@given(
    rows=st.lists(
        st.tuples(st.integers(0, 400), st.integers(1, 12), st.floats(0, 5000, allow_nan=False)),
        min_size=1,
        max_size=120,
    ),
    scale=st.integers(3, 5),
)
def test_rfm_is_monotone_in_each_input(rows: list[tuple[int, int, float]], scale: int) -> None:
    recency, frequency, monetary = (np.array(c, dtype=float) for c in zip(*rows, strict=True))
    scores = rfm_scores(recency, frequency, monetary, scale)
    for value, score, sign in ((recency, scores.r, -1), (frequency, scores.f, 1), (monetary, scores.m, 1)):
        assert score.min() >= 1 and score.max() <= scale
        order = np.argsort(sign * value, kind="stable")
        assert np.all(np.diff(score[order].astype(int)) >= 0)
