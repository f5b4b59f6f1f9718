"""Segment rule tables: every code in exactly one segment, the presets as RFM.md writes them."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from cvo_plugin.analytics.segments import PRESETS, build_table

# RFM.md, preset classic: rows R 5..1, columns F 1..5.
CLASSIC_GRID = {
    5: ["New Customers", "Potential Loyalists", "Potential Loyalists", "Champions", "Champions"],
    4: ["Promising", "Potential Loyalists", "Potential Loyalists", "Loyal Customers", "Loyal Customers"],
    3: ["About to Sleep", "About to Sleep", "Need Attention", "Loyal Customers", "Loyal Customers"],
    2: ["Hibernating", "Hibernating", "At Risk", "At Risk", "Can't Lose Them"],
    1: ["Lost", "Hibernating", "At Risk", "At Risk", "Can't Lose Them"],
}
EX_LOVERS = {"124", "125", "133", "134", "135", "143", "144", "145", "153", "154", "155"}
ALL_CODES = np.array(list(itertools.product(range(1, 6), repeat=3)))


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_every_one_of_the_125_codes_is_in_exactly_one_segment(preset: str) -> None:
    table = build_table(preset)
    assert len(table.segments) == 11
    index = table.assign(ALL_CODES[:, 0], ALL_CODES[:, 1], ALL_CODES[:, 2])
    assert index.min() >= 0 and index.max() < len(table.segments)
    # exactly one: count the rules covering each code independently of the lookup
    for r, f, m in ALL_CODES:
        covering = [
            s.name
            for s in table.segments
            for rule in s.rules
            if rule.r[0] <= r <= rule.r[1] and rule.f[0] <= f <= rule.f[1] and rule.m[0] <= m <= rule.m[1]
        ]
        assert len(covering) == 1, (r, f, m, covering)
    # and every segment gets some codes
    assert set(index.tolist()) == set(range(11))


def test_classic_is_the_grid_of_rfm_md_for_every_monetary_score() -> None:
    table = build_table("classic")
    for r, names in CLASSIC_GRID.items():
        for f, name in enumerate(names, start=1):
            for m in range(1, 6):
                assert table.names[table.assign([r], [f], [m])[0]] == name, (r, f, m)


def test_cvo_lovers_follows_the_published_codes() -> None:
    table = build_table("cvo-lovers")
    names = {
        f"{r}{f}{m}": table.names[i]
        for (r, f, m), i in zip(ALL_CODES, table.assign(*ALL_CODES.T), strict=True)
    }
    assert {code for code, name in names.items() if name == "Ex-Lovers"} == EX_LOVERS
    breakups = {code for code, name in names.items() if name == "Breakups"}
    assert all(code[0] == "1" for code in breakups)  # inactive
    assert {code for code in names if code[0] == "1"} == breakups | EX_LOVERS
    assert names["555"] == "Soulmates" and names["511"] == "Apprentices" and names["315"] == "Don Juan"
    assert {names[f"2{f}{m}"] for f in range(1, 6) for m in range(1, 6)} == {"About to Dump You"}


def test_smaller_scales_use_the_mapped_grid() -> None:
    table = build_table("classic")
    # scale 3 maps 1, 2, 3 onto 1, 3, 5
    names = [table.names[i] for i in table.assign([3, 3, 1, 2], [3, 1, 1, 2], [1, 1, 1, 1], scale=3)]
    assert names == ["Champions", "New Customers", "Lost", "Need Attention"]


def test_shops_rename_segments_by_key() -> None:
    table = build_table("classic", names={"new": "Apprentice", "cant-lose": "Breakups"})
    assert table.name_of("new") == "Apprentice"
    assert table.name_of("cant-lose") == "Breakups"
    assert table.name_of("champions") == "Champions"
    with pytest.raises(ValueError, match="unknown segments: nope"):
        build_table("classic", names={"nope": "X"})
    with pytest.raises(ValueError, match="unique"):
        build_table("classic", names={"new": "Champions"})
    with pytest.raises(ValueError, match="name"):
        build_table("classic", names={"new": "  "})


def test_a_custom_table_must_cover_every_code_once() -> None:
    custom = [
        {"key": "active", "name": "Active", "rules": [{"r": "3-5"}]},
        {"key": "inactive", "name": "Inactive", "rules": [{"r": [1, 2]}]},
    ]
    table = build_table(segments=custom)
    assert table.preset == "custom"
    assert table.names[table.assign([4], [1], [1])[0]] == "Active"

    gap = [{"key": "active", "name": "Active", "rules": [{"r": "3-5"}]}]
    with pytest.raises(ValueError, match=r"50 RFM codes not covered \(111, 112"):
        build_table(segments=gap)
    overlap = custom + [{"key": "vip", "name": "VIP", "rules": [{"r": 5, "f": 5, "m": 5}]}]
    with pytest.raises(ValueError, match=r"1 RFM codes covered more than once \(555\)"):
        build_table(segments=overlap)


@pytest.mark.parametrize(
    "segments, message",
    [
        ([], "non-empty"),
        ([{"key": "Bad Key", "name": "x", "rules": [{}]}], "key"),
        ([{"key": "a", "name": "", "rules": [{}]}], "name"),
        ([{"key": "a", "name": "A", "rules": []}], "rules"),
        ([{"key": "a", "name": "A", "rules": [{"r": "0-5"}]}], "within 1-5"),
        ([{"key": "a", "name": "A", "rules": [{"r": "5-3"}]}], "within 1-5"),
        ([{"key": "a", "name": "A", "rules": [{"x": 1}]}], "only r, f and m"),
        ([{"key": "a", "name": "A", "rules": [{"r": "high"}]}], "range like"),
        ([{"key": "a", "name": "A", "rules": [{}]}, {"key": "a", "name": "B", "rules": [{}]}], "unique"),
    ],
)
def test_malformed_tables_are_refused(segments: list, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build_table(segments=segments)


def test_unknown_preset() -> None:
    with pytest.raises(ValueError, match="unknown segment preset"):
        build_table("fancy")


def test_table_round_trips_through_its_data_form() -> None:
    table = build_table("cvo-lovers", names={"soulmates": "True Lovers"})
    data = table.to_dict()
    again = build_table(
        segments=[{k: s[k] for k in ("key", "name", "description", "rules")} for s in data["segments"]]
    )
    assert np.array_equal(again.lookup, table.lookup)
    assert again.names == table.names
    assert data["segments"][0]["rules_text"] == "R 4-5, F 4-5, M 4-5"
