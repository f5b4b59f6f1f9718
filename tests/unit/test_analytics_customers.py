"""Grouping orders into customer histories, on hand-checkable data."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pytest

from cvo_plugin.analytics.customers import completed_orders, customer_history, first_orders

EPOCH = date(1970, 1, 1)


def day(n: int) -> date:
    return EPOCH + timedelta(days=n)


def test_history_by_hand() -> None:
    # customer 10: two orders on day 100 (10 + 5), one on day 110 (20)
    # customer 20: one order on day 105 (50); customer 30 only after the as-of day
    history = customer_history(
        customer=[10, 20, 10, 30, 10],
        day=[100, 105, 110, 120, 100],
        net_revenue=[10.0, 50.0, 20.0, 7.0, 5.0],
        as_of=day(115),
    )
    assert history.customer.tolist() == [10, 20]
    assert history.orders.tolist() == [3, 1]
    assert history.revenue.tolist() == [35.0, 50.0]
    assert history.first_day.tolist() == [100, 105]
    assert history.last_day.tolist() == [110, 105]
    assert history.purchase_days.tolist() == [2, 1]
    assert history.first_day_revenue.tolist() == [15.0, 50.0]
    assert history.second_day.tolist() == [110, -1]
    assert history.recency_days.tolist() == [5, 10]
    assert history.tenure_days.tolist() == [15, 10]
    assert history.aov.tolist() == pytest.approx([35 / 3, 50.0])
    assert history.repeat_purchases.tolist() == [1, 0]
    assert history.repeat_value.tolist() == [20.0, 0.0]
    assert history.index_of(np.array([20, 30, 10])).tolist() == [1, -1, 0]


def test_huge_ids_give_the_same_history() -> None:
    big = 2**62
    small = customer_history([1, 2, 1], [5, 6, 9], [1.0, 2.0, 3.0], day(10))
    large = customer_history([big + 1, big + 2, big + 1], [5, 6, 9], [1.0, 2.0, 3.0], day(10))
    assert (large.customer - big).tolist() == small.customer.tolist()
    for name in ("orders", "revenue", "first_day", "last_day", "purchase_days", "second_day"):
        assert getattr(large, name).tolist() == getattr(small, name).tolist()


def test_empty_and_all_after_as_of() -> None:
    assert len(customer_history([], [], [], day(10))) == 0
    assert len(customer_history([1], [11], [5.0], day(10))) == 0


def test_completed_orders_leave_out_cancelled_and_fully_refunded() -> None:
    mask = completed_orders([False, True, False, False], [10.0, 10.0, 0.0, 0.01])
    assert mask.tolist() == [True, False, False, True]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"customer": [1, 2], "day": [1], "net_revenue": [1.0]}, "same length"),
        ({"customer": [1], "day": [1], "net_revenue": [-1.0]}, "negative"),
        ({"customer": [1], "day": [1], "net_revenue": [float("nan")]}, "finite"),
        ({"customer": [-1], "day": [1], "net_revenue": [1.0]}, "negative"),
        ({"customer": [1.5], "day": [1], "net_revenue": [1.0]}, "integers"),
    ],
)
def test_bad_input_is_refused(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        customer_history(as_of=day(10), **kwargs)


def test_as_of_must_be_a_date() -> None:
    with pytest.raises(ValueError, match="date"):
        customer_history([1], [1], [1.0], "2024-01-01")  # type: ignore[arg-type]


def test_first_orders_by_time_then_id() -> None:
    customers, orders = first_orders(
        customer=[7, 3, 7, 3, 7], seconds=[50, 10, 20, 10, 20], order_id=[1, 9, 5, 4, 2]
    )
    # customer 3: two orders at the same instant, the lower id; customer 7: the earliest
    assert customers.tolist() == [3, 7] and orders.tolist() == [4, 2]
    assert [a.tolist() for a in first_orders([], [], [])] == [[], []]
