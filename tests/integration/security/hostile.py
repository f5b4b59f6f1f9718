"""Hypothesis strategies for hostile input: markup, SQL, control characters, huge numbers, wrong types."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

NASTY_STRINGS = [
    "'; DROP TABLE orders; --",
    "' OR '1'='1",
    "1; SELECT pg_sleep(5)--",
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "{{7*7}}",
    "\x00\x01\x1b[31m",
    "é" * 600,
    "9" * 60,
    "-1",
    "NaN",
    "1e309",
    "EURO",
    "2026-02-30T25:61:00Z",
    "",
    " ",
    "../../etc/passwd",
    "\u202e\ufeff",
]

text = st.one_of(st.sampled_from(NASTY_STRINGS), st.text(max_size=40))
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    text,
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3),
    max_leaves=6,
)


def mutated(base: dict[str, Any], keys: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    """`base` with some of `keys` replaced by hostile values (or removed), nested lists included."""

    def apply(changes: dict[str, Any], removed: list[str], line_changes: dict[str, Any]) -> dict[str, Any]:
        payload = dict(base, **changes)
        for key in removed:
            payload.pop(key, None)
        lines = payload.get("line_items")
        if isinstance(lines, list) and lines and isinstance(lines[0], dict):
            payload["line_items"] = [dict(lines[0], **line_changes), *lines[1:]]
        return payload

    line_keys = ["id", "quantity", "price", "title", "sku", "product_id", "variant_id", "name"]
    return st.builds(
        apply,
        st.dictionaries(st.sampled_from(keys), values, max_size=4),
        st.lists(st.sampled_from(keys), max_size=2),
        st.dictionaries(st.sampled_from(line_keys), values, max_size=3),
    )
