"""RFM scores: recency, frequency and monetary value cut into quantile scores within a shop.

The scoring rule (deterministic; ties and few distinct values included)
-----------------------------------------------------------------------
Scores 1..k (k = 5 by default) are equal-frequency bins over the customers' values, ordered from
worst to best (more days since the last order is worse; fewer orders or less revenue is worse):

1. **Ties are never split**: customers with the same value form a block and always share a
   score, so scores depend only on the values, never on the order of the rows.
2. **Bins are filled in order, re-spreading after large ties**: the boundary of bin b is put at
   the block end closest to ``S + (n - S) / (k - b + 1)``, where ``S`` customers are in bins
   1..b-1 (an exact tie goes to the larger bin), leaving at least one block for each later bin.
   With all values distinct and n a multiple of k every score holds exactly n / k customers
   (plain quintiles). A large tie block takes its bin alone and the remaining bins are spread
   evenly over the rest: with 65 % one-order customers, F = 1 scores 1 and the repeat buyers
   share scores 2..5, instead of jumping from 1 to 4.
3. **More than k distinct values**: every score 1..k is used.
4. **At most k distinct values** (a young shop, or F with one- and two-order customers only):
   the values get scores 1, 2, ... in order, leaving the top scores unused.

Scores are monotone in their input: a better value never gets a lower score. The lowest value
always scores 1.
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
    """Score values 1..scale by the rule of the module docstring (one pass per bin, not per value).

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
        The score of each value.
    """
    scale = check_scale(scale)
    x = float_array(values, "values")
    n = len(x)
    if n == 0:
        return np.zeros(0, np.int8)
    distinct, block, counts = np.unique(
        x if higher_is_better else -x, return_inverse=True, return_counts=True
    )
    d = len(distinct)
    if d <= scale:
        return (block.reshape(-1) + 1).astype(np.int8)
    ends = np.cumsum(counts)  # customers up to and including each block
    last_block = np.empty(scale - 1, np.int64)  # the last block of bins 1..scale-1
    placed, first_free = 0, 0
    for b in range(1, scale):
        target = placed + (n - placed) / (scale - b + 1)
        latest = d - (scale - b) - 1  # leave one block for each later bin
        j = int(np.searchsorted(ends, target))
        below, above = max(min(j - 1, latest), first_free), max(min(j, latest), first_free)
        chosen = below if abs(ends[below] - target) < abs(ends[above] - target) else above
        last_block[b - 1] = chosen
        placed, first_free = int(ends[chosen]), chosen + 1
    block_score = 1 + np.searchsorted(last_block, np.arange(d), side="left")
    return block_score[block.reshape(-1)].astype(np.int8)


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
