"""First-purchase offers by hand."""

from __future__ import annotations

import pytest

from cvo_plugin.analytics.offers import first_purchase_offers, product_revenue, wilson_lower_bound


def test_wilson_lower_bound() -> None:
    bounds = wilson_lower_bound([5, 0, 10], [10, 0, 10])
    assert bounds[0] == pytest.approx(0.2366, abs=1e-4)
    assert bounds[1] == 0.0
    assert bounds[2] == pytest.approx(0.7225, abs=1e-4)
    with pytest.raises(ValueError, match="exceed"):
        wilson_lower_bound([3], [2])


def test_product_revenue() -> None:
    # product 0: 2 x 10 - 1 refunded x 10 - 1 discount; product 1: 3 x 5 and a return of 1
    revenue = product_revenue([0, 1, 1], 3, quantity=[2, 3, -1], unit_price=[10.0, 5.0, 5.0],
                              refunded_quantity=[1, 0, 0], discount=[1.0, 0.0, 0.0])  # fmt: skip
    assert revenue.tolist() == [9.0, 10.0, 0.0]


def test_first_purchase_offers_by_hand() -> None:
    # as of day 1000. Customers (first day, second day):
    # 0: 500, 550 (repeat in 50 days)  1: 500, 800 (repeat in 300)  2: 500, none
    # 3: 950, 960 (too young for either window)
    first = [500, 500, 500, 950]
    second = [550, 800, -1, 960]
    stats = first_purchase_offers(
        pair_customer=[0, 0, 1, 2, 3, 3, 0],
        pair_product=[0, 1, 0, 1, 0, 2, 0],  # customer 0 lists product 0 twice: counted once
        n_products=4,
        first_day=first,
        second_day=second,
        as_of_day=1000,
        clv=[40.0, 20.0, 6.0, 10.0],
        value_after=[30.0, 10.0, 0.0, 5.0],
        price=[5.0, 50.0, 8.0, 3.0],
        revenue=[100.0, 500.0, 8.0, 0.0],
        min_customers=2,
    )
    assert stats.customers.tolist() == [3, 2, 1, 0]
    assert stats.eligible_90.tolist() == [2, 2, 0, 0]
    assert stats.repeat_90.tolist() == [1, 1, 0, 0]
    assert stats.repeat_rate_90[:2].tolist() == [0.5, 0.5]
    assert stats.eligible_365.tolist() == [2, 2, 0, 0]
    assert stats.repeat_365.tolist() == [2, 1, 0, 0]
    assert stats.avg_clv[:3].tolist() == pytest.approx([70 / 3, 23.0, 10.0])
    assert stats.avg_value_after[:3].tolist() == pytest.approx([15.0, 15.0, 5.0])
    # median first-purchase price (5, 50, 8) is 8: product 1 is too dear, product 2 has
    # nobody eligible, product 3 was never a first purchase
    assert stats.tripwires.tolist() == [0]
    assert stats.core.tolist() == [1, 0, 2]
