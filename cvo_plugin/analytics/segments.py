"""Segments from RFM scores through rule tables (data, not code branches).

A table is a list of segments; each segment has a stable ``key`` (used in storage, URLs and
transitions), a display ``name`` (which a shop may rename), a description, and rules. A rule
gives an inclusive range of R, F and M scores on the 1..5 scale (``"4-5"``, ``3`` or
``[1, 2]``; a score left out means any). A table is valid only when every one of the 125
(R, F, M) combinations falls in exactly one segment, so assignment never depends on rule order.
Scores of a 1..3 or 1..4 scale are first mapped onto 1..5 (`rfm.to_five_point`).

Presets (see RFM.md):

``classic`` (default), the widely used R x F grid, M not used::

    R \\ F   1               2                    3                    4                5
    5       New Customers   Potential Loyalists  Potential Loyalists  Champions        Champions
    4       Promising       Potential Loyalists  Potential Loyalists  Loyal Customers  Loyal Customers
    3       About to Sleep  About to Sleep       Need Attention       Loyal Customers  Loyal Customers
    2       Hibernating     Hibernating          At Risk              At Risk          Can't Lose Them
    1       Lost            Hibernating          At Risk              At Risk          Can't Lose Them

``cvo-lovers``, the eleven groups of Omniconvert's REVEAL. Ex-Lovers and Breakups follow the
published codes; the other rules are this project's reading of REVEAL's descriptions:

================= ========================================= ===================================
group             rule (R, F, M)                            REVEAL's description
================= ========================================= ===================================
Soulmates         R 4-5, F 4-5, M 4-5                       buy most often, spend most, recently
Lovers            R 4-5, F 4-5, M 1-3; R 5, F 2-3, M 1-3    active, a couple of orders, recent
Potential Lovers  R 4-5, F 2-3, M 4-5                       active, a couple of high-value orders
New Passion       R 4, F 1-3, M 1-3                         1-2 orders of average value
Apprentices       R 5, F 1, M 1-3                           just placed their first order
Don Juan          R 3-5, F 1, M 4-5                         one order only, of high value
Flirting          R 3, F 2-5, M 4-5                         on and off; high-value, inconsistent
Platonic Friend   R 3, F 1-5, M 1-3                         active, few orders, small or medium
About to Dump You R 2, any F, any M                         inactive, last order long ago
Ex-Lovers         R 1, F 2, M 4-5; R 1, F 3-5, M 3-5        former Lovers/Soulmates, inactive
Breakups          R 1, F 1; R 1, F 2, M 1-3; R 1, F 3-5,    inactive, small values, deal hunters
                  M 1-2
================= ========================================= ===================================
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from cvo_plugin.analytics.rfm import to_five_point

GRID = 5  # rule tables are written on the 1..5 scale
MAX_NAME = 64
_KEY = re.compile(r"^[a-z0-9][a-z0-9-]{0,31}$")

PRESETS: dict[str, list[dict[str, Any]]] = {
    "classic": [
        {"key": "champions", "name": "Champions", "rules": [{"r": "5", "f": "4-5"}],
         "description": "Bought recently, buy often and spend the most."},
        {"key": "loyal", "name": "Loyal Customers", "rules": [{"r": "3-4", "f": "4-5"}],
         "description": "Buy often; not quite as recently as Champions."},
        {"key": "potential-loyalists", "name": "Potential Loyalists", "rules": [{"r": "4-5", "f": "2-3"}],
         "description": "Recent customers with a few orders: could become loyal."},
        {"key": "new", "name": "New Customers", "rules": [{"r": "5", "f": "1"}],
         "description": "Placed their first order very recently."},
        {"key": "promising", "name": "Promising", "rules": [{"r": "4", "f": "1"}],
         "description": "One recent order: worth a second purchase."},
        {"key": "need-attention", "name": "Need Attention", "rules": [{"r": "3", "f": "3"}],
         "description": "Average recency and frequency: slipping without a nudge."},
        {"key": "about-to-sleep", "name": "About to Sleep", "rules": [{"r": "3", "f": "1-2"}],
         "description": "Few orders, not recent: about to be lost."},
        {"key": "at-risk", "name": "At Risk", "rules": [{"r": "1-2", "f": "3-4"}],
         "description": "Used to buy regularly, have not come back for a long time."},
        {"key": "cant-lose", "name": "Can't Lose Them", "rules": [{"r": "1-2", "f": "5"}],
         "description": "Bought the most often, but long ago: win them back."},
        {"key": "hibernating", "name": "Hibernating", "rules": [{"r": "2", "f": "1-2"}, {"r": "1", "f": "2"}],
         "description": "Few orders, long ago."},
        {"key": "lost", "name": "Lost", "rules": [{"r": "1", "f": "1"}],
         "description": "One order, the longest ago."},
    ],
    "cvo-lovers": [
        {"key": "soulmates", "name": "Soulmates", "rules": [{"r": "4-5", "f": "4-5", "m": "4-5"}],
         "description": "The most valuable: buy most often, spend the most, bought recently."},
        {"key": "lovers", "name": "Lovers",
         "rules": [{"r": "4-5", "f": "4-5", "m": "1-3"}, {"r": "5", "f": "2-3", "m": "1-3"}],
         "description": "Active, a couple of orders, the last one recent."},
        {"key": "potential-lovers", "name": "Potential Lovers",
         "rules": [{"r": "4-5", "f": "2-3", "m": "4-5"}],
         "description": "Active, a couple of high-value orders."},
        {"key": "new-passion", "name": "New Passion", "rules": [{"r": "4", "f": "1-3", "m": "1-3"}],
         "description": "Placed one or two orders of average value."},
        {"key": "apprentices", "name": "Apprentices", "rules": [{"r": "5", "f": "1", "m": "1-3"}],
         "description": "New customers who just placed their first order."},
        {"key": "don-juan", "name": "Don Juan", "rules": [{"r": "3-5", "f": "1", "m": "4-5"}],
         "description": "One order only, of high value."},
        {"key": "flirting", "name": "Flirting", "rules": [{"r": "3", "f": "2-5", "m": "4-5"}],
         "description": "Active on and off; a couple of very high-value orders, inconsistent."},
        {"key": "platonic-friend", "name": "Platonic Friend", "rules": [{"r": "3", "m": "1-3"}],
         "description": "Active but with few orders of small or medium value."},
        {"key": "about-to-dump-you", "name": "About to Dump You", "rules": [{"r": "2"}],
         "description": "Inactive: the last order was long ago."},
        {"key": "ex-lovers", "name": "Ex-Lovers",
         "rules": [{"r": "1", "f": "2", "m": "4-5"}, {"r": "1", "f": "3-5", "m": "3-5"}],
         "description": "Former Lovers and Soulmates, now inactive."},
        {"key": "breakups", "name": "Breakups",
         "rules": [{"r": "1", "f": "1"}, {"r": "1", "f": "2", "m": "1-3"},
                   {"r": "1", "f": "3-5", "m": "1-2"}],
         "description": "Inactive; bought small values (deal hunters)."},
    ],
}  # fmt: skip
DEFAULT_PRESET = "classic"


@dataclass(frozen=True)
class Rule:
    """Inclusive score ranges on the 1..5 scale."""

    r: tuple[int, int]
    f: tuple[int, int]
    m: tuple[int, int]

    def describe(self) -> str:
        def part(letter: str, span: tuple[int, int]) -> str | None:
            if span == (1, GRID):
                return None
            return f"{letter} {span[0]}" if span[0] == span[1] else f"{letter} {span[0]}-{span[1]}"

        parts = [p for p in (part("R", self.r), part("F", self.f), part("M", self.m)) if p]
        return ", ".join(parts) or "any"

    def to_dict(self) -> dict[str, str]:
        return {letter: f"{lo}-{hi}" for letter, (lo, hi) in (("r", self.r), ("f", self.f), ("m", self.m))}


@dataclass(frozen=True)
class Segment:
    key: str
    name: str
    description: str
    rules: tuple[Rule, ...]


class SegmentTable:
    """A validated rule table and its (R, F, M) -> segment lookup."""

    def __init__(self, preset: str, segments: Sequence[Segment]) -> None:
        self.preset = preset
        self.segments = tuple(segments)
        self.lookup = _lookup(self.segments)

    @property
    def keys(self) -> list[str]:
        return [s.key for s in self.segments]

    @property
    def names(self) -> list[str]:
        return [s.name for s in self.segments]

    def name_of(self, key: str) -> str:
        for segment in self.segments:
            if segment.key == key:
                return segment.name
        raise KeyError(key)

    def assign(self, r: np.ndarray, f: np.ndarray, m: np.ndarray, scale: int = GRID) -> np.ndarray:
        """Segment index (into `segments`) of each customer's scores on a 1..`scale` scale."""
        r5, f5, m5 = (to_five_point(s, scale).astype(np.intp) for s in (r, f, m))
        if not len(r5) == len(f5) == len(m5):
            raise ValueError("r, f and m must have the same length")
        return self.lookup[r5 - 1, f5 - 1, m5 - 1]

    def to_dict(self) -> dict[str, Any]:
        """The table as data (what a snapshot stores and the admin shows)."""
        return {
            "preset": self.preset,
            "segments": [
                {
                    "key": s.key,
                    "name": s.name,
                    "description": s.description,
                    "rules": [rule.to_dict() for rule in s.rules],
                    "rules_text": "; ".join(rule.describe() for rule in s.rules),
                }
                for s in self.segments
            ],
        }


def _span(value: Any, letter: str, where: str) -> tuple[int, int]:
    """Parse a score range: 3, "3", "2-4" or [2, 4]."""
    if value is None:
        return (1, GRID)
    if isinstance(value, bool):
        raise ValueError(f"{where}: {letter} must be a score or a range like 2-4")
    if isinstance(value, int):
        lo = hi = value
    elif isinstance(value, str) and re.fullmatch(r"\s*\d+\s*(-\s*\d+\s*)?", value):
        numbers = [int(x) for x in value.split("-")]
        lo, hi = numbers[0], numbers[-1]
    elif isinstance(value, list | tuple) and len(value) == 2 and all(type(x) is int for x in value):
        lo, hi = value
    else:
        raise ValueError(f"{where}: {letter} must be a score or a range like 2-4, not {value!r}")
    if not 1 <= lo <= hi <= GRID:
        raise ValueError(f"{where}: {letter} range {lo}-{hi} must lie within 1-{GRID}")
    return (lo, hi)


def parse_segments(data: Sequence[Mapping[str, Any]]) -> list[Segment]:
    """Segments from their data form; `ValueError` naming the first problem."""
    if not isinstance(data, Sequence) or isinstance(data, str) or not data:
        raise ValueError("a segment table must be a non-empty list of segments")
    segments: list[Segment] = []
    for index, item in enumerate(data, start=1):
        if not isinstance(item, Mapping):
            raise ValueError(f"segment {index} must be an object with key, name and rules")
        key = item.get("key")
        if not isinstance(key, str) or not _KEY.match(key):
            raise ValueError(f"segment {index}: key must be 1-32 lower-case letters, digits or dashes")
        name = _check_name(item.get("name"), f"segment {key!r}")
        description = item.get("description") or ""
        if not isinstance(description, str) or len(description) > 500:
            raise ValueError(f"segment {key!r}: description must be text of at most 500 characters")
        rules_data = item.get("rules")
        if not isinstance(rules_data, list) or not rules_data:
            raise ValueError(f"segment {key!r}: rules must be a non-empty list")
        rules = []
        for rule in rules_data:
            if not isinstance(rule, Mapping) or set(rule) - {"r", "f", "m"}:
                raise ValueError(f"segment {key!r}: a rule has only r, f and m ranges")
            where = f"segment {key!r}"
            rules.append(Rule(*(_span(rule.get(x), x.upper(), where) for x in ("r", "f", "m"))))
        segments.append(Segment(key, name, description.strip(), tuple(rules)))
    for attr in ("key", "name"):
        values = [getattr(s, attr) for s in segments]
        duplicates = sorted({v for v in values if values.count(v) > 1})
        if duplicates:
            raise ValueError(f"segment {attr}s must be unique; repeated: {', '.join(duplicates)}")
    return segments


def _check_name(name: Any, where: str) -> str:
    if not isinstance(name, str) or not name.strip() or len(name.strip()) > MAX_NAME:
        raise ValueError(f"{where}: name must be 1-{MAX_NAME} characters")
    return name.strip()


def _lookup(segments: Sequence[Segment]) -> np.ndarray:
    """The (5, 5, 5) array of segment indexes; `ValueError` unless each code is covered once."""
    cover = np.zeros((GRID, GRID, GRID), np.int64)
    lookup = np.full((GRID, GRID, GRID), -1, np.int64)
    for index, segment in enumerate(segments):
        for rule in segment.rules:
            block = (
                slice(rule.r[0] - 1, rule.r[1]),
                slice(rule.f[0] - 1, rule.f[1]),
                slice(rule.m[0] - 1, rule.m[1]),
            )
            cover[block] += 1
            lookup[block] = index
    problems = []
    for label, where in (("not covered", cover == 0), ("covered more than once", cover > 1)):
        codes = [f"{r + 1}{f + 1}{m + 1}" for r, f, m in np.argwhere(where)]
        if codes:
            shown = ", ".join(codes[:12]) + (", ..." if len(codes) > 12 else "")
            problems.append(f"{len(codes)} RFM codes {label} ({shown})")
    if problems:
        raise ValueError("every RFM code must fall in exactly one segment: " + "; ".join(problems))
    return lookup


def build_table(
    preset: str = DEFAULT_PRESET,
    names: Mapping[str, str] | None = None,
    segments: Sequence[Mapping[str, Any]] | None = None,
) -> SegmentTable:
    """A shop's table: a preset, or its own `segments`, with display names renamed by key.

    Parameters
    ----------
    preset : str
        ``classic`` or ``cvo-lovers``; ignored for the rules when `segments` is given.
    names : mapping of segment key to display name, optional
        Renames segments (e.g. ``{"new": "Apprentice"}``).
    segments : list of segment data, optional
        A whole custom table (keys, names, descriptions, rules) replacing the preset's.
    """
    if segments is None:
        if preset not in PRESETS:
            raise ValueError(f"unknown segment preset {preset!r}; use one of {', '.join(PRESETS)}")
        segments = PRESETS[preset]
        label = preset
    else:
        label = "custom"
    parsed = parse_segments(segments)
    if names:
        known = {s.key for s in parsed}
        unknown = sorted(set(names) - known)
        if unknown:
            raise ValueError(f"cannot rename unknown segments: {', '.join(unknown)}")
        parsed = [
            Segment(s.key, _check_name(names[s.key], f"segment {s.key!r}"), s.description, s.rules)
            if s.key in names
            else s
            for s in parsed
        ]
        display = [s.name for s in parsed]
        repeated = sorted({n for n in display if display.count(n) > 1})
        if repeated:
            raise ValueError(f"segment names must be unique; repeated: {', '.join(repeated)}")
    return SegmentTable(label, parsed)
