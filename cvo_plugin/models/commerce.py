"""The store's commerce data: customers, products, variants, orders and their lines.

Every row carries `shop_id` and is unique per (shop, platform id), so every import, sync and
webhook is an upsert. Money is `Money` (Decimal); times are UTC-aware.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cvo_plugin.db import Base
from cvo_plugin.types import BigId, Money, UTCDateTime, intpk


def shop_fk() -> Mapped[int]:
    return mapped_column(BigId, ForeignKey("shops.id", ondelete="CASCADE"))


class Customer(Base):
    """A buyer; personal fields are blanked (and `redacted_at` set) on a redact request."""

    __tablename__ = "customers"
    __table_args__ = (
        UniqueConstraint("shop_id", "platform_id"),
        Index("ix_customers_shop_email", "shop_id", "email"),
    )

    id: Mapped[intpk]
    shop_id: Mapped[int] = shop_fk()
    platform_id: Mapped[str] = mapped_column(String(64))
    email: Mapped[str | None] = mapped_column(String(320))
    first_name: Mapped[str | None] = mapped_column(String(255))
    last_name: Mapped[str | None] = mapped_column(String(255))
    phone: Mapped[str | None] = mapped_column(String(64))
    country: Mapped[str | None] = mapped_column(String(64))
    province: Mapped[str | None] = mapped_column(String(128))
    city: Mapped[str | None] = mapped_column(String(128))
    tags: Mapped[str | None] = mapped_column(Text)
    accepts_marketing: Mapped[bool | None] = mapped_column(Boolean)
    platform_created_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    platform_updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    redacted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Product(Base):
    """A catalogue product; variants roll up to it for cross-sells."""

    __tablename__ = "products"
    __table_args__ = (UniqueConstraint("shop_id", "platform_id"),)

    id: Mapped[intpk]
    shop_id: Mapped[int] = shop_fk()
    platform_id: Mapped[str] = mapped_column(String(64))
    title: Mapped[str | None] = mapped_column(String(512))
    handle: Mapped[str | None] = mapped_column(String(255))
    product_type: Mapped[str | None] = mapped_column(String(255))
    vendor: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[str | None] = mapped_column(String(16))  # active, draft, archived
    published: Mapped[bool | None] = mapped_column(Boolean)
    tags: Mapped[str | None] = mapped_column(Text)
    image_url: Mapped[str | None] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(Text)
    platform_created_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    platform_updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Variant(Base):
    """A purchasable variant of a product, with its price, compare-at price and cost."""

    __tablename__ = "variants"
    __table_args__ = (
        UniqueConstraint("shop_id", "platform_id"),
        Index("ix_variants_product", "product_id"),
        Index("ix_variants_shop_sku", "shop_id", "sku"),
    )

    id: Mapped[intpk]
    shop_id: Mapped[int] = shop_fk()
    product_id: Mapped[int] = mapped_column(BigId, ForeignKey("products.id", ondelete="CASCADE"))
    platform_id: Mapped[str] = mapped_column(String(64))
    title: Mapped[str | None] = mapped_column(String(512))
    sku: Mapped[str | None] = mapped_column(String(255))
    price: Mapped[Decimal | None] = mapped_column(Money())
    compare_at_price: Mapped[Decimal | None] = mapped_column(Money())
    cost: Mapped[Decimal | None] = mapped_column(Money())
    inventory_quantity: Mapped[int | None] = mapped_column(Integer)
    available: Mapped[bool | None] = mapped_column(Boolean)
    image_url: Mapped[str | None] = mapped_column(Text)
    platform_updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Order(Base):
    """An order with its money split out.

    `gross` is the merchandise subtotal before discounts (sum of quantity x unit price over the
    sold lines), `discounts` the order's discounts, `refunds` what was refunded or returned, and
    `net_revenue` = gross - discounts - refunds, never below zero, and zero for a cancelled
    order. `shipping`, `tax` and `total` are kept as the platform reported them.

    Like lines, orders are written in bulk and carry no foreign key to their shop (its check
    per row was a fifth of the time of storing an order on PostgreSQL); they go with their
    shop in `services.shops.delete_shop`.
    """

    __tablename__ = "orders"
    __table_args__ = (
        UniqueConstraint("shop_id", "platform_id"),
        Index("ix_orders_shop_customer", "shop_id", "customer_id"),
    )

    id: Mapped[intpk]
    shop_id: Mapped[int] = mapped_column(BigId)
    platform_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str | None] = mapped_column(String(64))
    # Not a foreign key (a check per row would slow bulk loads): customers are only deleted
    # together with their shop; a redacted customer keeps its row.
    customer_id: Mapped[int | None] = mapped_column(BigId)
    email: Mapped[str | None] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    platform_updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    financial_status: Mapped[str | None] = mapped_column(String(32))
    currency: Mapped[str | None] = mapped_column(String(3))
    gross: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0"))
    discounts: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0"))
    refunds: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0"))
    net_revenue: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0"))
    shipping: Mapped[Decimal | None] = mapped_column(Money())
    tax: Mapped[Decimal | None] = mapped_column(Money())
    total: Mapped[Decimal | None] = mapped_column(Money())
    discount_codes: Mapped[str | None] = mapped_column(Text)
    # Where the order came from: platform source, first-touch attribution, device.
    source_name: Mapped[str | None] = mapped_column(String(128))
    referrer: Mapped[str | None] = mapped_column(Text)
    landing_page: Mapped[str | None] = mapped_column(Text)
    utm_source: Mapped[str | None] = mapped_column(String(255))
    utm_medium: Mapped[str | None] = mapped_column(String(255))
    utm_campaign: Mapped[str | None] = mapped_column(String(255))
    device_type: Mapped[str | None] = mapped_column(String(32))
    # Where it went (billing or shipping address).
    country: Mapped[str | None] = mapped_column(String(64))
    province: Mapped[str | None] = mapped_column(String(128))
    city: Mapped[str | None] = mapped_column(String(128))
    note_attributes: Mapped[str | None] = mapped_column(Text)
    line_count: Mapped[int] = mapped_column(Integer, default=0)
    units: Mapped[int] = mapped_column(Integer, default=0)


class OrderLine(Base):
    """One line of an order; a negative quantity is a return of that product.

    Lines are the largest table (millions of rows) and are written in bulk, so they carry no
    foreign keys: a foreign-key check per row doubles the time of a large import on
    PostgreSQL. Integrity is kept by the code that deletes: lines go with their order
    (`services.shops.delete_orders`) or their shop (`services.shops.delete_shop`), and products
    are never hard-deleted while lines point at them (a deleted product gets `deleted_at`).
    A line's `platform_id` is
    unique within its order: the platform's line id, or, for files without line ids,
    `<product>:<variant>:<rank>`.
    """

    __tablename__ = "order_lines"
    __table_args__ = (UniqueConstraint("order_id", "platform_id"),)

    id: Mapped[intpk]
    shop_id: Mapped[int] = mapped_column(BigId)
    order_id: Mapped[int] = mapped_column(BigId)
    platform_id: Mapped[str] = mapped_column(String(255))
    product_id: Mapped[int | None] = mapped_column(BigId)
    variant_id: Mapped[int | None] = mapped_column(BigId)
    sku: Mapped[str | None] = mapped_column(String(255))
    title: Mapped[str | None] = mapped_column(String(512))
    quantity: Mapped[int] = mapped_column(Integer)
    unit_price: Mapped[Decimal] = mapped_column(Money())
    discount: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0"))
    refunded_quantity: Mapped[int] = mapped_column(Integer, default=0)
