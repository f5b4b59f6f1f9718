"""Look for strings in every column of every table, and in captured logs: for secrets that must
never be stored or logged in clear, and for personal data that must be gone after an erasure.

Every table on `Base.metadata` is read, so a table added later is searched too.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from sqlalchemy import select

from cvo_plugin.db import Base, Database


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).decode("latin-1")
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)


def find_in_database(database: Database, needles: Iterable[str]) -> list[tuple[str, str, str]]:
    """(table, column, needle) wherever a needle occurs in a stored value."""
    wanted = [n for n in needles if n]
    found = []
    with database.engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            for row in conn.execute(select(table)):
                for column, value in zip(table.columns, row, strict=True):
                    text = _as_text(value)
                    found += [(table.name, column.name, n) for n in wanted if n in text]
    return found


def rows_of_shop(database: Database, shop_id: int) -> dict[str, int]:
    """Rows that belong to `shop_id`, by table, in every table with a `shop_id` column."""
    counts = {}
    with database.engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            if "shop_id" in table.columns:
                rows = conn.execute(select(table.c.shop_id).where(table.c.shop_id == shop_id)).all()
                if rows:
                    counts[table.name] = len(rows)
            elif table.name == "shops":
                if conn.execute(select(table.c.id).where(table.c.id == shop_id)).first():
                    counts["shops"] = 1
    return counts


def shop_snapshot(database: Database, shop_ids: Iterable[int]) -> dict[str, list[str]]:
    """Every row that belongs to one of `shop_ids` (tables with `shop_id`, and `shops`), as text."""
    ids = list(shop_ids)
    snapshot: dict[str, list[str]] = {}
    with database.engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            column = (
                table.c.get("shop_id")
                if "shop_id" in table.c
                else (table.c.id if table.name == "shops" else None)
            )
            if column is None:
                continue
            rows = conn.execute(select(table).where(column.in_(ids))).all()
            snapshot[table.name] = sorted(_as_text(tuple(r)) for r in rows)
    return snapshot


def leaks(text: str, needles: Iterable[str]) -> list[str]:
    """The needles that occur in `text`."""
    return [n for n in needles if n and n in text]
