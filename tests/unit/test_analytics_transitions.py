"""Segment transitions between two snapshots by hand."""

from __future__ import annotations

import pytest

from cvo_plugin.analytics.transitions import segment_transitions


def test_transitions_by_hand() -> None:
    # segments: 0 Loyal, 1 At Risk. Before: 1 Loyal (rev 100), 2 Loyal (50), 3 At Risk (20), 9 Loyal (5)
    # After: 1 At Risk (100), 2 Loyal (80), 3 At Risk (20), 4 new Loyal (30); 9 is gone
    moves = segment_transitions(
        before_customer=[9, 1, 2, 3],
        before_segment=[0, 0, 0, 1],
        before_revenue=[5.0, 100.0, 50.0, 20.0],
        after_customer=[4, 3, 2, 1],
        after_segment=[0, 1, 0, 1],
        after_revenue=[30.0, 20.0, 80.0, 100.0],
        n_segments=2,
    )
    new = gone = 2
    assert moves.customers.tolist() == [[1, 1, 1], [0, 1, 0], [1, 0, 0]]
    assert moves.revenue[0, 1] == 100.0  # Loyal -> At Risk carries 100
    assert moves.revenue[0, 0] == 80.0
    assert moves.revenue_change[0, 0] == 30.0  # customer 2 bought 30 more
    assert moves.revenue[new, 0] == 30.0 and moves.revenue_change[new, 0] == 30.0
    assert moves.revenue[0, gone] == 5.0


def test_transitions_check_their_input() -> None:
    with pytest.raises(ValueError, match="twice"):
        segment_transitions([1, 1], [0, 0], [1.0, 1.0], [], [], [], 1)
    with pytest.raises(ValueError, match="codes"):
        segment_transitions([1], [3], [1.0], [], [], [], 2)
    empty = segment_transitions([], [], [], [], [], [], 1)
    assert empty.customers.sum() == 0
