"""Per-customer order history: what RFM, CLV and the summaries are computed from.

Definitions (used everywhere in the customer-value analytics):

- A **completed order** is an order that is not cancelled and has a net revenue above zero
  (net revenue = gross - discounts - refunds, so fully refunded orders are not purchases).
  Only completed orders count; customers without one are not scored.
- Times are **day numbers**: whole days since 1970-01-01 in UTC. The as-of day is the last day
  whose orders count; orders on later days are ignored.
- **Recency** = as-of day - day of the last completed order (days, 0 = bought on the as-of day).
- **Frequency** = number of completed orders.
- **Monetary** = sum of the completed orders' net revenue (shop currency).
- **Purchase days**: same-day orders merged into one purchase (what the BG/NBD model counts).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from cvo_plugin.analytics._arrays import day_number, float_array, int_array, safe_divide, same_length


def completed_orders(cancelled: np.ndarray, net_revenue: np.ndarray) -> np.ndarray:
    """Boolean mask of completed orders: not cancelled and net revenue > 0.

    Parameters
    ----------
    cancelled : array of bool, shape (n_orders,)
        Whether each order is cancelled.
    net_revenue : array of float, shape (n_orders,)
        Net revenue of each order in the shop currency (refunds and discounts out).
    """
    cancelled = np.asarray(cancelled, dtype=bool)
    revenue = float_array(net_revenue, "net_revenue")
    same_length(cancelled=cancelled, net_revenue=revenue)
    return ~cancelled & (revenue > 0)


@dataclass(frozen=True)
class CustomerHistory:
    """The completed-order history of every customer with at least one completed order.

    All arrays are aligned with `customer` (sorted ascending).

    Attributes
    ----------
    customer : int64 array
        Customer ids.
    orders : int64 array
        Completed orders (the F of RFM).
    revenue : float64 array
        Net revenue of those orders, shop currency (the M of RFM).
    first_day, last_day : int64 arrays
        Day numbers of the first and last completed order.
    purchase_days : int64 array
        Distinct days with a completed order (same-day orders merged).
    first_day_revenue : float64 array
        Net revenue of the first purchase day.
    second_day : int64 array
        Day number of the second purchase day, -1 for customers who bought on one day only.
    as_of_day : int
        The as-of day number.
    """

    customer: np.ndarray
    orders: np.ndarray
    revenue: np.ndarray
    first_day: np.ndarray
    last_day: np.ndarray
    purchase_days: np.ndarray
    first_day_revenue: np.ndarray
    second_day: np.ndarray
    as_of_day: int

    def __len__(self) -> int:
        return len(self.customer)

    @property
    def recency_days(self) -> np.ndarray:
        """Days from the last completed order to the as-of day (>= 0)."""
        return self.as_of_day - self.last_day

    @property
    def tenure_days(self) -> np.ndarray:
        """Days from the first completed order to the as-of day (>= 0): the BG/NBD `T`."""
        return self.as_of_day - self.first_day

    @property
    def aov(self) -> np.ndarray:
        """Average order value = revenue / orders (shop currency)."""
        return self.revenue / self.orders

    @property
    def repeat_purchases(self) -> np.ndarray:
        """Purchase days after the first one: the BG/NBD `x`."""
        return self.purchase_days - 1

    @property
    def repeat_value(self) -> np.ndarray:
        """Mean net revenue per repeat purchase day (0 without repeats): the Gamma-Gamma `m_x`."""
        return safe_divide(self.revenue - self.first_day_revenue, self.repeat_purchases, empty=0.0)

    def index_of(self, customer: np.ndarray) -> np.ndarray:
        """Position of each id in `customer` in this history, -1 for ids it does not hold."""
        customer = np.asarray(customer, dtype=np.int64)
        position = np.searchsorted(self.customer, customer)
        position = np.minimum(position, max(len(self.customer) - 1, 0))
        found = len(self.customer) > 0
        hit = (self.customer[position] == customer) if found else np.zeros(len(customer), bool)
        return np.where(hit, position, -1)


def customer_history(
    customer: np.ndarray,
    day: np.ndarray,
    net_revenue: np.ndarray,
    as_of: date,
) -> CustomerHistory:
    """Group completed orders by customer (one sort, no loop per order).

    Parameters
    ----------
    customer : int array, shape (n_orders,)
        Customer id of each completed order (ids are any non-negative integers).
    day : int array, shape (n_orders,)
        Day number (days since 1970-01-01, UTC) of each order.
    net_revenue : float array, shape (n_orders,)
        Net revenue of each order, >= 0, shop currency.
    as_of : datetime.date
        The last day that counts; orders on later days are ignored.

    Returns
    -------
    CustomerHistory
        One entry per customer with at least one order on or before `as_of`.

    Raises
    ------
    ValueError
        For arrays of different lengths, negative ids or revenue, or non-finite values.
    """
    customer = int_array(customer, "customer")
    day = int_array(day, "day")
    revenue = float_array(net_revenue, "net_revenue", nonnegative=True)
    same_length(customer=customer, day=day, net_revenue=revenue)
    if customer.size and customer.min() < 0:
        raise ValueError("customer ids must not be negative")
    as_of_day = day_number(as_of)
    keep = day <= as_of_day
    if not keep.all():
        customer, day, revenue = customer[keep], day[keep], revenue[keep]
    if customer.size == 0:
        empty_i, empty_f = np.zeros(0, np.int64), np.zeros(0, np.float64)
        return CustomerHistory(
            empty_i, empty_i, empty_f, empty_i, empty_i, empty_i, empty_f, empty_i, as_of_day
        )

    # One sort on a combined (customer, day) key groups orders by customer, then by day.
    first = int(day.min())
    span = as_of_day - first + 1
    dense_ids: np.ndarray | None = None
    if int(customer.max()) >= np.iinfo(np.int64).max // span - 1:  # too large to combine: densify
        dense_ids, customer = np.unique(customer, return_inverse=True)
    key = customer.astype(np.int64) * span + (day - first)
    order = np.argsort(key)
    key = key[order]
    revenue = revenue[order]

    day_start = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])  # first order of each (customer, day)
    day_key = key[day_start]
    day_customer = day_key // span
    day_revenue = np.add.reduceat(revenue, day_start)
    day_orders = np.diff(np.r_[day_start, len(key)])

    cust_start = np.flatnonzero(np.r_[True, day_customer[1:] != day_customer[:-1]])
    cust_end = np.r_[cust_start[1:], len(day_key)] - 1
    ids = day_customer[cust_start]
    if dense_ids is not None:
        ids = dense_ids[ids]
    day_of = (day_key % span) + first
    has_second = cust_end > cust_start
    second_day = np.where(has_second, day_of[np.minimum(cust_start + 1, len(day_key) - 1)], -1)
    return CustomerHistory(
        customer=ids.astype(np.int64),
        orders=np.add.reduceat(day_orders, cust_start).astype(np.int64),
        revenue=np.add.reduceat(day_revenue, cust_start),
        first_day=day_of[cust_start],
        last_day=day_of[cust_end],
        purchase_days=(cust_end - cust_start + 1).astype(np.int64),
        first_day_revenue=day_revenue[cust_start],
        second_day=second_day.astype(np.int64),
        as_of_day=as_of_day,
    )


def first_orders(
    customer: np.ndarray, seconds: np.ndarray, order_id: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The first order of each customer: the earliest, and of orders at the same instant the lowest id.

    Parameters
    ----------
    customer, seconds, order_id : int arrays, shape (n_orders,)
        Customer id, time (Unix seconds) and id of each order (pass completed orders only).

    Returns
    -------
    customers, orders : int64 arrays
        Each customer (sorted) and the id of their first order.
    """
    c = int_array(customer, "customer")
    t = int_array(seconds, "seconds")
    o = int_array(order_id, "order_id")
    same_length(customer=c, seconds=t, order_id=o)
    order = np.lexsort((o, t, c))
    c, o = c[order], o[order]
    start = np.r_[True, c[1:] != c[:-1]] if len(c) else np.zeros(0, bool)
    return c[start], o[start]
