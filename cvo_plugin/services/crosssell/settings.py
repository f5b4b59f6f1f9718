"""A shop's cross-sell settings: thresholds with defaults, validated, kept in `Shop.settings`."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from sqlalchemy.orm import Session

from cvo_plugin.analytics.basket import RANK_BY, Params
from cvo_plugin.models import Shop

SETTINGS_KEY = "crosssell"
_DEFAULTS = Params()


class SettingsError(ValueError):
    """A cross-sell setting is invalid; the message names it and says what is allowed."""


@dataclass(frozen=True)
class CrosssellSettings:
    """What a merchant can tune (the admin's settings page and `cvo compute` read these).

    `lookback_days` limits the orders read to the last so many days (None: all of them);
    the others are the analytics' `Params` (see `cvo_plugin.analytics.basket`).
    """

    max_recommendations: int = _DEFAULTS.max_recommendations
    min_orders_together: int = _DEFAULTS.min_orders_together
    min_confidence: float = _DEFAULTS.min_confidence
    min_lift: float = _DEFAULTS.min_lift
    half_life_days: float | None = _DEFAULTS.half_life_days
    rank_by: str = _DEFAULTS.rank_by
    min_customers: int = _DEFAULTS.min_customers
    lookback_days: int | None = None

    def params(self) -> Params:
        """The analytics parameters."""
        values = asdict(self)
        values.pop("lookback_days")
        return Params(**values)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


# What each setting means, for forms (the admin's settings page) and messages.
SETTINGS_HELP: dict[str, str] = {
    "max_recommendations": "Products kept per list (bought together, upsells, downsells): 1 to 100.",
    "min_orders_together": "Fewest orders that must hold both products before they are recommended together.",
    "min_confidence": "Smallest share (0 to 1) of the product's orders that also hold the recommended one.",
    "min_lift": "How many times more often than chance the two must sell together (1 = chance).",
    "half_life_days": "Count recent orders more: an order this many days old counts half. Empty: all alike.",
    "rank_by": "Order each list by confidence, lift or orders together.",
    "min_customers": "Fewest customers behind an upsell or downsell.",
    "lookback_days": "Only read orders of the last so many days. Empty: the whole history.",
}

_INTS = {"max_recommendations", "min_orders_together", "min_customers"}
_FLOATS = {"min_confidence", "min_lift"}
_OPTIONAL = {"half_life_days": float, "lookback_days": int}
_NAMES = tuple(f.name for f in fields(CrosssellSettings))


def _number(name: str, value: Any, kind: type) -> Any:
    """`value` (a number, or text from a form) as `kind`, or `SettingsError`."""
    if isinstance(value, bool):
        raise SettingsError(f"{name} must be a number, not {value!r}")
    try:
        number = float(str(value).strip()) if isinstance(value, str) else float(value)
    except (TypeError, ValueError):
        raise SettingsError(f"{name} must be a number, not {value!r}") from None
    if not math.isfinite(number):
        raise SettingsError(f"{name} must be a finite number")
    if kind is int:
        if number != int(number):
            raise SettingsError(f"{name} must be a whole number, not {value!r}")
        return int(number)
    return number


def validate_settings(values: Mapping[str, Any], base: CrosssellSettings | None = None) -> CrosssellSettings:
    """`base` (the defaults) with `values` applied, checked; `SettingsError` on the first problem.

    Accepts numbers or their text (form posts); an empty value of `half_life_days` or
    `lookback_days` turns it off. Unknown names are refused.
    """
    changes: dict[str, Any] = {}
    for name, value in values.items():
        if name not in _NAMES:
            raise SettingsError(f"unknown cross-sell setting {name!r}; known: {', '.join(_NAMES)}")
        if name in _INTS:
            changes[name] = _number(name, value, int)
        elif name in _FLOATS:
            changes[name] = _number(name, value, float)
        elif name in _OPTIONAL:
            empty = value is None or (isinstance(value, str) and not value.strip())
            changes[name] = None if empty else _number(name, value, _OPTIONAL[name])
        elif name == "rank_by":
            if value not in RANK_BY:
                raise SettingsError(f"rank_by must be one of {', '.join(RANK_BY)}")
            changes[name] = value
    settings = replace(base or CrosssellSettings(), **changes)
    try:
        settings.params().validate()
    except ValueError as exc:
        raise SettingsError(str(exc)) from None
    if settings.lookback_days is not None and not 1 <= settings.lookback_days <= 36_500:
        raise SettingsError("lookback_days must be between 1 and 36500 days (or empty for all orders)")
    if settings.half_life_days is not None and settings.half_life_days > 36_500:
        raise SettingsError("half_life_days must be at most 36500 days (or empty for no decay)")
    return settings


def crosssell_settings(shop: Shop) -> CrosssellSettings:
    """The shop's settings; stored values that no longer validate fall back to the defaults."""
    stored = shop.setting(SETTINGS_KEY) or {}
    try:
        return validate_settings({k: v for k, v in stored.items() if k in _NAMES})
    except SettingsError:
        return CrosssellSettings()


def update_crosssell_settings(session: Session, shop: Shop, values: Mapping[str, Any]) -> CrosssellSettings:
    """Apply `values` to the shop's settings (validated first: nothing changes on an error)."""
    settings = validate_settings(values, crosssell_settings(shop))
    shop.settings = {**(shop.settings or {}), SETTINGS_KEY: settings.as_dict()}
    session.flush()
    return settings
