"""Per-group figures of the segment summary (groups are segments, or the whole shop).

For the customers of a group (sums over its customers):

- ``customers``; ``share_customers`` = customers / all scored customers;
- ``revenue`` = net revenue; ``share_revenue`` = revenue / all revenue (0 when the shop has none);
- ``orders`` = completed orders; ``aov`` = revenue / orders; ``orders_per_customer`` = orders /
  customers;
- ``days_between_orders`` = sum(last - first order day) / sum(orders - 1) over the group's
  customers with two or more orders (the mean gap between consecutive orders; NaN when nobody
  in the group has ordered twice);
- ``avg_clv`` = mean historic CLV; ``avg_predicted_clv`` = mean predicted 12-month value over the
  customers that have one; ``avg_p_alive`` likewise;
- ``formula_clv`` = the seeds' formula with the group's AOV and purchase frequency
  (orders / customer-years, see `clv.customer_years`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cvo_plugin.analytics._arrays import float_array, int_array, safe_divide, same_length
from cvo_plugin.analytics.clv import customer_years, formula_clv


@dataclass(frozen=True)
class GroupSummary:
    """One entry per group (index = group id); money in the shop currency."""

    customers: np.ndarray
    share_customers: np.ndarray
    revenue: np.ndarray
    share_revenue: np.ndarray
    orders: np.ndarray
    aov: np.ndarray
    orders_per_customer: np.ndarray
    days_between_orders: np.ndarray
    avg_clv: np.ndarray
    avg_predicted_clv: np.ndarray
    avg_p_alive: np.ndarray
    purchase_frequency: np.ndarray
    formula_clv: np.ndarray


def group_summary(
    group: np.ndarray,
    n_groups: int,
    *,
    orders: np.ndarray,
    revenue: np.ndarray,
    first_day: np.ndarray,
    last_day: np.ndarray,
    tenure_days: np.ndarray,
    historic_clv: np.ndarray,
    predicted_clv: np.ndarray,
    p_alive: np.ndarray,
    margin: float,
    lifespan_years: float,
) -> GroupSummary:
    """Summarise customers by group (see the module docstring for every definition).

    Parameters
    ----------
    group : int array, shape (n,)
        Group id 0..n_groups-1 of each customer.
    n_groups : int
        Number of groups (empty groups get zeros and NaN averages).
    orders, revenue, first_day, last_day, tenure_days : arrays, shape (n,)
        Per customer: completed orders, net revenue, first and last order day numbers, days
        since the first order.
    historic_clv : float array, shape (n,)
        Historic CLV per customer.
    predicted_clv, p_alive : float arrays, shape (n,)
        Predicted 12-month value and P(alive); NaN where no model was fitted.
    margin, lifespan_years : float
        Inputs of the seeds' formula.
    """
    g = int_array(group, "group")
    n_orders = int_array(orders, "orders")
    money = float_array(revenue, "revenue", nonnegative=True)
    first = int_array(first_day, "first_day")
    last = int_array(last_day, "last_day")
    tenure = float_array(tenure_days, "tenure_days", nonnegative=True)
    clv = float_array(historic_clv, "historic_clv")
    predicted = np.asarray(predicted_clv, dtype=np.float64)
    alive = np.asarray(p_alive, dtype=np.float64)
    same_length(
        group=g, orders=n_orders, revenue=money, first_day=first, last_day=last, tenure_days=tenure,
        historic_clv=clv, predicted_clv=predicted, p_alive=alive,
    )  # fmt: skip
    if g.size and (g.min() < 0 or g.max() >= n_groups):
        raise ValueError(f"group ids must lie in 0..{n_groups - 1}")

    def total(weights: np.ndarray | None = None) -> np.ndarray:
        return np.bincount(g, weights=weights, minlength=n_groups).astype(np.float64)

    customers = total()
    revenue_sum = total(money)
    order_sum = total(n_orders.astype(np.float64))
    repeat = n_orders >= 2
    gaps = total(np.where(repeat, last - first, 0).astype(np.float64))
    intervals = total(np.where(repeat, n_orders - 1, 0).astype(np.float64))
    known = np.isfinite(predicted)
    known_alive = np.isfinite(alive)
    frequency = safe_divide(order_sum, total(customer_years(tenure)))
    aov = safe_divide(revenue_sum, order_sum)
    formula = np.array(
        [
            formula_clv(a, f, margin, lifespan_years) if np.isfinite(a) and np.isfinite(f) else np.nan
            for a, f in zip(aov, frequency, strict=True)
        ]
    )  # one value per group, not per customer
    all_customers = customers.sum()
    all_revenue = revenue_sum.sum()
    return GroupSummary(
        customers=customers.astype(np.int64),
        share_customers=safe_divide(customers, np.full(n_groups, all_customers), empty=0.0),
        revenue=revenue_sum,
        share_revenue=safe_divide(revenue_sum, np.full(n_groups, all_revenue), empty=0.0),
        orders=order_sum.astype(np.int64),
        aov=aov,
        orders_per_customer=safe_divide(order_sum, customers),
        days_between_orders=safe_divide(gaps, intervals),
        avg_clv=safe_divide(total(clv), customers),
        avg_predicted_clv=safe_divide(total(np.where(known, predicted, 0.0)), total(known.astype(float))),
        avg_p_alive=safe_divide(total(np.where(known_alive, alive, 0.0)), total(known_alive.astype(float))),
        purchase_frequency=frequency,
        formula_clv=formula,
    )
