"""Customers simulated from the BG/NBD and Gamma-Gamma models (for tests and benchmarks).

Per customer: purchase rate lambda ~ Gamma(r, alpha) (purchases per week while alive), dropout
probability p ~ Beta(a, b); repeat purchases follow a Poisson process from the first purchase
(time 0) and the customer drops out right after repeat purchase j with probability
p (1 - p)^(j - 1) (never after the first purchase, as in BG/NBD). Observation lengths T are
drawn in whole days; t_x is rounded down to a whole day, as the job feeds the model. The spend
of each repeat purchase is Gamma(p_s, nu) with nu ~ Gamma(q, v); m_x is the mean of a
customer's repeat purchases.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cvo_plugin.analytics.clv import DAYS_PER_WEEK


@dataclass(frozen=True)
class SimulatedCustomers:
    x: np.ndarray  # repeat purchases
    t_x: np.ndarray  # weeks from the first to the last purchase
    T: np.ndarray  # weeks from the first purchase to the end of observation
    m_x: np.ndarray  # mean value of the repeat purchases (0 without)


def simulate_customers(
    n: int,
    bgnbd: dict[str, float],
    gamma_gamma: dict[str, float],
    max_days: int = 3 * 365,
    seed: int = 1,
    max_purchases: int = 100,
) -> SimulatedCustomers:
    """`n` customers from BG/NBD(r, alpha, a, b) and Gamma-Gamma(p, q, v) (see the module docstring).

    Purchases beyond `max_purchases` per customer are cut off (choose it well above
    ``max_days / 7 x`` the largest likely rate).
    """
    if n < 1 or max_days < 1:
        raise ValueError("n and max_days must be positive")
    rng = np.random.default_rng(seed)
    rate = rng.gamma(bgnbd["r"], 1.0 / bgnbd["alpha"], n)
    dropout = rng.beta(bgnbd["a"], bgnbd["b"], n)
    T = rng.integers(1, max_days + 1, n) / DAYS_PER_WEEK
    times = np.cumsum(rng.exponential(1.0, (n, max_purchases)) / rate[:, None], axis=1)
    alive_for = rng.geometric(dropout)  # repeat purchases made before dropping out
    seen = (times <= T[:, None]) & (np.arange(max_purchases)[None, :] < alive_for[:, None])
    x = seen.sum(axis=1)
    last = np.where(x > 0, times[np.arange(n), np.maximum(x - 1, 0)], 0.0)
    t_x = np.minimum(np.floor(last * DAYS_PER_WEEK) / DAYS_PER_WEEK, T)
    nu = rng.gamma(gamma_gamma["q"], 1.0 / gamma_gamma["v"], n)
    safe_x = np.maximum(x, 1)
    m_x = np.where(x > 0, rng.gamma(gamma_gamma["p"] * safe_x, 1.0 / nu) / safe_x, 0.0)
    return SimulatedCustomers(x.astype(np.float64), t_x, T, m_x)
