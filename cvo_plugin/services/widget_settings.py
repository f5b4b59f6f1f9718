"""A shop's storefront settings: the widget switch, its holdout share and the segment tags.

Kept in `Shop.settings["widget"]`; the admin's settings page writes them, the widget API, the
event recorder and the tag write-back read them.

| name | meaning | default |
| --- | --- | --- |
| `enabled` | the storefront widget shows recommendations | true |
| `holdout_share` | share of visitors (0 to 0.5, stable by anonymous id) shown no widget | 0.1 |
| `segment_tags` | write `cvo-<segment>` tags to the store's customers after each computation | false |
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from sqlalchemy.orm import Session

from cvo_plugin.models import Shop

SETTINGS_KEY = "widget"
MAX_HOLDOUT = 0.5


class WidgetSettingsError(ValueError):
    """A storefront setting is invalid; the message names it and says what is allowed."""


@dataclass(frozen=True)
class WidgetSettings:
    enabled: bool = True
    holdout_share: float = 0.1
    segment_tags: bool = False

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


SETTINGS_HELP: dict[str, str] = {
    "enabled": "Show recommendations on the storefront.",
    "holdout_share": "Share of visitors (0 to 0.5) who see no widget, so the lift it brings can be measured.",
    "segment_tags": "Tag the store's customers with their segment after each computation.",
}

_NAMES = tuple(f.name for f in fields(WidgetSettings))
_TRUE = {"1", "true", "on", "yes"}
_FALSE = {"0", "false", "off", "no", ""}


def _flag(name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower() if value is not None else ""
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise WidgetSettingsError(f"{name} must be on or off, not {value!r}")


def _share(name: str, value: Any) -> float:
    if isinstance(value, bool):
        raise WidgetSettingsError(f"{name} must be a number, not {value!r}")
    try:
        number = float(str(value).strip()) if isinstance(value, str) else float(value)
    except (TypeError, ValueError):
        raise WidgetSettingsError(f"{name} must be a number between 0 and {MAX_HOLDOUT}") from None
    if not math.isfinite(number) or not 0.0 <= number <= MAX_HOLDOUT:
        raise WidgetSettingsError(f"{name} must be a number between 0 and {MAX_HOLDOUT}")
    return number


def validate_widget_settings(values: Mapping[str, Any], base: WidgetSettings | None = None) -> WidgetSettings:
    """`base` with `values` applied and checked; unknown names are refused."""
    changes: dict[str, Any] = {}
    for name, value in values.items():
        if name not in _NAMES:
            raise WidgetSettingsError(f"unknown storefront setting {name!r}; known: {', '.join(_NAMES)}")
        changes[name] = _share(name, value) if name == "holdout_share" else _flag(name, value)
    return replace(base or WidgetSettings(), **changes)


def widget_settings(shop: Shop) -> WidgetSettings:
    """The shop's settings; stored values that no longer validate fall back to the defaults."""
    stored = shop.setting(SETTINGS_KEY) or {}
    try:
        return validate_widget_settings({k: v for k, v in stored.items() if k in _NAMES})
    except WidgetSettingsError:
        return WidgetSettings()


def update_widget_settings(session: Session, shop: Shop, values: Mapping[str, Any]) -> WidgetSettings:
    """Apply `values` (validated first: nothing changes on an error)."""
    settings = validate_widget_settings(values, widget_settings(shop))
    shop.settings = {**(shop.settings or {}), SETTINGS_KEY: settings.as_dict()}
    session.flush()
    return settings
