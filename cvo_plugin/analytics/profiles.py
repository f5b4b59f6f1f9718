"""Ideal-customer profiles: what the customers of each segment have in common.

Everything is counted per group (segment) with one ``bincount`` over (group, category) pairs:

- ``top_counts``: the most frequent categories of each group (countries, cities, channels,
  devices, product types, products, variants), with their count and share of the group's total;
  ties are broken by the category code, so the result is deterministic;
- ``weekday_hour_grid``: orders per weekday (0 = Monday) x hour (0..23), in the shop's time zone
  (``local_weekday_hour`` converts UTC times, daylight saving included);
- ``order_shape``: mean lines and units per order and the share of orders with a discount.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np

from cvo_plugin.analytics._arrays import float_array, int_array, safe_divide, same_length


@dataclass(frozen=True)
class TopCounts:
    """Per group: the codes of its top categories, their counts and shares (rows padded with -1)."""

    codes: np.ndarray  # int64 (n_groups, top); -1 where a group has fewer categories
    counts: np.ndarray  # float64 (n_groups, top)
    shares: np.ndarray  # float64 (n_groups, top): count / the group's total
    totals: np.ndarray  # float64 (n_groups,): the group's total over all categories


def _check_groups(group: np.ndarray, n_groups: int, name: str = "group") -> np.ndarray:
    g = int_array(group, name)
    if g.size and (g.min() < 0 or g.max() >= n_groups):
        raise ValueError(f"{name} ids must lie in 0..{n_groups - 1}")
    return g


def top_counts(
    group: np.ndarray,
    n_groups: int,
    code: np.ndarray,
    n_codes: int,
    weights: np.ndarray | None = None,
    top: int = 5,
) -> TopCounts:
    """The `top` categories of each group by (weighted) count.

    Parameters
    ----------
    group : int array, shape (n,)
        Group id of each row (a customer, an order or a line).
    n_groups : int
        Number of groups.
    code : int array, shape (n,)
        Category code 0..n_codes-1 of each row; -1 marks an unknown category (not counted).
    n_codes : int
        Number of category codes.
    weights : float array, shape (n,), optional
        What each row counts for (default 1: rows are counted).
    top : int
        How many categories to keep per group.
    """
    g = _check_groups(group, n_groups)
    c = int_array(code, "code")
    w = np.ones(len(g)) if weights is None else float_array(weights, "weights", nonnegative=True)
    same_length(group=g, code=c, weights=w)
    if c.size and c.max() >= n_codes:
        raise ValueError(f"codes must lie in -1..{n_codes - 1}")
    if top < 1:
        raise ValueError("top must be at least 1")
    known = c >= 0
    width = max(n_codes, 1)
    counts = np.bincount(g[known] * width + c[known], weights=w[known], minlength=n_groups * width).reshape(
        n_groups, width
    )
    keep = min(top, width)
    order = np.argsort(-counts, axis=1, kind="stable")[:, :keep]
    chosen = np.take_along_axis(counts, order, axis=1)
    totals = counts.sum(axis=1)
    codes = np.where(chosen > 0, order, -1)
    shares = safe_divide(chosen, np.repeat(totals[:, None], keep, axis=1), empty=0.0)
    return TopCounts(codes, np.where(chosen > 0, chosen, 0.0), np.where(chosen > 0, shares, 0.0), totals)


def local_weekday_hour(epoch_seconds: np.ndarray, timezone: str = "UTC") -> tuple[np.ndarray, np.ndarray]:
    """Weekday (0 = Monday) and hour of UTC times in `timezone`.

    The UTC offset is looked up once per distinct UTC hour (a few thousand for years of
    orders), so daylight saving changes are honoured without a loop per order.
    """
    seconds = int_array(epoch_seconds, "epoch_seconds")
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {timezone!r}") from None
    hours = np.floor_divide(seconds, 3600)
    distinct, inverse = np.unique(hours, return_inverse=True)
    offsets = np.array(
        [
            int(datetime.fromtimestamp(int(h) * 3600, UTC).astimezone(zone).utcoffset().total_seconds())  # type: ignore[union-attr]
            for h in distinct
        ],
        dtype=np.int64,
    )
    local = seconds + offsets[inverse.reshape(-1)]
    days = np.floor_divide(local, 86400)
    weekday = (days + 3) % 7  # 1970-01-01 was a Thursday (weekday 3)
    hour = np.floor_divide(local % 86400, 3600)
    return weekday.astype(np.int64), hour.astype(np.int64)


def weekday_hour_grid(group: np.ndarray, n_groups: int, weekday: np.ndarray, hour: np.ndarray) -> np.ndarray:
    """Orders per group x weekday x hour: int64 array of shape (n_groups, 7, 24)."""
    g = _check_groups(group, n_groups)
    wd = int_array(weekday, "weekday")
    hr = int_array(hour, "hour")
    same_length(group=g, weekday=wd, hour=hr)
    if wd.size and (wd.min() < 0 or wd.max() > 6 or hr.min() < 0 or hr.max() > 23):
        raise ValueError("weekday must lie in 0..6 and hour in 0..23")
    cell = (g * 7 + wd) * 24 + hr
    return np.bincount(cell, minlength=n_groups * 7 * 24).reshape(n_groups, 7, 24)


@dataclass(frozen=True)
class OrderShape:
    orders: np.ndarray  # int64 per group
    avg_lines: np.ndarray  # mean order lines per order
    avg_units: np.ndarray  # mean units per order
    discounted_share: np.ndarray  # share of orders with a discount


def order_shape(
    group: np.ndarray, n_groups: int, line_count: np.ndarray, units: np.ndarray, discounted: np.ndarray
) -> OrderShape:
    """Basket size (lines, units) and share of discounted orders per group.

    Parameters
    ----------
    group : int array, shape (n_orders,)
        Group of each order.
    line_count, units : int arrays, shape (n_orders,)
        Lines and units of each order.
    discounted : bool array, shape (n_orders,)
        Whether each order had a discount.
    """
    g = _check_groups(group, n_groups)
    lines = float_array(line_count, "line_count", nonnegative=True)
    unit = float_array(units, "units")
    flag = np.asarray(discounted, dtype=bool)
    same_length(group=g, line_count=lines, units=unit, discounted=flag)
    orders = np.bincount(g, minlength=n_groups).astype(np.float64)
    return OrderShape(
        orders=orders.astype(np.int64),
        avg_lines=safe_divide(np.bincount(g, weights=lines, minlength=n_groups), orders),
        avg_units=safe_divide(np.bincount(g, weights=unit, minlength=n_groups), orders),
        discounted_share=safe_divide(np.bincount(g, weights=flag.astype(float), minlength=n_groups), orders),
    )
