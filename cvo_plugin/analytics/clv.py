"""Customer lifetime value: historic, the seeds' formula, and BG/NBD + Gamma-Gamma predictions.

Historic CLV
    ``historic = net revenue x gross margin`` (shop currency; the gross profit a customer has
    brought so far).

The seeds' formula
    ``CLV = AOV x purchase frequency x gross margin x expected lifespan`` with AOV in the shop
    currency per order, purchase frequency in orders per customer per year and the lifespan in
    years. For a group of customers the frequency is their orders divided by their
    customer-years, a customer counting for the time since their first order but at least one
    year (so a customer who bought yesterday is not taken to buy 365 times a year).

BG/NBD (Fader, Hardie & Lee 2005, "Counting your customers the easy way")
    Repeat purchases of a customer with ``x`` repeat purchase days, the last at ``t_x`` and an
    observation length ``T`` (both since the first purchase, in time units; here weeks). While
    alive a customer buys at Poisson rate lambda ~ Gamma(r, alpha); after each purchase they drop
    out with probability p ~ Beta(a, b). The likelihood of one customer is

        L = B(a, b + x) / B(a, b) * Gamma(r + x) alpha^r / (Gamma(r) (alpha + T)^(r + x))
            + [x > 0] B(a + 1, b + x - 1) / B(a, b) * Gamma(r + x) alpha^r
              / (Gamma(r) (alpha + t_x)^(r + x))

    and the parameters maximise the sum of log L (scipy's L-BFGS-B on the log-parameters, so
    they stay positive; customers with the same (x, t_x, T) are counted once with a weight).

    P(alive) = 1 / (1 + [x > 0] a / (b + x - 1) ((alpha + T) / (alpha + t_x))^(r + x))

    E[purchases in (T, T + t]] = (a + b + x - 1) / (a - 1)
        * (1 - ((alpha + T) / (alpha + T + t))^(r + x) 2F1(r + x, b + x; a + b + x - 1; t / (alpha + T + t)))
        * P(alive)

Gamma-Gamma (Fader, Hardie & Lee 2005, "RFM and CLV: using iso-value curves")
    The mean value ``m_x`` of a customer's ``x`` repeat purchases (x >= 1) has density

        f(m_x) = Gamma(p x + q) / (Gamma(p x) Gamma(q)) v^q m_x^(p x - 1) x^(p x) / (v + x m_x)^(p x + q)

    fitted by maximum likelihood on the repeat buyers; the expected value of a customer's
    future purchases is ``E[M] = p (v + x m_x) / (p x + q - 1)`` (for x = 0 the population mean
    ``p v / (q - 1)``; both need q > 1).

Predicted 12-month value
    ``E[purchases in the next 365 days] x E[M] x gross margin`` (gross profit, not discounted).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np
from scipy import optimize, special

from cvo_plugin.analytics._arrays import float_array, fraction, same_length

DAYS_PER_WEEK = 7.0
_LOG_BOUND = 12.0  # log-parameters stay in [-12, 12]: e^12 ~ 160,000


def historic_clv(net_revenue: np.ndarray, margin: float) -> np.ndarray:
    """Gross profit brought so far: ``net revenue x margin`` (shop currency).

    Parameters
    ----------
    net_revenue : float array
        Net revenue per customer, >= 0.
    margin : float
        Gross margin, 0..1.
    """
    return float_array(net_revenue, "net_revenue", nonnegative=True) * fraction(margin, "margin")


def customer_years(tenure_days: np.ndarray) -> np.ndarray:
    """Years each customer has been observed: ``max(tenure_days, 365) / 365``."""
    tenure = float_array(tenure_days, "tenure_days", nonnegative=True)
    return np.maximum(tenure, 365.0) / 365.0


def formula_clv(aov: float, purchase_frequency: float, margin: float, lifespan_years: float) -> float:
    """The seeds' CLV: ``AOV x purchase frequency x margin x expected lifespan``.

    Parameters
    ----------
    aov : float
        Average order value, shop currency per order.
    purchase_frequency : float
        Orders per customer per year.
    margin : float
        Gross margin, 0..1.
    lifespan_years : float
        Expected customer lifespan in years (> 0).
    """
    if not np.isfinite(aov) or aov < 0 or not np.isfinite(purchase_frequency) or purchase_frequency < 0:
        raise ValueError("AOV and purchase frequency must be finite and not negative")
    if not np.isfinite(lifespan_years) or lifespan_years <= 0:
        raise ValueError("the expected lifespan must be a positive number of years")
    return float(aov * purchase_frequency * fraction(margin, "margin") * lifespan_years)


def _maximise(
    log_likelihood: Callable[..., tuple[float, np.ndarray]], n_params: int
) -> tuple[np.ndarray, float, bool]:
    """Maximise a log-likelihood over positive parameters (L-BFGS-B on their logarithms).

    `log_likelihood(*params)` returns the value and its gradient with respect to the params
    (the chain rule turns it into the gradient over the log-parameters: d/d log t = t d/dt).
    Returns the parameters, the maximum and whether the optimiser converged inside the bounds
    (a log-parameter at +-12 means the data do not pin that parameter down).
    """

    def objective(log_params: np.ndarray) -> tuple[float, np.ndarray]:
        params = np.exp(log_params)
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            value, gradient = log_likelihood(*params)
        if not np.isfinite(value) or not np.all(np.isfinite(gradient)):
            return 1e300, np.zeros(n_params)
        return -float(value), -np.asarray(gradient, dtype=np.float64) * params

    result = optimize.minimize(
        objective,
        x0=np.zeros(n_params),
        jac=True,
        method="L-BFGS-B",
        bounds=[(-_LOG_BOUND, _LOG_BOUND)] * n_params,
        options={"maxiter": 2000},
    )
    at_bound = bool(np.any(np.abs(result.x) >= _LOG_BOUND - 1e-6))
    return np.exp(result.x), -float(result.fun), bool(result.success) and not at_bound


# --- BG/NBD -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BgNbdParams:
    """Fitted BG/NBD parameters; `alpha` is in `time_unit`."""

    r: float
    alpha: float
    a: float
    b: float
    log_likelihood: float = float("nan")
    customers: int = 0
    converged: bool = True
    time_unit: str = "weeks"

    def as_dict(self) -> dict[str, float | int | bool | str]:
        return asdict(self)


def _bgnbd_inputs(x: object, t_x: object, T: object) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    xs = float_array(x, "x", nonnegative=True)
    tx = float_array(t_x, "t_x", nonnegative=True)
    tt = float_array(T, "T", nonnegative=True)
    same_length(x=xs, t_x=tx, T=tt)
    if np.any(xs != np.round(xs)):
        raise ValueError("x (repeat purchases) must be whole numbers")
    if np.any(tx > tt + 1e-9):
        raise ValueError("t_x (time of the last purchase) cannot exceed T (the observation length)")
    if np.any((xs == 0) & (tx > 0)):
        raise ValueError("a customer without repeat purchases has t_x = 0")
    return xs, tx, tt


def _bgnbd_terms(
    r: float, alpha: float, a: float, b: float, x: np.ndarray, t_x: np.ndarray, T: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The three log-terms A1, A2, A3 of the likelihood: log L = A1 + log(e^A2 + [x > 0] e^A3)."""
    beta_ab = special.betaln(a, b)
    a1 = special.gammaln(r + x) - special.gammaln(r) + r * np.log(alpha)
    a2 = special.betaln(a, b + x) - beta_ab - (r + x) * np.log(alpha + T)
    repeat = x > 0
    a3 = np.full_like(x, -np.inf)
    xr = x[repeat]
    a3[repeat] = special.betaln(a + 1, b + xr - 1) - beta_ab - (r + xr) * np.log(alpha + t_x[repeat])
    return a1, a2, a3


def bgnbd_log_likelihood(
    r: float, alpha: float, a: float, b: float, x: np.ndarray, t_x: np.ndarray, T: np.ndarray
) -> np.ndarray:
    """Log-likelihood of each customer under BG/NBD(r, alpha, a, b) (see the module docstring)."""
    a1, a2, a3 = _bgnbd_terms(r, alpha, a, b, *(np.asarray(v, np.float64) for v in (x, t_x, T)))
    return a1 + np.logaddexp(a2, a3)


def bgnbd_gradient(
    r: float, alpha: float, a: float, b: float, x: np.ndarray, t_x: np.ndarray, T: np.ndarray
) -> np.ndarray:
    """Partial derivatives of each customer's log-likelihood, shape (4, n): d/dr, d/dalpha, d/da, d/db.

    With w2, w3 = e^A2, e^A3 / (e^A2 + e^A3) and psi the digamma function:
    dA1/dr = psi(r + x) - psi(r) + log alpha, dA1/dalpha = r / alpha;
    dA2/dr = -log(alpha + T), dA2/dalpha = -(r + x) / (alpha + T),
    dA2/da = psi(a + b) - psi(a + b + x), dA2/db = psi(b + x) - psi(b) + psi(a + b) - psi(a + b + x);
    dA3 likewise with t_x, and dA3/da = psi(a + 1) - psi(a) + psi(a + b) - psi(a + b + x),
    dA3/db = psi(b + x - 1) - psi(b) + psi(a + b) - psi(a + b + x); d log L = dA1 + w2 dA2 + w3 dA3.
    """
    return _bgnbd_value_and_gradient(r, alpha, a, b, x, t_x, T)[1]


def _bgnbd_value_and_gradient(
    r: float, alpha: float, a: float, b: float, x: np.ndarray, t_x: np.ndarray, T: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Each customer's log-likelihood and its gradient (4, n), sharing the terms."""
    x, t_x, T = (np.asarray(v, np.float64) for v in (x, t_x, T))
    a1, a2, a3 = _bgnbd_terms(r, alpha, a, b, x, t_x, T)
    total = np.logaddexp(a2, a3)
    w2, w3 = np.exp(a2 - total), np.exp(a3 - total)
    psi = special.digamma
    common = psi(a + b) - psi(a + b + x)
    d_r = psi(r + x) - psi(r) + np.log(alpha) - w2 * np.log(alpha + T) - w3 * np.log(alpha + t_x)
    d_alpha = r / alpha - (r + x) * (w2 / (alpha + T) + w3 / (alpha + t_x))
    d_a = w2 * common + w3 * (psi(a + 1) - psi(a) + common)
    b_x1 = np.where(x > 0, b + x - 1, b)  # w3 is 0 where x = 0
    d_b = w2 * (psi(b + x) - psi(b) + common) + w3 * (psi(b_x1) - psi(b) + common)
    return a1 + total, np.vstack([d_r, d_alpha, d_a, d_b])


def _unique_rows(*columns: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
    """Distinct rows of the columns and how often each occurs (the weights of the likelihood)."""
    stacked = np.column_stack(columns)
    rows, counts = np.unique(stacked, axis=0, return_counts=True)
    return [rows[:, i] for i in range(rows.shape[1])], counts.astype(np.float64)


def bgnbd_fit(x: np.ndarray, t_x: np.ndarray, T: np.ndarray, time_unit: str = "weeks") -> BgNbdParams:
    """Fit BG/NBD by maximum likelihood.

    Parameters
    ----------
    x : array, shape (n,)
        Repeat purchases per customer (purchase days after the first).
    t_x : array, shape (n,)
        Time of the last purchase since the first, in `time_unit` (0 when x = 0).
    T : array, shape (n,)
        Time from the first purchase to the end of observation, in `time_unit`.
    time_unit : str
        The unit of t_x, T and the fitted alpha.

    Raises
    ------
    ValueError
        For invalid inputs, fewer than two customers, or no repeat purchase at all (the
        drop-out process cannot be estimated then).
    """
    xs, tx, tt = _bgnbd_inputs(x, t_x, T)
    if len(xs) < 2 or not np.any(xs > 0):
        raise ValueError("BG/NBD needs at least two customers and some repeat purchases")
    if tt.max() <= 0:
        raise ValueError("BG/NBD needs customers observed for some time (T > 0)")
    # Fit in units of the longest observation (alpha scales with the time unit, r, a, b do not).
    scale = float(tt.max())
    (ux, utx, uT), weight = _unique_rows(xs, tx / scale, tt / scale)

    def log_likelihood(*params: float) -> tuple[float, np.ndarray]:
        values, gradient = _bgnbd_value_and_gradient(*params, ux, utx, uT)
        return float(np.dot(weight, values)), gradient @ weight

    (r, alpha, a, b), scaled_ll, converged = _maximise(log_likelihood, 4)
    # The log-likelihood in the caller's time unit: each repeat purchase adds -log(scale).
    log_likelihood = scaled_ll - float(np.dot(weight, ux)) * np.log(scale)
    return BgNbdParams(
        r=float(r),
        alpha=float(alpha * scale),
        a=float(a),
        b=float(b),
        log_likelihood=float(log_likelihood),
        customers=len(xs),
        converged=converged,
        time_unit=time_unit,
    )


def p_alive(params: BgNbdParams, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
    """Probability that each customer is still active at the end of observation (0..1)."""
    xs, tx, tt = _bgnbd_inputs(x, t_x, T)
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        log_odds = np.log(a) - np.log(b + xs - 1) + (r + xs) * (np.log(alpha + tt) - np.log(alpha + tx))
        result = np.where(xs > 0, special.expit(-log_odds), 1.0)
    return result


def expected_purchases(
    params: BgNbdParams, t: float, x: np.ndarray, t_x: np.ndarray, T: np.ndarray
) -> np.ndarray:
    """Expected purchases of each customer in the next `t` time units (conditional on history)."""
    xs, tx, tt = _bgnbd_inputs(x, t_x, T)
    if not np.isfinite(t) or t < 0:
        raise ValueError("the horizon t must be a non-negative number")
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    if abs(a - 1.0) < 1e-9:
        a = 1.0 + 1e-9  # the closed form has a removable singularity at a = 1
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        z = t / (alpha + tt + t)
        power = np.exp((r + xs) * (np.log(alpha + tt) - np.log(alpha + tt + t)))
        hyp = special.hyp2f1(r + xs, b + xs, a + b + xs - 1, z)
        value = (a + b + xs - 1) / (a - 1) * (1.0 - power * hyp) * p_alive(params, xs, tx, tt)
    return np.where(np.isfinite(value), np.maximum(value, 0.0), 0.0)


# --- Gamma-Gamma --------------------------------------------------------------------------------


@dataclass(frozen=True)
class GammaGammaParams:
    """Fitted Gamma-Gamma parameters; `v` is in the currency of the fitted values."""

    p: float
    q: float
    v: float
    log_likelihood: float = float("nan")
    customers: int = 0
    converged: bool = True

    @property
    def population_mean(self) -> float:
        """Mean transaction value of the population, ``p v / (q - 1)`` (NaN when q <= 1)."""
        return self.p * self.v / (self.q - 1.0) if self.q > 1.0 else float("nan")

    def as_dict(self) -> dict[str, float | int | bool]:
        return asdict(self)


def _gg_inputs(x: object, m_x: object) -> tuple[np.ndarray, np.ndarray]:
    xs = float_array(x, "x", nonnegative=True)
    mx = float_array(m_x, "m_x", nonnegative=True)
    same_length(x=xs, m_x=mx)
    return xs, mx


def gamma_gamma_log_likelihood(p: float, q: float, v: float, x: np.ndarray, m_x: np.ndarray) -> np.ndarray:
    """Log-density of each repeat buyer's mean repeat value (x >= 1, m_x > 0)."""
    px = p * x
    return (
        special.gammaln(px + q)
        - special.gammaln(px)
        - special.gammaln(q)
        + q * np.log(v)
        + (px - 1) * np.log(m_x)
        + px * np.log(x)
        - (px + q) * np.log(x * m_x + v)
    )


def gamma_gamma_gradient(p: float, q: float, v: float, x: np.ndarray, m_x: np.ndarray) -> np.ndarray:
    """Partial derivatives of each repeat buyer's log-density, shape (3, n): d/dp, d/dq, d/dv.

    d/dp = x (psi(p x + q) - psi(p x) + log m_x + log x - log(x m_x + v)),
    d/dq = psi(p x + q) - psi(q) + log v - log(x m_x + v), d/dv = q / v - (p x + q) / (x m_x + v).
    """
    psi = special.digamma
    px = p * x
    log_total = np.log(x * m_x + v)
    d_p = x * (psi(px + q) - psi(px) + np.log(m_x) + np.log(x) - log_total)
    d_q = psi(px + q) - psi(q) + np.log(v) - log_total
    d_v = q / v - (px + q) / (x * m_x + v)
    return np.vstack([d_p, d_q, d_v])


def gamma_gamma_fit(x: np.ndarray, m_x: np.ndarray) -> GammaGammaParams:
    """Fit Gamma-Gamma on the customers with x >= 1 repeat purchases and m_x > 0.

    Parameters
    ----------
    x : array, shape (n,)
        Repeat purchases per customer (others are ignored by the fit).
    m_x : array, shape (n,)
        Mean value of those repeat purchases, in the shop currency.

    Raises
    ------
    ValueError
        For invalid inputs or fewer than two repeat buyers.
    """
    xs, mx = _gg_inputs(x, m_x)
    use = (xs >= 1) & (mx > 0)
    if use.sum() < 2:
        raise ValueError("Gamma-Gamma needs at least two repeat buyers")
    xs, mx = xs[use], mx[use]
    scale = float(np.mean(mx))  # v scales with the currency unit, p and q do not
    (ux, um), weight = _unique_rows(xs, mx / scale)

    def log_likelihood(*params: float) -> tuple[float, np.ndarray]:
        value = np.dot(weight, gamma_gamma_log_likelihood(*params, ux, um))
        return float(value), gamma_gamma_gradient(*params, ux, um) @ weight

    (p, q, v), scaled_ll, converged = _maximise(log_likelihood, 3)
    # Each customer's density in the original currency unit carries a factor 1 / scale.
    log_likelihood = scaled_ll - float(weight.sum()) * np.log(scale)
    return GammaGammaParams(
        p=float(p),
        q=float(q),
        v=float(v * scale),
        log_likelihood=float(log_likelihood),
        customers=int(use.sum()),
        converged=converged,
    )


def expected_spend(params: GammaGammaParams, x: np.ndarray, m_x: np.ndarray) -> np.ndarray:
    """Expected value of each customer's future purchases, ``p (v + x m_x) / (p x + q - 1)``.

    Customers without repeat purchases (x = 0) get the population mean ``p v / (q - 1)``.
    Needs q > 1 (the mean of the spend distribution exists); `ValueError` otherwise.
    """
    xs, mx = _gg_inputs(x, m_x)
    if params.q <= 1.0:
        raise ValueError("expected spend needs q > 1 (the fitted spend distribution has no mean)")
    p, q, v = params.p, params.q, params.v
    return p * (v + xs * mx) / (p * xs + q - 1.0)


def predicted_value(expected_orders: np.ndarray, spend: np.ndarray, margin: float) -> np.ndarray:
    """Predicted gross profit: ``expected orders x expected spend x margin`` (shop currency)."""
    orders = float_array(expected_orders, "expected_orders", nonnegative=True)
    value = float_array(spend, "spend", nonnegative=True)
    same_length(expected_orders=orders, spend=value)
    return orders * value * fraction(margin, "margin")
