"""Ideal-customer profiles: counts per group by hand."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from cvo_plugin.analytics.profiles import local_weekday_hour, order_shape, top_counts, weekday_hour_grid


def test_top_counts_with_ties_unknowns_and_weights() -> None:
    top = top_counts(group=[0, 0, 0, 0, 1, 1], n_groups=3, code=[2, 1, 2, -1, 1, 0], n_codes=3, top=2)
    assert top.codes.tolist() == [[2, 1], [0, 1], [-1, -1]]  # group 1: a tie, the lower code first
    assert top.counts.tolist() == [[2.0, 1.0], [1.0, 1.0], [0.0, 0.0]]
    assert top.shares[0].tolist() == pytest.approx([2 / 3, 1 / 3])
    assert top.totals.tolist() == [3.0, 2.0, 0.0]
    weighted = top_counts([0, 0, 0], 1, [0, 1, 1], 2, weights=[10.0, 1.0, 2.0], top=5)
    assert weighted.codes.tolist() == [[0, 1]]
    assert weighted.counts.tolist() == [[10.0, 3.0]]


def test_local_weekday_and_hour_follow_daylight_saving() -> None:
    times = [
        datetime(2024, 7, 1, 12, 0, tzinfo=UTC),  # Monday, EDT (UTC-4): 08:00
        datetime(2024, 1, 1, 12, 0, tzinfo=UTC),  # Monday, EST (UTC-5): 07:00
        datetime(2024, 1, 1, 3, 0, tzinfo=UTC),  # Sunday 22:00 in New York
    ]
    seconds = np.array([int(t.timestamp()) for t in times])
    weekday, hour = local_weekday_hour(seconds, "America/New_York")
    assert weekday.tolist() == [0, 0, 6]
    assert hour.tolist() == [8, 7, 22]
    assert [w.tolist() for w in local_weekday_hour(seconds, "UTC")] == [[0, 0, 0], [12, 12, 3]]
    with pytest.raises(ValueError, match="time zone"):
        local_weekday_hour(seconds, "Mars/Olympus")


def test_weekday_hour_grid() -> None:
    grid = weekday_hour_grid([0, 0, 1], 2, [0, 0, 6], [8, 8, 23])
    assert grid.shape == (2, 7, 24)
    assert grid[0, 0, 8] == 2 and grid[1, 6, 23] == 1 and grid.sum() == 3


def test_order_shape() -> None:
    shape = order_shape([0, 0, 1], 3, line_count=[1, 3, 2], units=[2, 4, 5], discounted=[True, False, False])
    assert shape.orders.tolist() == [2, 1, 0]
    assert shape.avg_lines[:2].tolist() == [2.0, 2.0]
    assert shape.avg_units[:2].tolist() == [3.0, 5.0]
    assert shape.discounted_share[:2].tolist() == [0.5, 0.0]
    assert np.isnan(shape.avg_lines[2])
