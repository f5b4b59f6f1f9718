"""Neutral records that importers and connectors emit and `cvo_plugin.ingest` stores.

They are plain named tuples (cheap to build by the million) and carry platform ids, never
database ids. Money is `Decimal`, times are timezone-aware UTC `datetime`s.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import NamedTuple


class CustomerRecord(NamedTuple):
    platform_id: str
    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    phone: str | None = None
    country: str | None = None
    province: str | None = None
    city: str | None = None
    tags: str | None = None
    accepts_marketing: bool | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None


class ProductRecord(NamedTuple):
    platform_id: str
    title: str | None = None
    handle: str | None = None
    product_type: str | None = None
    vendor: str | None = None
    status: str | None = None
    published: bool | None = None
    tags: str | None = None
    image_url: str | None = None
    url: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None


class VariantRecord(NamedTuple):
    platform_id: str
    product_platform_id: str
    title: str | None = None
    sku: str | None = None
    price: Decimal | None = None
    compare_at_price: Decimal | None = None
    cost: Decimal | None = None
    inventory_quantity: int | None = None
    available: bool | None = None
    image_url: str | None = None
    updated_at: datetime | None = None


class OrderRecord(NamedTuple):
    """An order's own fields. Totals left as None are computed from the order's lines.

    Importers of row-per-line files may emit one `OrderRecord` per row with the same
    `platform_id`: the fields are merged (the non-empty value wins).
    """

    platform_id: str
    created_at: datetime | None = None
    name: str | None = None
    customer_platform_id: str | None = None
    email: str | None = None
    processed_at: datetime | None = None
    updated_at: datetime | None = None
    cancelled_at: datetime | None = None
    financial_status: str | None = None
    currency: str | None = None
    gross: Decimal | None = None
    discounts: Decimal | None = None
    refunds: Decimal | None = None
    shipping: Decimal | None = None
    tax: Decimal | None = None
    total: Decimal | None = None
    discount_codes: str | None = None
    source_name: str | None = None
    referrer: str | None = None
    landing_page: str | None = None
    utm_source: str | None = None
    utm_medium: str | None = None
    utm_campaign: str | None = None
    device_type: str | None = None
    country: str | None = None
    province: str | None = None
    city: str | None = None
    note_attributes: str | None = None


class LineRecord(NamedTuple):
    """One order line. Without a `platform_id`, the line is keyed by its order, product,
    variant and its rank among such lines, which is stable when the same file is read again."""

    order_platform_id: str
    product_platform_id: str | None
    quantity: int
    unit_price: Decimal
    platform_id: str | None = None
    variant_platform_id: str | None = None
    sku: str | None = None
    title: str | None = None
    product_type: str | None = None
    vendor: str | None = None
    discount: Decimal | None = None
    refunded_quantity: int = 0


class OrderBundle(NamedTuple):
    """An order with its complete set of lines (what connectors and webhooks deliver)."""

    order: OrderRecord
    lines: tuple[LineRecord, ...]
    customer: CustomerRecord | None = None
