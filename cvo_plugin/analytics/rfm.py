"""RFM scores: recency, frequency and monetary value cut into quantile scores within a shop.

The scoring rule (one rule for ties, few distinct values and everything else)
------------------------------------------------------------------------------
For a scale of ``k`` (scores 1..k, k = 5 by default) and ``n`` scored customers, a customer
whose value is strictly better than the values of ``b`` customers gets

    score = 1 + floor(k * b / n)

computed in integers, where "better" is more recent (fewer days), more orders or more revenue.
So the score says which k-quantile of the shop the customer's value lies above:

- with all values distinct and n a multiple of k, each score holds exactly n / k customers
  (true quantiles);
- **ties**: equal values always get equal scores (the rule looks only at the value, never at the
  row order), so scores are deterministic and do not depend on how customers are ordered;
- the worst value always scores 1 and no value scores above k (b <= n - 1 < n);
- **fewer than k distinct values** (a young shop where everybody has one or two orders): the
  rule applies unchanged and simply leaves some scores unused. With 70 % one-order customers,
  F = 1 scores 1 and F = 2 scores 1 + floor(5 * 0.7) = 4: a repeat buyer beats 70 % of the shop.

Scores are monotone in their input: a better value never gets a lower score.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cvo_plugin.analytics._arrays import float_array, same_length

DEFAULT_SCALE = 5
MIN_SCALE, MAX_SCALE = 2, 10


def check_scale(scale: int) -> int:
    """The scale as an int in [MIN_SCALE, MAX_SCALE]; `ValueError` otherwise."""
    if isinstance(scale, bool) or int(scale) != scale or not MIN_SCALE <= int(scale) <= MAX_SCALE:
        raise ValueError(f"the RFM scale must be an integer from {MIN_SCALE} to {MAX_SCALE}, got {scale!r}")
    return int(scale)


def quantile_scores(
    values: np.ndarray, scale: int = DEFAULT_SCALE, higher_is_better: bool = True
) -> np.ndarray:
    """Score values 1..scale by the share of customers they beat (see the module docstring).

    Parameters
    ----------
    values : float array, shape (n,)
        One value per customer (finite).
    scale : int
        Number of scores, 2..10.
    higher_is_better : bool
        True for frequency and monetary, False for recency in days.

    Returns
    -------
    int8 array, shape (n,)
        ``1 + (scale * beaten) // n`` with ``beaten`` the number of strictly worse values.
    """
    scale = check_scale(scale)
    x = float_array(values, "values")
    n = len(x)
    if n == 0:
        return np.zeros(0, np.int8)
    if not higher_is_better:
        x = -x
    beaten = np.searchsorted(np.sort(x), x, side="left").astype(np.int64)
    return (1 + (scale * beaten) // n).astype(np.int8)


@dataclass(frozen=True)
class RfmScores:
    """Scores 1..scale per customer, aligned with the inputs."""

    r: np.ndarray
    f: np.ndarray
    m: np.ndarray
    scale: int

    def codes(self) -> np.ndarray:
        """The classic three-digit code 100 r + 10 f + m (e.g. 545), for display and export."""
        return self.r.astype(np.int16) * 100 + self.f.astype(np.int16) * 10 + self.m.astype(np.int16)


def rfm_scores(
    recency_days: np.ndarray, frequency: np.ndarray, monetary: np.ndarray, scale: int = DEFAULT_SCALE
) -> RfmScores:
    """R, F and M scores of every customer.

    Parameters
    ----------
    recency_days : array, shape (n,)
        Days since the last completed order (fewer is better).
    frequency : array, shape (n,)
        Completed orders (more is better).
    monetary : array, shape (n,)
        Net revenue, shop currency (more is better).
    scale : int
        Scores run from 1 to `scale` (default 5).
    """
    recency = float_array(recency_days, "recency_days", nonnegative=True)
    freq = float_array(frequency, "frequency", nonnegative=True)
    money = float_array(monetary, "monetary", nonnegative=True)
    same_length(recency_days=recency, frequency=freq, monetary=money)
    return RfmScores(
        r=quantile_scores(recency, scale, higher_is_better=False),
        f=quantile_scores(freq, scale),
        m=quantile_scores(money, scale),
        scale=check_scale(scale),
    )


def to_five_point(scores: np.ndarray, scale: int) -> np.ndarray:
    """Map scores of a 1..scale scale onto 1..5 (where the segment rule tables are written).

    ``s5 = 1 + round_half_up(4 (s - 1) / (scale - 1))``: the ends map to the ends (1 -> 1,
    scale -> 5) and the middle spreads evenly, e.g. scale 3: 1, 2, 3 -> 1, 3, 5; scale 4:
    1, 2, 3, 4 -> 1, 2, 4, 5.
    """
    scale = check_scale(scale)
    s = np.asarray(scores, dtype=np.int64)
    if s.size and (s.min() < 1 or s.max() > scale):
        raise ValueError(f"scores must lie in 1..{scale}")
    if scale == 5:
        return s.astype(np.int8)
    return (1 + (8 * (s - 1) + (scale - 1)) // (2 * (scale - 1))).astype(np.int8)


@dataclass(frozen=True)
class RfmGrid:
    """Customers and average monetary per (R, F) cell; index [r - 1, f - 1]."""

    customers: np.ndarray  # int64, shape (scale, scale)
    avg_monetary: np.ndarray  # float64, NaN for empty cells
    scale: int


def rfm_grid(r: np.ndarray, f: np.ndarray, monetary: np.ndarray, scale: int) -> RfmGrid:
    """The recency x frequency grid: customers per cell and their average monetary value.

    Parameters
    ----------
    r, f : int arrays, shape (n,)
        Scores 1..scale.
    monetary : float array, shape (n,)
        Net revenue per customer, shop currency.
    scale : int
        The scores' scale.
    """
    scale = check_scale(scale)
    money = float_array(monetary, "monetary")
    r = np.asarray(r, dtype=np.int64)
    f = np.asarray(f, dtype=np.int64)
    same_length(r=r, f=f, monetary=money)
    for name, s in (("r", r), ("f", f)):
        if s.size and (s.min() < 1 or s.max() > scale):
            raise ValueError(f"{name} scores must lie in 1..{scale}")
    cell = (r - 1) * scale + (f - 1)
    counts = np.bincount(cell, minlength=scale * scale)
    sums = np.bincount(cell, weights=money, minlength=scale * scale)
    with np.errstate(invalid="ignore", divide="ignore"):
        avg = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
    return RfmGrid(counts.reshape(scale, scale), avg.reshape(scale, scale), scale)
