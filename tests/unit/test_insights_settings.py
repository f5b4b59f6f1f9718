"""A shop's analytics settings: defaults, validation, storage in `Shop.settings`."""

from __future__ import annotations

import pytest

from cvo_plugin.models import Shop
from cvo_plugin.services.insights.settings import (
    AnalyticsSettings,
    AnalyticsSettingsError,
    get_analytics_settings,
    update_analytics_settings,
)


def shop(settings: dict | None = None) -> Shop:
    return Shop(platform="csv", domain="s.example", settings=settings or {})


def test_defaults() -> None:
    settings = get_analytics_settings(shop())
    assert settings == AnalyticsSettings()
    assert settings.gross_margin is None and settings.rfm_scale == 5 and settings.segment_preset == "classic"
    assert settings.segment_table().names[0] == "Champions"


def test_update_validates_and_stores_only_what_differs() -> None:
    record = shop({"other_issue": {"keep": True}})
    updated = update_analytics_settings(
        record,
        {
            "gross_margin": "0.42",
            "rfm_scale": 3,
            "segment_preset": "cvo-lovers",
            "segment_names": {"apprentices": "Fresh Apprentice"},
            "snapshots_keep": 10,
        },
    )
    assert updated.gross_margin == 0.42 and updated.rfm_scale == 3
    assert updated.segment_table().name_of("apprentices") == "Fresh Apprentice"
    assert record.settings["other_issue"] == {"keep": True}
    assert record.settings["analytics"] == {
        "gross_margin": 0.42,
        "rfm_scale": 3,
        "segment_preset": "cvo-lovers",
        "segment_names": {"apprentices": "Fresh Apprentice"},
        "snapshots_keep": 10,
    }
    assert get_analytics_settings(record) == updated
    # back to a default: no longer stored
    update_analytics_settings(record, {"gross_margin": None, "rfm_scale": 5})
    assert (
        "gross_margin" not in record.settings["analytics"] and "rfm_scale" not in record.settings["analytics"]
    )


def test_every_problem_is_reported_and_nothing_stored() -> None:
    record = shop()
    with pytest.raises(AnalyticsSettingsError) as caught:
        update_analytics_settings(
            record,
            {
                "gross_margin": 1.5,
                "rfm_scale": 7,
                "segment_preset": "fancy",
                "expected_lifespan_years": "x",
                "snapshots_keep": 2.5,
                "colour": "red",
            },
        )
    assert set(caught.value.errors) == {
        "gross_margin",
        "rfm_scale",
        "segment_preset",
        "expected_lifespan_years",
        "snapshots_keep",
        "colour",
    }
    assert caught.value.errors["rfm_scale"] == "must be between 3 and 5"
    assert caught.value.errors["colour"] == "is not an analytics setting"
    assert record.settings == {}


def test_segment_overrides_are_checked_as_a_table() -> None:
    with pytest.raises(AnalyticsSettingsError) as caught:
        update_analytics_settings(shop(), {"segment_names": {"nope": "X"}})
    assert "unknown segments: nope" in caught.value.errors["segment_names"]
    with pytest.raises(AnalyticsSettingsError) as caught:
        update_analytics_settings(
            shop(), {"segment_rules": [{"key": "all", "name": "All", "rules": [{"r": "2-5"}]}]}
        )
    assert "25 RFM codes not covered" in caught.value.errors["segment_rules"]
    custom = [
        {"key": "active", "name": "Active", "rules": [{"r": "3-5"}]},
        {"key": "ex", "name": "Ex-Lovers", "rules": [{"r": "1-2"}]},
    ]
    settings = update_analytics_settings(shop(), {"segment_rules": custom})
    assert settings.segment_table().names == ["Active", "Ex-Lovers"]


def test_stored_settings_that_became_invalid_fall_back_to_defaults() -> None:
    record = shop({"analytics": {"segment_preset": "retired-preset", "rfm_scale": 4, "unknown": 1}})
    settings = get_analytics_settings(record)
    assert settings.segment_preset == "classic" and settings.rfm_scale == 4
