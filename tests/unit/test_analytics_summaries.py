"""The segment summary's figures by hand."""

from __future__ import annotations

import numpy as np
import pytest

from cvo_plugin.analytics.summaries import group_summary


def test_group_summary_by_hand() -> None:
    nan = float("nan")
    summary = group_summary(
        group=[0, 0, 1],
        n_groups=3,
        orders=[3, 1, 2],
        revenue=[90.0, 30.0, 80.0],
        first_day=[100, 150, 100],
        last_day=[160, 150, 110],
        tenure_days=[730, 50, 200],
        historic_clv=[36.0, 12.0, 32.0],
        predicted_clv=[20.0, nan, 10.0],
        p_alive=[0.5, nan, 0.9],
        margin=0.4,
        lifespan_years=3.0,
    )
    assert summary.customers.tolist() == [2, 1, 0]
    assert summary.share_customers.tolist() == pytest.approx([2 / 3, 1 / 3, 0.0])
    assert summary.revenue.tolist() == [120.0, 80.0, 0.0]
    assert summary.share_revenue.tolist() == pytest.approx([0.6, 0.4, 0.0])
    assert summary.orders.tolist() == [4, 2, 0]
    assert summary.aov[:2].tolist() == [30.0, 40.0]
    assert summary.orders_per_customer[:2].tolist() == [2.0, 2.0]
    # group 0: only the 3-order customer repeats: 60 days over 2 gaps
    assert summary.days_between_orders[:2].tolist() == [30.0, 10.0]
    assert summary.avg_clv[:2].tolist() == [24.0, 32.0]
    assert summary.avg_predicted_clv[:2].tolist() == [20.0, 10.0]  # the unknown one left out
    assert summary.avg_p_alive[:2].tolist() == [0.5, 0.9]
    # group 0: 4 orders over 2 + 1 customer-years; 30 x 4/3 x 0.4 x 3 = 48
    assert summary.purchase_frequency[0] == pytest.approx(4 / 3)
    assert summary.formula_clv[0] == pytest.approx(48.0)
    assert np.isnan(summary.aov[2]) and np.isnan(summary.formula_clv[2])


def test_group_ids_are_checked() -> None:
    with pytest.raises(ValueError, match="group ids"):
        one = {"orders": [1], "first_day": [1], "last_day": [1], "tenure_days": [1]}
        money = {"revenue": [1.0], "historic_clv": [1.0], "predicted_clv": [1.0], "p_alive": [1.0]}
        group_summary([2], 2, **one, **money, margin=0.5, lifespan_years=1)
