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
from typing import Any

import numpy as np
from sqlalchemy import BigInteger, Select, cast, extract, func, select
from sqlalchemy.orm import Session

from cvo_plugin.analytics.basket import Catalogue, Purchases
from cvo_plugin.models import Order, OrderLine
from cvo_plugin.services.crosssell.products import catalogue_query, is_available

SECONDS_PER_DAY = 86_400.0
CHUNK_ROWS = 100_000


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


def _columns(session: Session, statement: Select[Any], width: int) -> np.ndarray:
    """The integer rows of `statement` as an (n, width) int64 array, turned into Python rows a
    chunk at a time so that a large shop's rows never sit in memory as Python objects at once
    (the driver's buffer of the result is compact)."""
    chunks = [np.zeros((0, width), dtype=np.int64)]
    for part in session.connection().execute(statement).partitions(CHUNK_ROWS):
        # Rows become tuples first: numpy reads a list of tuples 50 times faster than of Rows.
        chunks.append(np.array([tuple(row) for row in part], dtype=np.int64).reshape(-1, width))
    return np.concatenate(chunks)


def load_baskets(
    session: Session, shop_id: int, until: datetime, since: datetime | None = None
) -> ShopBaskets:
    """The shop's purchases between `since` and `until` (UTC-aware) with its catalogue."""
    product_ids, catalogue = load_catalogue(session, shop_id)
    kept = [Order.shop_id == shop_id, Order.cancelled_at.is_(None), Order.created_at <= until]
    if since is not None:
        kept.append(Order.created_at >= since)
    orders = _columns(
        session,
        select(
            Order.id,
            func.coalesce(Order.customer_id, -1),
            cast(extract("epoch", Order.created_at), BigInteger),
        )
        .where(*kept)
        .order_by(Order.id),
        3,
    )
    purchases = _columns(
        session,
        select(OrderLine.order_id, OrderLine.product_id)
        .join(Order, Order.id == OrderLine.order_id)
        .where(OrderLine.shop_id == shop_id, OrderLine.product_id.is_not(None), *kept)
        .group_by(OrderLine.order_id, OrderLine.product_id)
        .having(func.sum(OrderLine.quantity - OrderLine.refunded_quantity) > 0),
        2,
    )
    # Place each purchase's order and product; lines of a product missing from the catalogue
    # cannot be placed (none in a sound database).
    order_row = np.searchsorted(orders[:, 0], purchases[:, 0])
    product = np.searchsorted(product_ids, purchases[:, 1])
    placed = (order_row < len(orders)) & (product < product_ids.size)
    placed[placed] = (orders[order_row[placed], 0] == purchases[placed, 0]) & (
        product_ids[product[placed]] == purchases[placed, 1]
    )
    order_row, product = order_row[placed], product[placed]

    # Orders with something kept, numbered densely; customers likewise (-1: a guest).
    used, order_index = np.unique(order_row, return_inverse=True)
    customers = orders[used, 1]
    known = customers >= 0
    order_customer = np.full(used.size, -1, dtype=np.int64)
    order_customer[known] = np.unique(customers[known], return_inverse=True)[1]
    ages = np.maximum((until.timestamp() - orders[used, 2]) / SECONDS_PER_DAY, 0.0)
    return ShopBaskets(
        Purchases(order_index.astype(np.int64), product.astype(np.int64), order_customer, ages),
        catalogue,
        product_ids,
        until,
    )
