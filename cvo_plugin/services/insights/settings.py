"""A shop's analytics settings: defaults, validation, and their place in `Shop.settings["analytics"]`.

| name | meaning | default |
| --- | --- | --- |
| `gross_margin` | gross margin (0..1) of historic and predicted CLV; `null`: see below | `null` |
| `expected_lifespan_years` | expected customer lifespan of the seeds' CLV formula | 3 |
| `rfm_scale` | RFM scores run 1..scale (3, 4 or 5) | 5 |
| `segment_preset` | `classic` or `cvo-lovers` | `classic` |
| `segment_names` | display names by segment key, e.g. `{"new": "Apprentice"}` | `{}` |
| `segment_rules` | a whole custom rule table (list of segments) instead of the preset | `null` |
| `snapshots_keep` | most recent snapshots kept per shop | 7 |
| `monthly_snapshots_keep` | besides those, the last snapshot of each of this many months | 12 |

Without a `gross_margin` the computation uses the catalogue's (from the cost per item of the
variants sold, when costs cover at least half of the sales), else 50 %.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from cvo_plugin.analytics.segments import DEFAULT_PRESET, PRESETS, SegmentTable, build_table
from cvo_plugin.models import Shop

SETTINGS_KEY = "analytics"
DEFAULT_MARGIN = 0.5
SCALES = (3, 4, 5)


class AnalyticsSettingsError(ValueError):
    """Invalid analytics settings; `errors` maps each bad field to what is wrong with it."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{name}: {message}" for name, message in errors.items()))
        self.errors = errors


@dataclass(frozen=True)
class AnalyticsSettings:
    gross_margin: float | None = None
    expected_lifespan_years: float = 3.0
    rfm_scale: int = 5
    segment_preset: str = DEFAULT_PRESET
    segment_names: dict[str, str] = field(default_factory=dict)
    segment_rules: list[dict[str, Any]] | None = None
    snapshots_keep: int = 7
    monthly_snapshots_keep: int = 12

    def segment_table(self) -> SegmentTable:
        """The shop's segment rule table."""
        return build_table(self.segment_preset, self.segment_names or None, self.segment_rules)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _number(value: Any, low: float, high: float, integer: bool = False) -> float | int:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError("must be a number")
    try:
        number = float(value)
    except ValueError:
        raise ValueError("must be a number") from None
    if number != number or not low <= number <= high:
        raise ValueError(f"must be between {low:g} and {high:g}")
    if integer:
        if number != int(number):
            raise ValueError("must be a whole number")
        return int(number)
    return number


def _margin(value: Any) -> float | None:
    if value is None or value == "":
        return None
    return float(_number(value, 0.0, 1.0))


def _preset(value: Any) -> str:
    if value not in PRESETS:
        raise ValueError(f"must be one of {', '.join(PRESETS)}")
    return str(value)


def _names(value: Any) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise ValueError("must map segment keys to names")
    return {k: v.strip() for k, v in value.items() if v.strip()}


def _rules(value: Any) -> list[dict[str, Any]] | None:
    if value is None or value == []:
        return None
    if not isinstance(value, list):
        raise ValueError("must be a list of segments")
    return [dict(item) if isinstance(item, Mapping) else item for item in value]


_PARSERS = {
    "gross_margin": _margin,
    "expected_lifespan_years": lambda v: float(_number(v, 0.1, 50.0)),
    "rfm_scale": lambda v: int(_number(v, min(SCALES), max(SCALES), integer=True)),
    "segment_preset": _preset,
    "segment_names": _names,
    "segment_rules": _rules,
    "snapshots_keep": lambda v: int(_number(v, 2, 100, integer=True)),
    "monthly_snapshots_keep": lambda v: int(_number(v, 0, 60, integer=True)),
}


def validate_settings(values: Mapping[str, Any], base: AnalyticsSettings | None = None) -> AnalyticsSettings:
    """`base` (default: the defaults) with `values` applied; `AnalyticsSettingsError` lists every problem."""
    current = (base or AnalyticsSettings()).as_dict()
    errors: dict[str, str] = {}
    unknown = sorted(set(values) - set(_PARSERS))
    for name in unknown:
        errors[name] = "is not an analytics setting"
    for name, value in values.items():
        if name in _PARSERS:
            try:
                current[name] = _PARSERS[name](value)
            except ValueError as exc:
                errors[name] = str(exc)
    if not errors:
        try:
            AnalyticsSettings(**current).segment_table()
        except ValueError as exc:
            errors["segment_names" if current["segment_rules"] is None else "segment_rules"] = str(exc)
    if errors:
        raise AnalyticsSettingsError(errors)
    return AnalyticsSettings(**current)


def get_analytics_settings(shop: Shop) -> AnalyticsSettings:
    """The shop's settings (defaults for what it has not set).

    Stored settings were validated when saved; should they have become invalid (a preset
    renamed in a later version), the defaults stand in for the bad fields.
    """
    stored = shop.setting(SETTINGS_KEY) or {}
    known = {f.name for f in fields(AnalyticsSettings)}
    values = {k: v for k, v in stored.items() if k in known} if isinstance(stored, Mapping) else {}
    try:
        return validate_settings(values)
    except AnalyticsSettingsError as exc:
        return validate_settings({k: v for k, v in values.items() if k not in exc.errors})


def update_analytics_settings(shop: Shop, changes: Mapping[str, Any]) -> AnalyticsSettings:
    """Validate `changes` over the shop's settings and store them (the caller commits)."""
    updated = validate_settings(changes, get_analytics_settings(shop))
    stored = {k: v for k, v in updated.as_dict().items() if v != getattr(AnalyticsSettings(), k)}
    # Reassign the whole dict: in-place changes of a JSON column are not tracked.
    shop.settings = {**(shop.settings or {}), SETTINGS_KEY: stored}
    return updated
