"""The `lines-csv` format: one row per order line (CONTRACT.md).

Required columns: order_id, customer_id, created_at, product_id, quantity, unit_price.
Optional: currency, product_title, product_type, variant_id, sku, refunded_quantity,
cancelled, source, country, city, email.

Rules: `created_at` without a zone is UTC; an empty `customer_id` is a guest order; a negative
`quantity` is a return of that product (it counts towards the order's refunds); a cancelled
order is kept with `cancelled_at` = its `created_at` (the file has no cancellation time) and
no net revenue; `refunded_quantity` may not exceed the line's quantity.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from decimal import Decimal
from operator import itemgetter
from pathlib import Path
from typing import Any

from cvo_plugin.imports import reader as r
from cvo_plugin.records import LineRecord, OrderRecord

REQUIRED = ("order_id", "customer_id", "created_at", "product_id", "quantity", "unit_price")
OPTIONAL = (
    "currency",
    "product_title",
    "product_type",
    "variant_id",
    "sku",
    "refunded_quantity",
    "cancelled",
    "source",
    "country",
    "city",
    "email",
)
# The columns that describe the order (the same on every row of one order).
ORDER_COLUMNS = (
    "order_id",
    "customer_id",
    "created_at",
    "cancelled",
    "currency",
    "source",
    "country",
    "city",
    "email",
)


# The order's optional text columns: (column, OrderRecord field, longest length).
_ORDER_TEXTS = (
    ("customer_id", "customer_platform_id", 64),
    ("email", "email", 320),
    ("source", "source_name", 255),
    ("country", "country", 64),
    ("city", "city", 128),
)


def _take_texts(fields: list[str], columns: list[tuple[str, int, int, Any]], out: Any) -> None:
    """Set `out[key]` to each (column, index, longest length, key) column's trimmed text, if any."""
    for column, index, limit, key in columns:
        value = fields[index].strip()
        if value:
            if len(value) > limit:
                raise r.RowError(f"{column} is longer than {limit} characters")
            out[key] = value


def _order_parser(table: r.CsvTable) -> Callable[[list[str]], OrderRecord]:
    """A parser for the order part of a row (run once per order), specialised to the file's columns."""
    i_order = table.column("order_id")
    i_created = table.column("created_at")
    i_cancelled = table.column("cancelled")
    i_currency = table.column("currency")
    texts = [
        (column, index, limit, field)
        for column, field, limit in _ORDER_TEXTS
        if (index := table.column(column)) is not None
    ]

    def parse(fields: list[str]) -> OrderRecord:
        order_id = fields[i_order].strip()  # type: ignore[index]
        if not order_id or len(order_id) > 64:
            r.text(order_id, "order_id", required=True, max_length=64)
        created_at = r.timestamp(fields[i_created], "created_at")  # type: ignore[index]
        cancelled = i_cancelled is not None and r.boolean(fields[i_cancelled], "cancelled")
        values: dict[str, str] = {}
        _take_texts(fields, texts, values)
        return OrderRecord(
            platform_id=order_id,
            created_at=created_at,
            name=order_id,
            processed_at=created_at,
            cancelled_at=created_at if cancelled else None,
            currency=r.currency(fields[i_currency], "currency") if i_currency is not None else None,
            **values,
        )

    return parse


# A price as files usually write it (`12.50`): such prices need no further checks.
_PLAIN_PRICE = re.compile(r"\d{1,12}(?:\.\d{1,6})?")
# How many distinct price texts to remember (prices repeat: most files have a few thousand).
_PRICE_CACHE_SIZE = 50_000


def _line_parser(table: r.CsvTable) -> Callable[[list[str], str], LineRecord]:
    """A parser for the line part of a row, specialised to the file's columns.

    It runs once per row of files with millions of rows, so the common case (valid values) is
    inlined and only problems go through the general value parsers for their messages.
    """
    i_product = table.column("product_id")
    i_quantity = table.column("quantity")
    i_price = table.column("unit_price")
    i_refunded = table.column("refunded_quantity")
    # The optional text columns, in LineRecord's order (variant_platform_id, sku, title, product_type).
    limits = {"variant_id": 64, "sku": 255, "product_title": 512, "product_type": 255}
    present = [
        (name, index, limit, slot)
        for slot, (name, limit) in enumerate(limits.items())
        if (index := table.column(name)) is not None
    ]
    prices: dict[str, Decimal] = {}

    def parse(fields: list[str], order_id: str) -> LineRecord:
        product_id = fields[i_product].strip()  # type: ignore[index]
        if not product_id or len(product_id) > 64:
            r.text(product_id, "product_id", required=True, max_length=64)
        try:
            quantity = int(fields[i_quantity])  # type: ignore[index]
        except ValueError:
            quantity = r.integer(fields[i_quantity], "quantity")  # type: ignore[index]
        if quantity == 0:
            raise r.RowError("quantity is 0; give the units sold (negative for a return)")
        raw_price = fields[i_price]  # type: ignore[index]
        unit_price = prices.get(raw_price)
        if unit_price is None:
            if _PLAIN_PRICE.fullmatch(raw_price):
                unit_price = Decimal(raw_price)
            else:
                unit_price = r.decimal(raw_price, "unit_price")
            if len(prices) < _PRICE_CACHE_SIZE:
                prices[raw_price] = unit_price
        refunded_quantity = 0
        if i_refunded is not None:
            raw = fields[i_refunded]
            if raw and raw != "0":
                refunded_quantity = r.integer(raw, "refunded_quantity")
                if refunded_quantity < 0 or refunded_quantity > abs(quantity):
                    raise r.RowError(
                        f"refunded_quantity {refunded_quantity} must be between 0 and the quantity "
                        f"{abs(quantity)}"
                    )
        texts: list[str | None] = [None, None, None, None]
        _take_texts(fields, present, texts)
        return LineRecord(
            order_id, product_id, quantity, unit_price, None, *texts, None, None, refunded_quantity
        )

    return parse


def read(
    path: str | Path, progress: r.ByteProgress | None = None
) -> Iterator[tuple[OrderRecord, LineRecord | None]]:
    """Yield (order, line) per row; a bad row raises `ImportFormatError` with its line.

    Consecutive rows of one order repeat its fields: they are parsed once and the same
    `OrderRecord` is yielded again.
    """
    with r.open_csv(path, REQUIRED, progress) as table:
        parse_order = _order_parser(table)
        present = [i for i in (table.column(name) for name in ORDER_COLUMNS) if i is not None]
        order_fields = itemgetter(*present)
        parse_line = _line_parser(table)
        last_raw: object = None
        order: OrderRecord | None = None
        for line_number, fields in table.rows:
            try:
                raw = order_fields(fields)
                if raw != last_raw or order is None:
                    order = parse_order(fields)
                    last_raw = raw
                yield order, parse_line(fields, order.platform_id)
            except r.RowError as exc:
                raise r.ImportFormatError(table.name, line_number, str(exc)) from None
