"""Reading one shop's orders and catalogue into the arrays of `cvo_plugin.analytics.basket`.

Two set-based SELECTs, both filtered by the shop: the catalogue (one row per product) and the
purchases (one row per order and product). What counts as a purchase:

- orders of the shop created up to `until` (and from `since` when given), not cancelled;
- lines with a product; variants roll up to their product;
- per order and product, the units sold minus the units refunded or returned
  (`sum(quantity - refunded_quantity)`, return lines having a negative quantity) must be
  positive: fully refunded lines are left out, and an order counts once however many units.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
from sqlalchemy import extract, func, select
from sqlalchemy.orm import Session

from cvo_plugin.analytics.basket import Catalogue, Purchases
from cvo_plugin.models import Order, OrderLine
from cvo_plugin.services.crosssell.products import catalogue_query, is_available

SECONDS_PER_DAY = 86_400.0


@dataclass(frozen=True)
class ShopBaskets:
    """A shop's purchases and catalogue as arrays; `product_ids[i]` is product index i's id."""

    purchases: Purchases
    catalogue: Catalogue
    product_ids: np.ndarray
    until: datetime


def _codes(values: list[str | None]) -> np.ndarray:
    """Group codes for text values, case- and space-insensitive; -1 for empty."""
    keys = [(v or "").strip().casefold() for v in values]
    names = sorted({k for k in keys if k})
    code = {name: i for i, name in enumerate(names)}
    return np.array([code.get(k, -1) for k in keys], dtype=np.int64)


def load_catalogue(session: Session, shop_id: int) -> tuple[np.ndarray, Catalogue]:
    """Product ids (ascending) and the catalogue arrays of the shop."""
    rows = session.execute(catalogue_query(shop_id)).all()
    ids = np.array([r[0] for r in rows], dtype=np.int64)
    catalogue = Catalogue(
        product_type=_codes([r[1] for r in rows]),
        vendor=_codes([r[2] for r in rows]),
        price=np.array([np.nan if r[8] is None else float(r[8]) for r in rows], dtype=np.float64),
        recommendable=np.array([is_available(r[3], r[4], r[5], int(r[6]), int(r[7])) for r in rows], bool),
    )
    return ids, catalogue


def load_baskets(
    session: Session, shop_id: int, until: datetime, since: datetime | None = None
) -> ShopBaskets:
    """The shop's purchases between `since` and `until` (UTC-aware) with its catalogue."""
    product_ids, catalogue = load_catalogue(session, shop_id)
    created = extract("epoch", Order.created_at)
    conditions = [
        OrderLine.shop_id == shop_id,
        Order.shop_id == shop_id,
        Order.cancelled_at.is_(None),
        OrderLine.product_id.is_not(None),
        Order.created_at <= until,
    ]
    if since is not None:
        conditions.append(Order.created_at >= since)
    statement = (
        select(OrderLine.order_id, OrderLine.product_id, func.coalesce(Order.customer_id, -1), created)
        .join(Order, Order.id == OrderLine.order_id)
        .where(*conditions)
        .group_by(OrderLine.order_id, OrderLine.product_id, Order.customer_id, Order.created_at)
        .having(func.sum(OrderLine.quantity - OrderLine.refunded_quantity) > 0)
    )
    rows = session.execute(statement).all()
    columns = list(zip(*rows, strict=True)) if rows else [(), (), (), ()]
    order_ids = np.array(columns[0], dtype=np.int64)
    line_products = np.array(columns[1], dtype=np.int64)
    customers = np.array(columns[2], dtype=np.int64)
    epochs = np.array([float(v) for v in columns[3]], dtype=np.float64)

    # Lines of products missing from the catalogue cannot be placed (none in a sound database).
    index = np.searchsorted(product_ids, line_products)
    known = (index < product_ids.size) & (
        product_ids[np.minimum(index, max(product_ids.size - 1, 0))] == line_products
    )
    order_ids, index, customers, epochs = order_ids[known], index[known], customers[known], epochs[known]

    unique_orders, first, order_index = np.unique(order_ids, return_index=True, return_inverse=True)
    order_customers = customers[first]
    known_customers = order_customers >= 0
    _, customer_index = np.unique(order_customers[known_customers], return_inverse=True)
    order_customer = np.full(unique_orders.size, -1, dtype=np.int64)
    order_customer[known_customers] = customer_index
    ages = np.maximum((until.timestamp() - epochs[first]) / SECONDS_PER_DAY, 0.0)
    purchases = Purchases(
        order_index=order_index.astype(np.int64),
        product_index=index.astype(np.int64),
        order_customer=order_customer,
        order_age_days=ages,
    )
    return ShopBaskets(purchases, catalogue, product_ids, until)
