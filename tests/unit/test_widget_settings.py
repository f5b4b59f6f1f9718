"""Storefront settings: defaults, form values, refusals that change nothing."""

from __future__ import annotations

import pytest

from cvo_plugin.models import Shop
from cvo_plugin.services.widget_settings import (
    WidgetSettings,
    WidgetSettingsError,
    validate_widget_settings,
    widget_settings,
)


def test_defaults_for_a_shop_without_settings() -> None:
    assert widget_settings(Shop(settings={})) == WidgetSettings(
        enabled=True, holdout_share=0.1, segment_tags=False
    )


def test_form_values_are_read() -> None:
    settings = validate_widget_settings({"enabled": "off", "holdout_share": " 0.25 ", "segment_tags": "on"})
    assert settings == WidgetSettings(enabled=False, holdout_share=0.25, segment_tags=True)


@pytest.mark.parametrize(
    "values",
    [
        {"holdout_share": "0.6"},
        {"holdout_share": "-0.1"},
        {"holdout_share": "nan"},
        {"holdout_share": True},
        {"enabled": "maybe"},
        {"colour": "red"},
    ],
)
def test_bad_values_are_refused(values: dict) -> None:
    with pytest.raises(WidgetSettingsError):
        validate_widget_settings(values)


def test_stored_garbage_falls_back_to_defaults() -> None:
    assert widget_settings(Shop(settings={"widget": {"holdout_share": 7}})) == WidgetSettings()
    assert widget_settings(Shop(settings={"widget": {"holdout_share": 0.2}})).holdout_share == 0.2
