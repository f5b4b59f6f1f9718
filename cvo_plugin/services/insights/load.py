"""Reading one shop's data into arrays for the analytics: a few set-based SELECTs, all by shop.

Every query filters by `shop_id` (lines also through their order's shop) and by creation time
before the end of the as-of day (UTC), so a computation as of a past day ignores later orders.
Money is read as float (the analytics compute in float64 and results are rounded at the edge);
times as Unix seconds. Where rows can be aggregated in SQL (lines per customer and product,
devices per customer) they are, so millions of lines arrive as far fewer rows.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import numpy as np
from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Float,
    Integer,
    Select,
    and_,
    case,
    cast,
    distinct,
    func,
    select,
)
from sqlalchemy.orm import Session

from cvo_plugin.analytics.channels import month_index
from cvo_plugin.models import (
    AnalyticsSnapshot,
    Customer,
    CustomerScore,
    MarketingSpend,
    Order,
    OrderLine,
    Product,
    Shop,
    Variant,
)

CHUNK = 200_000
SECONDS_PER_DAY = 86_400


def end_of_day(day: date) -> datetime:
    """The first instant after `day` (UTC): orders before it count."""
    return datetime.combine(day + timedelta(days=1), time(0), UTC)


def completed(order: type[Order] = Order) -> ColumnElement[bool]:
    """SQL form of `analytics.customers.completed_orders`: not cancelled, net revenue above zero."""
    return and_(order.cancelled_at.is_(None), order.net_revenue > 0)


def _epoch(column: Any, dialect: str) -> ColumnElement[int]:
    if dialect == "postgresql":
        return cast(func.floor(func.extract("epoch", column)), BigInteger)
    return cast(func.strftime("%s", column), Integer)


def _money(column: Any) -> ColumnElement[float]:
    return cast(column, Float)


def fetch_columns(session: Session, statement: Select[Any], kinds: Sequence[str]) -> list[np.ndarray]:
    """Run `statement` and return its columns as arrays.

    Kinds: 'i' int64, 'f' float64, 'F' float64 with NULL as NaN, 'o' object (strings, dates).

    Rows are streamed in chunks so a shop with millions of rows is never held as one list.
    """
    chunks: list[list[np.ndarray]] = []
    result = session.execute(statement.execution_options(yield_per=CHUNK))
    for partition in result.partitions(CHUNK):
        columns = list(zip(*partition, strict=True)) if partition else [() for _ in kinds]
        chunks.append([_as_array(column, kind) for column, kind in zip(columns, kinds, strict=True)])
    if not chunks:
        return [_as_array((), kind) for kind in kinds]
    return [np.concatenate([chunk[i] for chunk in chunks]) for i in range(len(kinds))]


def _as_array(values: Sequence[Any], kind: str) -> np.ndarray:
    if kind == "i":
        return np.fromiter(values, dtype=np.int64, count=len(values))
    if kind == "f":
        return np.fromiter(values, dtype=np.float64, count=len(values))
    if kind == "F":
        return np.array(values, dtype=np.float64).reshape(-1)  # None becomes NaN
    array = np.empty(len(values), dtype=object)
    array[:] = values
    return array


def factorize(values: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Codes and labels of strings; None and blank become code -1."""
    text = np.where(np.equal(values, None), "", values).astype(str)
    text = np.char.strip(text)
    labels, codes = np.unique(text, return_inverse=True)
    codes = codes.reshape(-1).astype(np.int64)
    if len(labels) and labels[0] == "":
        return codes - 1, [str(x) for x in labels[1:]]
    return codes, [str(x) for x in labels]


@dataclass(frozen=True)
class ShopData:
    """What a computation reads, as arrays (ids are database ids)."""

    shop_id: int
    currency: str
    timezone: str
    as_of: date
    # every order of a customer up to the as-of day
    order_id: np.ndarray
    order_customer: np.ndarray
    order_seconds: np.ndarray
    order_revenue: np.ndarray
    order_cancelled: np.ndarray
    order_discounted: np.ndarray
    order_lines: np.ndarray
    order_units: np.ndarray
    # completed orders per (customer, device)
    device_customer: np.ndarray
    device_code: np.ndarray
    device_orders: np.ndarray
    device_labels: list[str]
    # completed-order lines per (customer, product, variant); customer -1 = guest
    line_customer: np.ndarray
    line_product: np.ndarray
    line_variant: np.ndarray
    line_orders: np.ndarray
    line_units: np.ndarray
    line_revenue: np.ndarray
    line_gross: np.ndarray
    # first completed order of each customer, and its products
    first_customer: np.ndarray
    first_attribution: dict[str, np.ndarray]
    first_product_customer: np.ndarray
    first_product: np.ndarray
    # customers' places
    customer_id: np.ndarray
    customer_country: np.ndarray
    customer_city: np.ndarray
    country_labels: list[str]
    city_labels: list[str]
    # catalogue
    product_id: np.ndarray
    product_platform_id: np.ndarray
    product_title: np.ndarray
    product_type: np.ndarray
    variant_id: np.ndarray
    variant_product: np.ndarray
    variant_title: np.ndarray
    variant_cost: np.ndarray  # NaN where unknown
    # marketing spend
    spend_channel: np.ndarray
    spend_month: np.ndarray
    spend_amount: np.ndarray
    # the previous snapshot (for transitions), if any
    previous_snapshot: int | None
    previous_as_of: date | None
    previous_customer: np.ndarray
    previous_segment: np.ndarray
    previous_monetary: np.ndarray


Progress = Callable[[float, str], None]


def load_shop_data(session: Session, shop: Shop, as_of: date, progress: Progress | None = None) -> ShopData:
    """Everything the customer-value computation of `shop` as of `as_of` reads."""
    report = progress or (lambda fraction, message: None)
    dialect = session.get_bind().dialect.name
    shop_id = shop.id
    cutoff = end_of_day(as_of)
    in_range = and_(Order.shop_id == shop_id, Order.created_at < cutoff)

    report(0.0, "reading orders")
    orders = fetch_columns(
        session,
        select(
            Order.id,
            Order.customer_id,
            _epoch(Order.created_at, dialect),
            _money(Order.net_revenue),
            case((Order.cancelled_at.is_(None), 0), else_=1),
            case((Order.discounts > 0, 1), else_=0),
            Order.line_count,
            Order.units,
        ).where(in_range, Order.customer_id.is_not(None)),
        "iiifiiii",
    )

    report(0.3, "reading order lines")
    lines = fetch_columns(
        session,
        select(
            func.coalesce(Order.customer_id, -1),
            func.coalesce(OrderLine.product_id, -1),
            func.coalesce(OrderLine.variant_id, -1),
            func.count(distinct(OrderLine.order_id)),
            func.sum(case((OrderLine.quantity > 0, OrderLine.quantity), else_=0)),
            _money(
                func.sum(
                    OrderLine.quantity * OrderLine.unit_price
                    - OrderLine.refunded_quantity * OrderLine.unit_price
                    - OrderLine.discount
                )
            ),
            _money(
                func.sum(case((OrderLine.quantity > 0, OrderLine.quantity * OrderLine.unit_price), else_=0))
            ),
        )
        .join(Order, Order.id == OrderLine.order_id)
        .where(OrderLine.shop_id == shop_id, in_range, completed())
        .group_by(Order.customer_id, OrderLine.product_id, OrderLine.variant_id),
        "iiiiiff",
    )

    report(0.55, "reading first orders and devices")
    devices = fetch_columns(
        session,
        select(Order.customer_id, Order.device_type, func.count())
        .where(in_range, completed(), Order.customer_id.is_not(None), Order.device_type.is_not(None))
        .group_by(Order.customer_id, Order.device_type),
        "ioi",
    )
    device_code, device_labels = factorize(devices[1])

    first = (
        select(Order.customer_id.label("customer_id"), func.min(Order.created_at).label("first_at"))
        .where(in_range, completed(), Order.customer_id.is_not(None))
        .group_by(Order.customer_id)
        .subquery()
    )
    is_first = and_(Order.customer_id == first.c.customer_id, Order.created_at == first.c.first_at)
    attribution = fetch_columns(
        session,
        select(
            Order.customer_id,
            Order.utm_source,
            Order.utm_medium,
            Order.referrer,
            Order.landing_page,
            Order.source_name,
        )
        .join(first, is_first)
        .where(in_range, completed())
        .order_by(Order.customer_id, Order.created_at, Order.id),
        "iooooo",
    )
    # two orders at the very same first instant: the lower id is the first
    keep = (
        np.r_[True, attribution[0][1:] != attribution[0][:-1]] if len(attribution[0]) else np.zeros(0, bool)
    )
    first_products = fetch_columns(
        session,
        select(Order.customer_id, OrderLine.product_id)
        .distinct()
        .join(Order, Order.id == OrderLine.order_id)
        .join(first, is_first)
        .where(
            OrderLine.shop_id == shop_id,
            in_range,
            completed(),
            OrderLine.quantity > 0,
            OrderLine.product_id.is_not(None),
        ),  # fmt: skip
        "ii",
    )

    report(0.75, "reading customers and the catalogue")
    customers = fetch_columns(
        session,
        select(Customer.id, Customer.country, Customer.city).where(Customer.shop_id == shop_id),
        "ioo",
    )
    country_code, country_labels = factorize(customers[1])
    city_code, city_labels = factorize(customers[2])
    products = fetch_columns(
        session,
        select(Product.id, Product.platform_id, Product.title, Product.product_type).where(
            Product.shop_id == shop_id
        ),
        "iooo",
    )
    variants = fetch_columns(
        session,
        select(Variant.id, Variant.product_id, Variant.title, _money(Variant.cost)).where(
            Variant.shop_id == shop_id
        ),
        "iioF",
    )
    spend = fetch_columns(
        session,
        select(MarketingSpend.channel, MarketingSpend.month, _money(MarketingSpend.amount)).where(
            MarketingSpend.shop_id == shop_id
        ),
        "oof",
    )
    spend_days = np.array([(m - date(1970, 1, 1)).days for m in spend[1]], dtype=np.int64)

    report(0.9, "reading the previous snapshot")
    previous = session.scalars(
        select(AnalyticsSnapshot)
        .where(
            AnalyticsSnapshot.shop_id == shop_id,
            AnalyticsSnapshot.status == "ready",
            AnalyticsSnapshot.as_of < as_of,
        )
        .order_by(AnalyticsSnapshot.as_of.desc(), AnalyticsSnapshot.id.desc())
        .limit(1)
    ).first()
    previous_rows: list[np.ndarray] = [np.zeros(0, np.int64), np.zeros(0, object), np.zeros(0)]
    if previous is not None:
        previous_rows = fetch_columns(
            session,
            select(CustomerScore.customer_id, CustomerScore.segment, _money(CustomerScore.monetary)).where(
                CustomerScore.snapshot_id == previous.id, CustomerScore.shop_id == shop_id
            ),
            "iof",
        )
    report(1.0, "read")
    return ShopData(
        shop_id=shop_id,
        currency=shop.currency,
        timezone=shop.timezone or "UTC",
        as_of=as_of,
        order_id=orders[0],
        order_customer=orders[1],
        order_seconds=orders[2],
        order_revenue=orders[3],
        order_cancelled=orders[4].astype(bool),
        order_discounted=orders[5].astype(bool),
        order_lines=orders[6],
        order_units=orders[7],
        device_customer=devices[0],
        device_code=device_code,
        device_orders=devices[2],
        device_labels=device_labels,
        line_customer=lines[0],
        line_product=lines[1],
        line_variant=lines[2],
        line_orders=lines[3],
        line_units=lines[4],
        line_revenue=lines[5],
        line_gross=lines[6],
        first_customer=attribution[0][keep],
        first_attribution={
            name: column[keep]
            for name, column in zip(
                ("utm_source", "utm_medium", "referrer", "landing_page", "source_name"),
                attribution[1:],
                strict=True,
            )
        },
        first_product_customer=first_products[0],
        first_product=first_products[1],
        customer_id=customers[0],
        customer_country=country_code,
        customer_city=city_code,
        country_labels=country_labels,
        city_labels=city_labels,
        product_id=products[0],
        product_platform_id=products[1],
        product_title=products[2],
        product_type=products[3],
        variant_id=variants[0],
        variant_product=variants[1],
        variant_title=variants[2],
        variant_cost=variants[3],
        spend_channel=spend[0],
        spend_month=month_index(spend_days),
        spend_amount=spend[2],
        previous_snapshot=previous.id if previous is not None else None,
        previous_as_of=previous.as_of if previous is not None else None,
        previous_customer=previous_rows[0],
        previous_segment=previous_rows[1],
        previous_monetary=previous_rows[2],
    )
