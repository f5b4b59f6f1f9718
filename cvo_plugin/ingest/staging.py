"""Temporary staging tables and the fastest way each database has to fill them.

Records are written as rows of per-connection temporary tables: PostgreSQL through `COPY`,
SQLite through the driver's `executemany`. On PostgreSQL, rows whose times and amounts are still
the text a platform sent (`append_text`) are copied as CSV and typed by the database itself. The
merge (`cvo_plugin.ingest.merge`) then moves them into the shop's tables in a few set-based
statements.
"""

from __future__ import annotations

import csv
import io
import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, NamedTuple

from sqlalchemy import Connection

from cvo_plugin.records import (
    CustomerRecord,
    LineRecord,
    OrderRecord,
    ProductRecord,
    VariantRecord,
)

# Column kinds of the staging tables, per record field; anything not named here is text.
_KINDS: dict[str, str] = {
    "created_at": "ts",
    "updated_at": "ts",
    "processed_at": "ts",
    "cancelled_at": "ts",
    "price": "money",
    "compare_at_price": "money",
    "cost": "money",
    "gross": "money",
    "discounts": "money",
    "refunds": "money",
    "shipping": "money",
    "tax": "money",
    "total": "money",
    "unit_price": "money",
    "discount": "money",
    "quantity": "int",
    "refunded_quantity": "int",
    "inventory_quantity": "int",
    "accepts_marketing": "bool",
    "published": "bool",
    "available": "bool",
}

_SQL_TYPES = {
    "sqlite": {"text": "TEXT", "int": "INTEGER", "money": "NUMERIC", "ts": "TEXT", "bool": "INTEGER"},
    "postgresql": {
        "text": "TEXT",
        "int": "BIGINT",
        "money": "NUMERIC",
        "ts": "TIMESTAMPTZ",
        "bool": "BOOLEAN",
    },
}

STAGING_TABLES: dict[str, type] = {
    "stg_customers": CustomerRecord,
    "stg_products": ProductRecord,
    "stg_variants": VariantRecord,
    "stg_orders": OrderRecord,
    "stg_lines": LineRecord,
}

_INDEXES = {
    "stg_orders": ("platform_id",),
    "stg_lines": ("order_platform_id",),
}


def _sqlite_ts(value: datetime) -> str:
    """The text SQLAlchemy's SQLite DateTime stores: naive UTC with microseconds."""
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value!r}: records carry timezone-aware UTC times")
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def _sqlite_ts_column(values: Sequence[datetime | None], converted: dict[datetime, str]) -> list[str | None]:
    """`_sqlite_ts` of each value; `converted` caches times seen before (an order's created and
    processed times are usually the same)."""
    out: list[str | None] = []
    for value in values:
        if value is None:
            out.append(None)
            continue
        text = converted.get(value)
        if text is None:
            if value.tzinfo is UTC:  # the common case: "YYYY-MM-DD HH:MM:SS.ffffff+00:00"
                text = value.isoformat(" ", "microseconds")[:-6]
            else:
                text = _sqlite_ts(value)
            converted[value] = text
        out.append(text)
    return out


def _register_sqlite_adapters() -> None:
    """Teach the sqlite3 driver to store `datetime` and `Decimal` the way SQLAlchemy does.

    Only raw driver calls (the staging inserts) reach these adapters: SQLAlchemy converts its
    own parameters before the driver sees them. Registering is idempotent.
    """
    sqlite3.register_adapter(datetime, _sqlite_ts)
    sqlite3.register_adapter(Decimal, str)


class Stager:
    """Creates the staging tables on one connection and appends records to them."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.dialect = connection.dialect.name
        self._utc = False  # the transaction reads times without offset as UTC
        if self.dialect not in _SQL_TYPES:
            raise NotImplementedError(f"staging is not implemented for {self.dialect}")
        if self.dialect == "sqlite":
            _register_sqlite_adapters()

    def create(self) -> None:
        """(Re)create every staging table, empty."""
        types = _SQL_TYPES[self.dialect]
        statements = []
        for table, rtype in STAGING_TABLES.items():
            # `seq` numbers the rows in the order they were staged (later rows win).
            seq = (
                "seq INTEGER PRIMARY KEY"
                if self.dialect == "sqlite"
                else "seq BIGINT GENERATED ALWAYS AS IDENTITY"
            )
            columns = ", ".join(
                [seq] + [f"{name} {types[_KINDS.get(name, 'text')]}" for name in rtype._fields]
            )
            statements += [f"DROP TABLE IF EXISTS {table}", f"CREATE TEMPORARY TABLE {table} ({columns})"]
        self.script(statements)

    def script(self, statements: list[str]) -> None:
        """Run statements without parameters: in one round trip on PostgreSQL."""
        if self.dialect == "postgresql":
            self.connection.exec_driver_sql("; ".join(statements))
        else:
            for statement in statements:
                self.connection.exec_driver_sql(statement)

    def index(self) -> None:
        """Index the staging tables for the merge joins (after loading: faster than before)."""
        if self.dialect == "sqlite":  # PostgreSQL hash-aggregates instead
            for table, columns in _INDEXES.items():
                self.connection.exec_driver_sql(
                    f"CREATE INDEX IF NOT EXISTS ix_{table} ON {table} ({', '.join(columns)})"
                )
        else:
            # A small sample is enough for the merge's plans (row counts and rough distinct
            # counts); the default one costs as much as loading the rows.
            self.connection.exec_driver_sql("SET LOCAL default_statistics_target = 10")
            self.connection.exec_driver_sql(f"ANALYZE {', '.join(STAGING_TABLES)}")
            self.connection.exec_driver_sql("RESET default_statistics_target")

    def drop(self) -> None:
        """Drop every staging table."""
        # With the complete-orders merge's own (`ingest.complete`), which a failed merge can leave.
        tables = [*STAGING_TABLES, "stg_totals", "stg_pairs", "stg_written"]
        self.script([f"DROP TABLE IF EXISTS {table}" for table in tables])

    def append(self, table: str, records: Sequence[Sequence[Any]]) -> int:
        """Append records (of the table's record type) and return how many were written.

        Only the columns that some record of the batch fills are written (the others stay NULL):
        importers fill a few of an order's many fields, and every written value costs time.
        """
        if not records:
            return 0
        fields = STAGING_TABLES[table]._fields
        # Column-wise (C-level transposition): drop all-NULL columns, convert SQLite times.
        filled = [
            (name, values)
            for name, values in zip(fields, zip(*records, strict=True), strict=True)
            if values.count(None) != len(values)
        ]
        if self.dialect == "sqlite":
            times: dict[datetime, str] = {}
            filled = [
                (name, _sqlite_ts_column(values, times) if _KINDS.get(name) == "ts" else values)
                for name, values in filled
            ]
        columns = ", ".join(name for name, _ in filled)
        rows = zip(*(values for _, values in filled), strict=True)
        driver = self.connection.connection.driver_connection
        if self.dialect == "postgresql":
            with driver.cursor() as cursor:  # type: ignore[union-attr]
                with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
            return len(records)
        placeholders = ", ".join("?" * len(filled))
        cursor = driver.cursor()  # type: ignore[union-attr]
        try:
            cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES ({placeholders})", rows)
        finally:
            cursor.close()
        return len(records)

    def append_text(self, table: str, rows: TextRows) -> int:
        """Append rows made by `text_rows` (PostgreSQL only)."""
        if self.dialect != "postgresql":
            raise NotImplementedError("text rows are staged on PostgreSQL only: stage records")
        columns = ", ".join(STAGING_TABLES[table]._fields)
        if not self._utc:
            self.connection.exec_driver_sql("SET LOCAL TIME ZONE 'UTC'")
            self._utc = True
        driver = self.connection.connection.driver_connection
        with driver.cursor() as cursor:  # type: ignore[union-attr]
            with cursor.copy(f"COPY {table} ({columns}) FROM STDIN (FORMAT csv)") as copy:
                copy.write(rows.csv)
        return rows.count


class TextRows(NamedTuple):
    """Rows for `Stager.append_text`, already in PostgreSQL's CSV form."""

    csv: str
    count: int


def text_rows(rows: Sequence[Sequence[Any]]) -> TextRows:
    """Rows of a staging table's record fields, in their order, whose times (ISO 8601) and
    amounts (decimal) are still text, written as CSV for PostgreSQL to parse as it copies them
    (a time without offset is UTC; None and empty text are NULL). Cheaper than typing them in
    Python, and done while the database works on the previous batch."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return TextRows(buffer.getvalue(), len(rows))
