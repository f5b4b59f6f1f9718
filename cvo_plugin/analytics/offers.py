"""Offers: which products make good first purchases (tripwires) and which carry the shop (core).

Per product, over the customers whose **first completed order** held it:

- ``customers``: how many;
- ``repeat_rate_90`` / ``repeat_rate_365``: the share who bought again on a later day within 90
  / 365 days of that first order, counted only among customers whose first order is at least
  90 / 365 days before the as-of day (younger customers could not have completed the window);
- ``avg_clv``: their mean historic CLV; ``avg_value_after``: their mean gross profit from
  purchases after the first purchase day (``(revenue - first-day revenue) x margin``).

Per product over all completed orders: ``revenue`` = sum of quantity x unit price - refunded
units x unit price - line discounts (returns, as negative quantities, count against it).

Ranking rules
    Tripwires: products priced at or below the median price of the first-purchase products,
    with at least `min_customers` customers eligible for the 90-day window, ranked by the lower
    bound of the 95 % Wilson interval of their 90-day repeat rate (so a rate seen on few
    customers does not beat a slightly lower one seen on many), then by ``avg_value_after``,
    then by product code.
    Core offers: every product with revenue, ranked by revenue (largest first), then by code.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cvo_plugin.analytics._arrays import float_array, int_array, safe_divide, same_length

WILSON_Z = 1.959963984540054  # 95 %


def wilson_lower_bound(successes: np.ndarray, trials: np.ndarray, z: float = WILSON_Z) -> np.ndarray:
    """Lower bound of the Wilson score interval of a proportion (0 where there are no trials).

    ``(p + z^2 / 2n - z sqrt(p (1 - p) / n + z^2 / 4n^2)) / (1 + z^2 / n)`` with p = successes / n.
    """
    k = float_array(successes, "successes", nonnegative=True)
    n = float_array(trials, "trials", nonnegative=True)
    same_length(successes=k, trials=n)
    if np.any(k > n):
        raise ValueError("successes cannot exceed trials")
    safe_n = np.maximum(n, 1.0)
    p = k / safe_n
    z2 = z * z
    bound = (p + z2 / (2 * safe_n) - z * np.sqrt(p * (1 - p) / safe_n + z2 / (4 * safe_n**2))) / (
        1 + z2 / safe_n
    )
    return np.where(n > 0, np.maximum(bound, 0.0), 0.0)


def product_revenue(
    product: np.ndarray,
    n_products: int,
    quantity: np.ndarray,
    unit_price: np.ndarray,
    refunded_quantity: np.ndarray,
    discount: np.ndarray,
) -> np.ndarray:
    """Net line revenue per product (definition in the module docstring), float64 (n_products,)."""
    p = int_array(product, "product")
    q = float_array(quantity, "quantity")
    price = float_array(unit_price, "unit_price", nonnegative=True)
    refunded = float_array(refunded_quantity, "refunded_quantity", nonnegative=True)
    off = float_array(discount, "discount", nonnegative=True)
    same_length(product=p, quantity=q, unit_price=price, refunded_quantity=refunded, discount=off)
    if p.size and (p.min() < 0 or p.max() >= n_products):
        raise ValueError(f"product codes must lie in 0..{n_products - 1}")
    return np.bincount(p, weights=q * price - refunded * price - off, minlength=n_products)


@dataclass(frozen=True)
class OfferStats:
    """One entry per product code, plus the two rankings (product codes, best first)."""

    customers: np.ndarray
    eligible_90: np.ndarray
    repeat_90: np.ndarray
    repeat_rate_90: np.ndarray
    eligible_365: np.ndarray
    repeat_365: np.ndarray
    repeat_rate_365: np.ndarray
    avg_clv: np.ndarray
    avg_value_after: np.ndarray
    revenue: np.ndarray
    price: np.ndarray
    tripwire_score: np.ndarray
    tripwires: np.ndarray
    core: np.ndarray


def first_purchase_offers(
    pair_customer: np.ndarray,
    pair_product: np.ndarray,
    n_products: int,
    *,
    first_day: np.ndarray,
    second_day: np.ndarray,
    as_of_day: int,
    clv: np.ndarray,
    value_after: np.ndarray,
    price: np.ndarray,
    revenue: np.ndarray,
    min_customers: int = 10,
) -> OfferStats:
    """Offer statistics and rankings (definitions and ranking rules in the module docstring).

    Parameters
    ----------
    pair_customer, pair_product : int arrays, shape (k,)
        (customer position, product code) of each product in a customer's first completed
        order; positions index the per-customer arrays below; repeated pairs count once.
    n_products : int
        Number of product codes.
    first_day, second_day : int arrays, shape (n,)
        Day numbers of each customer's first and second purchase day (-1: none).
    as_of_day : int
        The as-of day number.
    clv, value_after : float arrays, shape (n,)
        Historic CLV and gross profit after the first purchase day, per customer.
    price, revenue : float arrays, shape (n_products,)
        Typical unit price and net revenue of each product.
    min_customers : int
        Fewest eligible customers for a tripwire ranking.
    """
    pc = int_array(pair_customer, "pair_customer")
    pp = int_array(pair_product, "pair_product")
    same_length(pair_customer=pc, pair_product=pp)
    first = int_array(first_day, "first_day")
    second = int_array(second_day, "second_day")
    value = float_array(clv, "clv")
    after = float_array(value_after, "value_after")
    same_length(first_day=first, second_day=second, clv=value, value_after=after)
    prices = float_array(price, "price", nonnegative=True)
    revenues = float_array(revenue, "revenue")
    same_length(price=prices, revenue=revenues)
    if len(prices) != n_products:
        raise ValueError("price and revenue need one entry per product")
    if pp.size and (pp.min() < 0 or pp.max() >= n_products):
        raise ValueError(f"product codes must lie in 0..{n_products - 1}")
    if pc.size and (pc.min() < 0 or pc.max() >= len(first)):
        raise ValueError("pair_customer must index the per-customer arrays")

    pairs = np.unique(pc * n_products + pp)
    pc, pp = pairs // n_products, pairs % n_products

    def per_product(weights: np.ndarray | None = None) -> np.ndarray:
        return np.bincount(pp, weights=weights, minlength=n_products).astype(np.float64)

    age = as_of_day - first[pc]
    gap = np.where(second[pc] >= 0, second[pc] - first[pc], np.iinfo(np.int64).max)
    counts: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    for window in (90, 365):
        eligible = age >= window
        counts[window] = (
            per_product(eligible.astype(float)),
            per_product((eligible & (gap <= window)).astype(float)),
        )
    customers = per_product()
    eligible_90, repeat_90 = counts[90]
    score = wilson_lower_bound(repeat_90, eligible_90)
    avg_after = safe_divide(per_product(after[pc]), customers)

    starters = customers > 0
    cheap = prices <= (np.median(prices[starters]) if starters.any() else 0.0)
    candidates = np.flatnonzero(starters & cheap & (eligible_90 >= min_customers))
    tripwires = candidates[
        np.lexsort((candidates, -np.nan_to_num(avg_after[candidates]), -score[candidates]))
    ]
    with_revenue = np.flatnonzero(revenues > 0)
    core = with_revenue[np.lexsort((with_revenue, -revenues[with_revenue]))]
    return OfferStats(
        customers=customers.astype(np.int64),
        eligible_90=eligible_90.astype(np.int64),
        repeat_90=repeat_90.astype(np.int64),
        repeat_rate_90=safe_divide(repeat_90, eligible_90),
        eligible_365=counts[365][0].astype(np.int64),
        repeat_365=counts[365][1].astype(np.int64),
        repeat_rate_365=safe_divide(counts[365][1], counts[365][0]),
        avg_clv=safe_divide(per_product(value[pc]), customers),
        avg_value_after=avg_after,
        revenue=revenues,
        price=prices,
        tripwire_score=score,
        tripwires=tripwires.astype(np.int64),
        core=core.astype(np.int64),
    )
