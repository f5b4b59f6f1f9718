"""Segment transitions between two snapshots: who moved from where to where, and what they carry.

Both snapshots use one code space of ``n`` segments; code ``n`` stands for "not in that
snapshot": row ``n`` holds customers new in the later snapshot (they had no completed order at
the earlier one), column ``n`` customers who are missing from the later one (deleted data).

For each (from, to) cell:

- ``customers``: how many customers;
- ``revenue``: their net revenue to date at the later snapshot (what the segment "carries"; for
  the missing column, at the earlier one);
- ``revenue_change``: later minus earlier net revenue (what they bought in between).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cvo_plugin.analytics._arrays import float_array, int_array, same_length


@dataclass(frozen=True)
class Transitions:
    customers: np.ndarray  # int64 (n + 1, n + 1), [from, to]
    revenue: np.ndarray  # float64 (n + 1, n + 1)
    revenue_change: np.ndarray  # float64 (n + 1, n + 1)
    n_segments: int


def _side(customer: object, segment: object, revenue: object, n: int, label: str):  # type: ignore[no-untyped-def]
    c = int_array(customer, f"{label}_customer")
    s = int_array(segment, f"{label}_segment")
    v = float_array(revenue, f"{label}_revenue")
    same_length(customer=c, segment=s, revenue=v)
    if s.size and (s.min() < 0 or s.max() >= n):
        raise ValueError(f"{label} segment codes must lie in 0..{n - 1}")
    order = np.argsort(c, kind="stable")
    c, s, v = c[order], s[order], v[order]
    if np.any(c[1:] == c[:-1]):
        raise ValueError(f"a customer appears twice in the {label} snapshot")
    return c, s, v


def segment_transitions(
    before_customer: np.ndarray,
    before_segment: np.ndarray,
    before_revenue: np.ndarray,
    after_customer: np.ndarray,
    after_segment: np.ndarray,
    after_revenue: np.ndarray,
    n_segments: int,
) -> Transitions:
    """Count customers and revenue per (earlier segment, later segment) cell.

    Parameters
    ----------
    before_customer, before_segment, before_revenue : arrays, shape (k,)
        Customer ids, segment codes and net revenue in the earlier snapshot.
    after_customer, after_segment, after_revenue : arrays, shape (m,)
        The same in the later snapshot.
    n_segments : int
        Number of segment codes (0..n_segments-1).
    """
    n = int(n_segments)
    if n < 1:
        raise ValueError("n_segments must be at least 1")
    bc, bs, bv = _side(before_customer, before_segment, before_revenue, n, "before")
    ac, as_, av = _side(after_customer, after_segment, after_revenue, n, "after")

    position = np.searchsorted(bc, ac)
    position_clipped = np.minimum(position, max(len(bc) - 1, 0))
    matched = (bc[position_clipped] == ac) if len(bc) else np.zeros(len(ac), bool)
    from_code = np.where(matched, bs[position_clipped] if len(bc) else n, n)
    earlier_revenue = np.where(matched, bv[position_clipped] if len(bc) else 0.0, 0.0)

    present_after = np.zeros(len(bc), bool)
    present_after[position_clipped[matched]] = True
    gone = ~present_after

    size = n + 1
    cell = np.r_[from_code * size + as_, bs[gone] * size + n]
    revenue = np.r_[av, bv[gone]]
    change = np.r_[av - earlier_revenue, np.zeros(int(gone.sum()))]
    shape = (size, size)
    return Transitions(
        customers=np.bincount(cell, minlength=size * size).reshape(shape),
        revenue=np.bincount(cell, weights=revenue, minlength=size * size).reshape(shape),
        revenue_change=np.bincount(cell, weights=change, minlength=size * size).reshape(shape),
        n_segments=n,
    )
