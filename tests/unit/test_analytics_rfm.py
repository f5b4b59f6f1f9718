"""RFM scoring: hand-checked cases and hypothesis properties."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cvo_plugin.analytics.rfm import quantile_scores, rfm_grid, rfm_scores, to_five_point
from tests.reference import reference_scores


def test_distinct_values_make_true_quintiles() -> None:
    values = np.arange(1, 11)
    assert quantile_scores(values, 5).tolist() == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    assert quantile_scores(values, 5, higher_is_better=False).tolist() == [5, 5, 4, 4, 3, 3, 2, 2, 1, 1]


def test_a_large_tie_block_takes_its_bin_and_the_rest_are_spread() -> None:
    # a typical shop: 65 % one-order customers
    f = [1] * 65 + [2] * 15 + [3] * 8 + [4] * 5 + [5] * 3 + [6] * 2 + [7] * 2
    scores = quantile_scores(f, 5)
    assert {v: int(scores[f.index(v)]) for v in sorted(set(f))} == {1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 6: 5, 7: 5}
    # bin 1 (target 20) is the block of 65; bin 2 ends nearest 65 + 35/4 = 73.75: after the 2s (80);
    # bin 3 nearest 80 + 20/3: after the 3s (88); bin 4 nearest 88 + 12/2 = 94: after the 4s (93)


def test_boundaries_go_to_the_nearest_block_end() -> None:
    # seven distinct values, scale 5: targets 1.4 -> 1, then 1 + 6/4 = 2.5 -> tie goes up to 3, ...
    assert quantile_scores(np.arange(1, 8), 5).tolist() == [1, 2, 2, 3, 4, 4, 5]
    # a huge top block still gets the top score when there are more values than scores
    values = list(range(6)) + [99] * 94
    scores = quantile_scores(values, 5)
    assert scores[:6].tolist() == [1, 1, 1, 2, 3, 4] and set(scores[6:].tolist()) == {5}


def test_ties_share_a_score() -> None:
    # blocks 1 (2), 2, 3 (3), 4, 5, 6, 9 (2); bin 4 ends nearest 6 + 5/2 = 8.5: a tie, so after the 6
    assert quantile_scores([3, 1, 3, 2, 1, 9, 9, 3, 4, 5, 6], 5).tolist() == [3, 1, 3, 2, 1, 5, 5, 3, 4, 4, 4]


def test_rfm_scores_by_hand() -> None:
    scores = rfm_scores(recency_days=[0, 10, 100], frequency=[3, 1, 1], monetary=[30.0, 5.0, 50.0], scale=3)
    # at most 3 distinct values each: scores in order of the values (fewer days is better)
    assert scores.r.tolist() == [3, 2, 1]
    assert scores.f.tolist() == [2, 1, 1]
    assert scores.m.tolist() == [2, 1, 3]
    assert scores.codes().tolist() == [322, 211, 113]


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
    # the worst value always scores 1; with more distinct values than scores, all are used
    worst = x.min() if higher else x.max()
    assert set(scores[x == worst].tolist()) == {1}
    distinct = len(np.unique(x))
    expected = set(range(1, scale + 1)) if distinct > scale else set(range(1, distinct + 1))
    assert set(scores.tolist()) == expected
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


@settings(max_examples=300, deadline=None)
@given(
    values=st.lists(st.integers(min_value=0, max_value=30), min_size=1, max_size=300),
    scale=scale_st,
    higher=st.booleans(),
)
def test_scores_match_the_block_by_block_reference(values: list[int], scale: int, higher: bool) -> None:
    expected = reference_scores([float(v) for v in values], scale, higher)
    assert quantile_scores(np.array(values, dtype=float), scale, higher).tolist() == expected
