"""Which snapshots pruning keeps."""

from __future__ import annotations

from datetime import date

from cvo_plugin.services.insights.store import snapshots_to_keep


def test_keep_the_latest_days_and_one_per_month() -> None:
    # (id, as_of, is_current), newest first as the query orders them
    snapshots = [
        (9, date(2024, 6, 30), True),
        (8, date(2024, 6, 30), False),  # an earlier computation of the same day
        (7, date(2024, 6, 29), False),
        (6, date(2024, 6, 28), False),
        (5, date(2024, 5, 31), False),
        (4, date(2024, 5, 30), False),
        (3, date(2024, 4, 30), False),
        (2, date(2024, 3, 31), False),
        (1, date(2024, 3, 1), False),
    ]
    # the newest two days, plus the last snapshot of each of the three latest months
    assert snapshots_to_keep(snapshots, keep=2, monthly_keep=3) == {9, 7, 5, 3}
    assert snapshots_to_keep(snapshots, keep=2, monthly_keep=0) == {9, 7}
    # the current one is always kept, even when an older day is current
    older_current = [(s[0], s[1], s[0] == 2) for s in snapshots]
    assert 2 in snapshots_to_keep(older_current, keep=1, monthly_keep=0)
