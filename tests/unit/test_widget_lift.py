"""The AOV lift (exposed vs holdout) and the visitor split, by hand and against scipy."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from cvo_plugin.analytics.lift import aov_lift
from cvo_plugin.services.widget.attribution import parse_note_attributes
from cvo_plugin.services.widget.holdout import EXPOSED, HOLDOUT, arm_of, valid_anon_id


def test_a_hand_checked_comparison() -> None:
    # exposed: mean 30, sample variance 100; holdout: mean 20, sample variance 100.
    result = aov_lift(np.array([20.0, 30.0, 40.0]), np.array([10.0, 20.0, 30.0]))
    assert (result.n_exposed, result.n_holdout) == (3, 3)
    assert result.aov_exposed == 30.0 and result.aov_holdout == 20.0
    assert result.difference == 10.0 and result.relative_lift == pytest.approx(0.5)
    se = math.sqrt(100 / 3 + 100 / 3)  # Welch: equal variances and sizes give 4 degrees of freedom
    t = stats.t.ppf(0.975, 4)
    assert result.difference_ci == pytest.approx((10 - t * se, 10 + t * se))
    log_se = math.sqrt(100 / 3 / 900 + 100 / 3 / 400)
    assert result.relative_ci == pytest.approx(
        (math.exp(math.log(1.5) - t * log_se) - 1, math.exp(math.log(1.5) + t * log_se) - 1)
    )


def test_welch_matches_scipy() -> None:
    rng = np.random.default_rng(3)
    exposed = rng.gamma(2.0, 40.0, 900)
    holdout = rng.gamma(2.0, 36.0, 120)
    result = aov_lift(exposed, holdout, confidence=0.9)
    reference = stats.ttest_ind(exposed, holdout, equal_var=False)
    assert result.p_value == pytest.approx(reference.pvalue)
    low, high = reference.confidence_interval(0.9)
    assert result.difference_ci == pytest.approx((low, high))
    assert result.difference_ci[0] < result.difference < result.difference_ci[1]
    assert result.relative_ci[0] < result.relative_lift < result.relative_ci[1]


def test_too_few_orders_give_no_interval_and_bad_input_is_refused() -> None:
    result = aov_lift(np.array([50.0]), np.array([]))
    assert result.aov_exposed == 50.0 and result.aov_holdout is None
    assert result.difference is None and result.difference_ci is None and result.p_value is None
    constant = aov_lift(np.array([10.0, 10.0]), np.array([10.0, 10.0]))
    assert constant.difference_ci == (0.0, 0.0) and constant.p_value == 1.0
    with pytest.raises(ValueError, match="negative"):
        aov_lift(np.array([-1.0, 2.0]), np.array([1.0, 2.0]))
    with pytest.raises(ValueError, match="finite"):
        aov_lift(np.array([np.nan, 2.0]), np.array([1.0, 2.0]))
    with pytest.raises(ValueError, match="confidence"):
        aov_lift(np.array([1.0, 2.0]), np.array([1.0, 2.0]), confidence=1.0)


def test_the_split_is_stable_and_holds_out_the_share() -> None:
    anons = [f"anon-{i:06d}" for i in range(20_000)]
    arms = [arm_of("pk_shop", a, 0.1) for a in anons]
    assert arms == [arm_of("pk_shop", a, 0.1) for a in anons]  # stable
    assert 0.09 < arms.count(HOLDOUT) / len(anons) < 0.11
    # A visitor held out at 10 % stays held out at 20 % (the share grows, nobody flips back).
    assert all(
        arm_of("pk_shop", a, 0.2) == HOLDOUT for a, arm in zip(anons, arms, strict=True) if arm == HOLDOUT
    )
    assert {arm_of("pk_shop", a, 0.0) for a in anons[:100]} == {EXPOSED}
    other = [arm_of("pk_other", a, 0.1) for a in anons]
    assert other != arms  # shops are split independently
    assert (
        valid_anon_id("0123456789abcdef") and not valid_anon_id("short") and not valid_anon_id("a b c d e f")
    )


def test_order_attributes_as_each_platform_stores_them() -> None:
    shopify = "gift: yes\n_cvo_arm: exposed\n_cvo_added: 11,12"
    assert parse_note_attributes(shopify) == {"gift": "yes", "_cvo_arm": "exposed", "_cvo_added": "11,12"}
    assert parse_note_attributes('{"_cvo_arm": "holdout", "session_count": 3}') == {
        "_cvo_arm": "holdout",
        "session_count": "3",
    }
    assert parse_note_attributes(None) == {} and parse_note_attributes("{broken") == {}
