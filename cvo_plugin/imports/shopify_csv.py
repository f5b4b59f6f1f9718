"""The `shopify-csv` format: what Shopify's admin writes for Orders > Export (PLATFORMS.md).

One row per line item; the order's own fields are filled on its first row only, later rows
repeat `Name` (the order key here) and the `Lineitem` columns. Rules:

- the customer is the order's e-mail (lower-cased): the export has no customer id;
- a line's product is found by its SKU (or, without one, its name) in the catalogue imported
  with `cvo import-products`; until then it is kept under a provisional product `sku:<SKU>`
  (or `title:<name>`) that the catalogue import re-links;
- tips (a line named "Tip" without a SKU) are not merchandise and are left out;
- `Discount Amount` is the order's discount, `Refunded Amount` its refunds (the export has no
  per-line refunds), `Cancelled at` its cancellation;
- utm source / medium / campaign are read from `Note Attributes` when a tracking app wrote them.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from cvo_plugin.imports import reader as r
from cvo_plugin.records import LineRecord, OrderRecord

REQUIRED = ("Name", "Created at", "Lineitem quantity", "Lineitem name", "Lineitem price")
TIME_FORMAT = "%Y-%m-%d %H:%M:%S %z"


def note_attributes(value: str) -> dict[str, str]:
    """`key: value` lines of the Note Attributes column, as a dict with lower-case keys."""
    found: dict[str, str] = {}
    for line in value.splitlines():
        key, sep, rest = line.partition(":")
        if sep and key.strip():
            found[key.strip().lower()] = rest.strip()
    return found


def product_key(sku: str | None, title: str | None) -> str | None:
    """The provisional product id of a line until the catalogue links it."""
    if sku:
        return f"sku:{sku}"[:64]
    if title:
        return f"title:{title}"[:64]
    return None


def _time(value: str, column: str) -> object:
    value = value.strip()
    if not value:
        return None
    try:
        return r.timestamp(value, column, TIME_FORMAT)
    except r.RowError:
        return r.timestamp(value, column)  # ISO 8601 from tools that rewrite exports


def parse_row(row: r.CsvRow) -> tuple[OrderRecord, LineRecord | None]:
    """The order fields (full on the first row, just the key later) and the line of a row."""
    v = row.values
    get = v.get
    name = r.text(v["Name"], "Name", required=True, max_length=64)
    assert name is not None
    first_row = bool(
        get("Financial Status", "").strip() or get("Id", "").strip() or get("Currency", "").strip()
    )
    created_at = _time(v["Created at"], "Created at")
    email = r.text(get("Email", ""), "Email", max_length=320)
    customer = email.lower() if email else None
    if first_row:
        attributes = note_attributes(get("Note Attributes", ""))
        country = r.text(get("Billing Country", ""), "Billing Country", max_length=64) or r.text(
            get("Shipping Country", ""), "Shipping Country", max_length=64
        )
        city = r.text(get("Billing City", ""), "Billing City", max_length=128) or r.text(
            get("Shipping City", ""), "Shipping City", max_length=128
        )
        province = r.text(get("Billing Province", ""), "Billing Province", max_length=128) or r.text(
            get("Shipping Province", ""), "Shipping Province", max_length=128
        )
        order = OrderRecord(
            platform_id=name,
            created_at=created_at,  # type: ignore[arg-type]
            name=name,
            customer_platform_id=customer,
            email=email,
            processed_at=_time(get("Paid at", ""), "Paid at") or created_at,  # type: ignore[arg-type]
            cancelled_at=_time(get("Cancelled at", ""), "Cancelled at"),  # type: ignore[arg-type]
            financial_status=r.text(get("Financial Status", ""), "Financial Status", max_length=32),
            currency=r.currency(get("Currency", ""), "Currency"),
            discounts=r.optional_decimal(get("Discount Amount", ""), "Discount Amount"),
            refunds=r.optional_decimal(get("Refunded Amount", ""), "Refunded Amount"),
            shipping=r.optional_decimal(get("Shipping", ""), "Shipping"),
            tax=r.optional_decimal(get("Taxes", ""), "Taxes"),
            total=r.optional_decimal(get("Total", ""), "Total"),
            discount_codes=r.text(get("Discount Code", ""), "Discount Code", max_length=1000),
            source_name=r.text(get("Source", ""), "Source", max_length=128),
            utm_source=attributes.get("utm_source"),
            utm_medium=attributes.get("utm_medium"),
            utm_campaign=attributes.get("utm_campaign"),
            country=country,
            province=province,
            city=city,
            note_attributes=r.text(get("Note Attributes", ""), "Note Attributes", max_length=10_000),
        )
    else:
        order = OrderRecord(
            platform_id=name, created_at=created_at, customer_platform_id=customer, email=email
        )  # type: ignore[arg-type]

    title = r.text(v["Lineitem name"], "Lineitem name", max_length=512)
    sku = r.text(get("Lineitem sku", ""), "Lineitem sku")
    if title == "Tip" and not sku:
        return order, None
    quantity = r.integer(v["Lineitem quantity"], "Lineitem quantity")
    if quantity == 0:
        return order, None  # removed by an order edit: nothing was sold
    line = LineRecord(
        order_platform_id=name,
        product_platform_id=product_key(sku, title),
        quantity=quantity,
        unit_price=r.decimal(v["Lineitem price"], "Lineitem price"),
        sku=sku,
        title=title,
        vendor=r.text(get("Vendor", ""), "Vendor"),
        discount=r.optional_decimal(get("Lineitem discount", ""), "Lineitem discount"),
    )
    return order, line


def read(
    path: str | Path, progress: r.ByteProgress | None = None
) -> Iterator[tuple[OrderRecord, LineRecord | None]]:
    """Yield (order, line or None) per row; a bad row raises `ImportFormatError` with its line."""
    name = Path(path).name
    for row in r.read_csv(path, REQUIRED, progress):
        try:
            yield parse_row(row)
        except r.RowError as exc:
            raise r.ImportFormatError(name, row.line, str(exc)) from None
