"""CLV: the formulas by hand, BG/NBD against an independent integral, and the CDNOW results."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest
from scipy import integrate, stats

from cvo_plugin.analytics import clv
from cvo_plugin.analytics.customers import customer_history
from cvo_plugin.analytics.simulate import simulate_customers
from tests.conftest import DATA

CDNOW_BGNBD = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
CDNOW_GAMMA_GAMMA = {"p": 6.25, "q": 3.74, "v": 15.44}


def cdnow_history():  # type: ignore[no-untyped-def]
    """The CDNOW sample's 39-week calibration period (same-day purchases merged by the grouping)."""
    raw = np.loadtxt(DATA / "cdnow" / "CDNOW_sample.txt", dtype=str)
    iso = np.array([f"{v[:4]}-{v[4:6]}-{v[6:]}" for v in raw[:, 2]], dtype="datetime64[D]")
    return customer_history(
        raw[:, 1].astype(int), iso.astype(np.int64), raw[:, 4].astype(float), date(1997, 9, 30)
    )


def test_cdnow_reproduces_the_published_parameters() -> None:
    history = cdnow_history()
    assert len(history) == 2357
    assert int(history.repeat_purchases.sum()) == 2457  # Fader & Hardie's repeat transactions
    weeks = clv.DAYS_PER_WEEK
    bgnbd = clv.bgnbd_fit(history.repeat_purchases, (history.last_day - history.first_day) / weeks,
                          history.tenure_days / weeks)  # fmt: skip
    assert bgnbd.converged
    for name, published in CDNOW_BGNBD.items():
        assert getattr(bgnbd, name) == pytest.approx(published, rel=0.01), name
    assert bgnbd.log_likelihood == pytest.approx(-9582.4, abs=0.1)

    gamma_gamma = clv.gamma_gamma_fit(history.repeat_purchases, history.repeat_value)
    assert gamma_gamma.customers == 946
    for name, published in CDNOW_GAMMA_GAMMA.items():
        assert getattr(gamma_gamma, name) == pytest.approx(published, rel=0.01), name


def test_historic_and_formula_clv_by_hand() -> None:
    assert clv.historic_clv([100.0, 0.0, 35.5], 0.4).tolist() == pytest.approx([40.0, 0.0, 14.2])
    # AOV 50 x 3 orders a year x 40 % margin x 2 years = 120
    assert clv.formula_clv(50.0, 3.0, 0.4, 2.0) == pytest.approx(120.0)
    assert clv.customer_years([0, 365, 730]).tolist() == [1.0, 1.0, 2.0]
    with pytest.raises(ValueError, match="margin"):
        clv.historic_clv([1.0], 1.5)
    with pytest.raises(ValueError, match="lifespan"):
        clv.formula_clv(50.0, 3.0, 0.4, 0.0)


PARAMS = clv.BgNbdParams(r=0.243, alpha=4.414, a=0.793, b=2.426)


def _by_integration(x: int, t_x: float, T: float, t: float) -> tuple[float, float]:
    """E[purchases in t] and P(alive) from the model's definition, integrating over p numerically.

    Given the dropout probability q the purchase rate integrates in closed form (Gamma prior);
    the remaining integral over q ~ Beta(a, b) is done by quadrature, without hypergeometrics.
    """
    r, alpha, a, b = PARAMS.r, PARAMS.alpha, PARAMS.a, PARAMS.b
    beta = stats.beta(a, b).pdf

    def quad(f):  # type: ignore[no-untyped-def]
        return integrate.quad(f, 0, 1, limit=200, epsabs=1e-13, epsrel=1e-10)[0]

    alive = quad(lambda q: beta(q) * (1 - q) ** x * (alpha + T) ** -(r + x))
    dead = quad(lambda q: beta(q) * q * (1 - q) ** (x - 1) * (alpha + t_x) ** -(r + x)) if x > 0 else 0.0
    # alive at T: E[purchases in (T, T + t] | rate l, q] = (1 - exp(-l q t)) / q
    future = quad(
        lambda q: beta(q) * (1 - q) ** x / q * ((alpha + T) ** -(r + x) - (alpha + T + q * t) ** -(r + x))
    )
    return future / (alive + dead), alive / (alive + dead)


@pytest.mark.parametrize(
    "x, t_x, T, t", [(2, 30.43, 38.86, 39.0), (0, 0.0, 38.86, 52.0), (5, 20.0, 38.0, 52.0)]
)
def test_conditional_expectations_match_the_model_definition(x: int, t_x: float, T: float, t: float) -> None:
    expected, alive = _by_integration(x, t_x, T, t)
    assert clv.expected_purchases(PARAMS, t, [x], [t_x], [T])[0] == pytest.approx(expected, rel=1e-6)
    assert clv.p_alive(PARAMS, [x], [t_x], [T])[0] == pytest.approx(alive, rel=1e-6)


def test_p_alive_by_hand() -> None:
    params = clv.BgNbdParams(r=1.0, alpha=1.0, a=1.0, b=1.0)
    # x = 1, t_x = 1, T = 2: odds = a / (b + x - 1) ((alpha + T) / (alpha + t_x))^(r + x) = 2.25
    assert clv.p_alive(params, [1, 0], [1.0, 0.0], [2.0, 5.0]).tolist() == pytest.approx([1 / 3.25, 1.0])
    assert clv.expected_purchases(params, 0.0, [1], [1.0], [2.0]).tolist() == [0.0]


def test_gamma_gamma_expected_spend_by_hand() -> None:
    params = clv.GammaGammaParams(p=6.25, q=3.74, v=15.44)
    # x = 2, m = 30: 6.25 (15.44 + 60) / (12.5 + 3.74 - 1) = 30.938...
    spend = clv.expected_spend(params, [2, 0], [30.0, 0.0])
    assert spend[0] == pytest.approx(6.25 * 75.44 / 15.24)
    assert spend[1] == pytest.approx(params.population_mean) == pytest.approx(6.25 * 15.44 / 2.74)
    with pytest.raises(ValueError, match="q > 1"):
        clv.expected_spend(clv.GammaGammaParams(p=1.0, q=0.9, v=1.0), [1], [1.0])


def test_fits_recover_simulated_parameters() -> None:
    truth = {"r": 0.6, "alpha": 12.0, "a": 0.8, "b": 2.5}
    spend = {"p": 4.0, "q": 5.0, "v": 60.0}
    customers = simulate_customers(20_000, truth, spend, seed=3)
    fit = clv.bgnbd_fit(customers.x, customers.t_x, customers.T)
    assert fit.converged
    for name, value in truth.items():
        assert getattr(fit, name) == pytest.approx(value, rel=0.15), name
    gamma_gamma = clv.gamma_gamma_fit(customers.x, customers.m_x)
    for name, value in spend.items():
        assert getattr(gamma_gamma, name) == pytest.approx(value, rel=0.15), name


def test_fits_refuse_data_they_cannot_estimate() -> None:
    with pytest.raises(ValueError, match="repeat purchases"):
        clv.bgnbd_fit([0, 0, 0], [0, 0, 0], [5, 6, 7])
    with pytest.raises(ValueError, match="cannot exceed"):
        clv.bgnbd_fit([1, 2], [5, 9], [4, 10])
    with pytest.raises(ValueError, match="t_x = 0"):
        clv.bgnbd_fit([0, 2], [3, 9], [4, 10])
    with pytest.raises(ValueError, match="whole numbers"):
        clv.bgnbd_fit([0.5, 2], [0, 9], [4, 10])
    with pytest.raises(ValueError, match="two repeat buyers"):
        clv.gamma_gamma_fit([1, 0], [10.0, 0.0])


def test_predicted_value() -> None:
    assert clv.predicted_value([2.0, 0.5], [30.0, 10.0], 0.5).tolist() == [30.0, 2.5]


def test_gradients_match_finite_differences() -> None:
    from scipy.optimize import approx_fprime

    x = np.array([0.0, 1.0, 2.0, 7.0])
    t_x = np.array([0.0, 3.5, 20.0, 30.0])
    T = np.array([10.0, 12.0, 38.0, 31.0])
    params = np.array([0.243, 4.414, 0.793, 2.426])
    numeric = np.array(
        [
            approx_fprime(params, lambda p, i=i: clv.bgnbd_log_likelihood(*p, x, t_x, T)[i], 1e-7)
            for i in range(4)
        ]
    )
    assert clv.bgnbd_gradient(*params, x, t_x, T).T == pytest.approx(numeric, rel=1e-4, abs=1e-5)

    m_x = np.array([12.0, 30.0, 55.5, 8.0])
    spend = np.array([6.25, 3.74, 15.44])
    numeric = np.array(
        [
            approx_fprime(spend, lambda p, i=i: clv.gamma_gamma_log_likelihood(*p, x + 1, m_x)[i], 1e-7)
            for i in range(4)
        ]
    )
    assert clv.gamma_gamma_gradient(*spend, x + 1, m_x).T == pytest.approx(numeric, rel=1e-4, abs=1e-5)
