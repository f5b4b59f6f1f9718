"""Acquisition channels and channel economics by hand."""

from __future__ import annotations

import numpy as np
import pytest

from cvo_plugin.analytics.channels import (
    channel_metrics,
    classify_channel,
    classify_channels,
    month_index,
    normalize_channel,
)


@pytest.mark.parametrize(
    "fields, channel",
    [
        ({"utm_source": "Facebook", "referrer": "https://www.google.com/"}, "facebook"),
        ({"utm_source": "fb"}, "facebook"),
        ({"utm_source": "www.Instagram.com"}, "instagram"),
        ({"utm_source": "klaviyo", "utm_medium": "email"}, "email"),
        ({"utm_source": "shop", "utm_medium": "Newsletter"}, "email"),
        ({"landing_page": "/products/x?utm_source=tiktok&utm_medium=paid"}, "tiktok"),
        ({"landing_page": "/?utm_campaign=spring&utm_medium=email"}, "email"),
        ({"referrer": "https://www.google.de/search?q=coffee"}, "organic"),
        ({"referrer": "https://duckduckgo.com/"}, "organic"),
        ({"referrer": "https://l.facebook.com/l.php?u=x"}, "facebook"),
        ({"referrer": "https://t.co/abc"}, "twitter"),
        ({"referrer": "https://mail.google.com/mail/u/0"}, "email"),
        ({"referrer": "https://coffee-blog.example/best-beans"}, "referral"),
        ({"source_name": "web"}, "direct"),
        ({"source_name": "pos"}, "pos"),
        ({"source_name": "shopify_draft_order"}, "draft order"),
        ({"source_name": "580111"}, "other"),
        ({"source_name": "Google"}, "google"),
        ({}, "unknown"),
        ({"utm_source": "  ", "referrer": " "}, "unknown"),
    ],
)
def test_channel_rules(fields: dict, channel: str) -> None:
    assert classify_channel(**fields) == channel


def test_normalize_channel() -> None:
    assert normalize_channel(" Google  Ads ") == "google"
    assert normalize_channel("https://www.Pinterest.com/") == "pinterest"
    assert normalize_channel("") is None
    assert normalize_channel(None) is None


def test_classify_many_runs_once_per_combination() -> None:
    codes, labels = classify_channels(
        utm_source=np.array(["fb", None, None, "fb", ""], dtype=object),
        utm_medium=np.array([None] * 5, dtype=object),
        referrer=np.array([None, "https://bing.com", None, None, None], dtype=object),
        landing_page=np.array([None] * 5, dtype=object),
        source_name=np.array(["web", "web", "web", "web", None], dtype=object),
    )
    assert labels == ["direct", "facebook", "organic", "unknown"]
    assert [labels[c] for c in codes] == ["facebook", "organic", "direct", "facebook", "unknown"]


def test_channel_metrics_by_hand() -> None:
    jan, feb, mar = 2024 * 12, 2024 * 12 + 1, 2024 * 12 + 2
    # channel 0 (paid): customers in Jan (LTV 100, 50) and Mar (LTV 300); spend in Jan and Feb
    # channel 1 (organic): one customer, no spend; channel 2: spend but nobody came
    metrics = channel_metrics(
        channel=[0, 0, 0, 1],
        n_channels=3,
        acquired_month=[jan, jan, mar, feb],
        ltv=[100.0, 50.0, 300.0, 80.0],
        spend_channel=[0, 0, 2],
        spend_month=[jan, feb, jan],
        spend_amount=[120.0, 30.0, 10.0],
    )
    assert metrics.customers.tolist() == [3, 1, 0]
    assert metrics.avg_ltv[:2].tolist() == pytest.approx([150.0, 80.0])
    assert metrics.spend.tolist() == [150.0, 0.0, 10.0]
    assert metrics.spend_months.tolist() == [2, 0, 1]
    assert metrics.new_customers.tolist() == [2, 0, 0]  # March is outside the spend months
    assert metrics.cac[0] == pytest.approx(75.0)
    assert metrics.new_customer_ltv[0] == pytest.approx(75.0)
    assert metrics.ltv_cac[0] == pytest.approx(1.0)
    assert np.isnan(metrics.ltv_cac[1])  # no spend: no ratio, no flag
    assert metrics.ltv_cac[2] == 0.0  # spend, nobody acquired
    assert metrics.below_1.tolist() == [False, False, True]
    assert metrics.below_3.tolist() == [True, False, True]


def test_month_index() -> None:
    days = np.array(["2024-01-31", "2024-02-01", "1970-01-01"], dtype="datetime64[D]").astype(np.int64)
    assert month_index(days).tolist() == [2024 * 12, 2024 * 12 + 1, 1970 * 12]


def test_channel_codes_are_checked() -> None:
    with pytest.raises(ValueError, match="codes"):
        channel_metrics([3], 2, [0], [1.0], [], [], [])
    with pytest.raises(ValueError, match="negative"):
        channel_metrics([0], 1, [0], [1.0], [0], [0], [-5.0])
