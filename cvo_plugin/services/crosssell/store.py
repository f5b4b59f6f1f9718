"""Storing computed cross-sells as sets, replaced atomically, and reading the current set.

`replace_current_set` writes a whole new set, makes it the shop's current set and deletes the
previous ones, all in the caller's transaction: readers never see a half-written set. Readers
(`current_rules`) fetch the current set's rows in a single statement, so even under
PostgreSQL's READ COMMITTED (a snapshot per statement) they see the old set or the new one,
never a mix and never nothing.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import Connection, and_, delete, func, select, update
from sqlalchemy.orm import Session

from cvo_plugin.analytics.basket import KINDS, Recommendations
from cvo_plugin.models import CrosssellProductStat, CrosssellRecommendation, CrosssellSet, Product

_RULE_COLUMNS = (
    "set_id",
    "shop_id",
    "product_id",
    "recommended_id",
    "kind",
    "rank",
    "orders_together",
    "support",
    "confidence",
    "lift",
    "conviction",
)
_STAT_COLUMNS = ("set_id", "product_id", "shop_id", "orders")


def _bulk_insert(
    connection: Connection, table: str, columns: Sequence[str], rows: list[tuple[Any, ...]]
) -> None:
    """Insert many rows the fastest way the database has (PostgreSQL `COPY`, else executemany)."""
    if not rows:
        return
    names = ", ".join(columns)
    if connection.dialect.name == "postgresql":
        driver = connection.connection.driver_connection
        with driver.cursor() as cursor:  # type: ignore[union-attr]
            with cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        return
    placeholders = ", ".join(["?"] * len(columns))
    connection.exec_driver_sql(f"INSERT INTO {table} ({names}) VALUES ({placeholders})", rows)


def replace_current_set(
    session: Session,
    shop_id: int,
    recommendations: Recommendations,
    product_ids: np.ndarray,
    *,
    computed_at: datetime,
    data_until: datetime,
    parameters: dict[str, Any],
    seconds: float = 0.0,
) -> CrosssellSet:
    """Store `recommendations` (product indices mapped through `product_ids`) as the shop's
    current set and delete the sets it replaces; the caller commits."""
    rules = recommendations.rules
    new = CrosssellSet(
        shop_id=shop_id,
        is_current=False,
        computed_at=computed_at,
        data_until=data_until,
        parameters=parameters,
        orders=recommendations.n_orders,
        customers=recommendations.n_customers,
        products=int(product_ids.size),
        rules=len(rules),
        seconds=round(seconds, 3),
    )
    session.add(new)
    session.flush()
    connection = session.connection()
    kinds = np.array(KINDS, dtype=object)[rules.kind]
    conviction = [None if math.isinf(c) else c for c in rules.conviction.tolist()]
    rows = list(
        zip(
            [new.id] * len(rules),
            [shop_id] * len(rules),
            product_ids[rules.antecedent].tolist(),
            product_ids[rules.consequent].tolist(),
            kinds.tolist(),
            rules.rank.tolist(),
            rules.orders_together.tolist(),
            rules.support.tolist(),
            rules.confidence.tolist(),
            rules.lift.tolist(),
            conviction,
            strict=True,
        )
    )
    _bulk_insert(connection, CrosssellRecommendation.__tablename__, _RULE_COLUMNS, rows)
    bought = np.flatnonzero(recommendations.product_orders > 0)
    stats = [
        (new.id, pid, shop_id, orders)
        for pid, orders in zip(
            product_ids[bought].tolist(), recommendations.product_orders[bought].tolist(), strict=True
        )
    ]
    _bulk_insert(connection, CrosssellProductStat.__tablename__, _STAT_COLUMNS, stats)

    # The flip: the old set stops being current before the new one starts (the partial unique
    # index allows one current set per shop at any moment), then the replaced sets go.
    session.execute(
        update(CrosssellSet)
        .where(CrosssellSet.shop_id == shop_id, CrosssellSet.is_current.is_(True))
        .values(is_current=False)
    )
    session.execute(update(CrosssellSet).where(CrosssellSet.id == new.id).values(is_current=True))
    old = select(CrosssellSet.id).where(CrosssellSet.shop_id == shop_id, CrosssellSet.id != new.id)
    session.execute(delete(CrosssellRecommendation).where(CrosssellRecommendation.set_id.in_(old)))
    session.execute(delete(CrosssellProductStat).where(CrosssellProductStat.set_id.in_(old)))
    session.execute(delete(CrosssellSet).where(CrosssellSet.shop_id == shop_id, CrosssellSet.id != new.id))
    session.flush()
    session.refresh(new)
    return new


@dataclass(frozen=True)
class StoredRule:
    """One stored rule of the current set (product ids are the shop's database ids)."""

    product_id: int
    recommended_id: int
    kind: str
    rank: int
    orders_together: int
    support: float
    confidence: float
    lift: float
    conviction: float  # inf when every order with the product also holds the recommended one


@dataclass(frozen=True)
class CurrentRules:
    """The current set's facts and the requested rules (`set_id` None: nothing computed yet)."""

    set_id: int | None
    computed_at: datetime | None
    orders: int
    rules: list[StoredRule]


def current_rules(
    session: Session, shop_id: int, product_ids: Collection[int], kinds: Collection[str]
) -> CurrentRules:
    """The current set's rules of `kinds` for `product_ids`, ordered by product, kind and rank.

    One statement (the set joined to its rows), so the answer comes from one set even while
    a recomputation replaces it.
    """
    r = CrosssellRecommendation
    statement = (
        select(
            CrosssellSet.id,
            CrosssellSet.computed_at,
            CrosssellSet.orders,
            r.product_id,
            r.recommended_id,
            r.kind,
            r.rank,
            r.orders_together,
            r.support,
            r.confidence,
            r.lift,
            r.conviction,
        )
        .outerjoin(
            r,
            and_(
                r.set_id == CrosssellSet.id,
                r.shop_id == shop_id,
                r.product_id.in_(list(product_ids)),
                r.kind.in_(list(kinds)),
            ),
        )
        .where(CrosssellSet.shop_id == shop_id, CrosssellSet.is_current.is_(True))
        .order_by(r.product_id, r.kind, r.rank)
    )
    rows = session.execute(statement).all()
    if not rows:
        return CurrentRules(None, None, 0, [])
    rules = [
        StoredRule(
            row[3],
            row[4],
            row[5],
            row[6],
            row[7],
            row[8],
            row[9],
            row[10],
            math.inf if row[11] is None else row[11],
        )
        for row in rows
        if row[3] is not None
    ]
    return CurrentRules(rows[0][0], rows[0][1], rows[0][2], rules)


def current_set(session: Session, shop_id: int) -> CrosssellSet | None:
    """The shop's current set (its facts), or None before the first computation."""
    return session.scalars(
        select(CrosssellSet).where(CrosssellSet.shop_id == shop_id, CrosssellSet.is_current.is_(True))
    ).first()


@dataclass(frozen=True)
class ProductOrders:
    """A product of the current set with the orders that held it."""

    product_id: int
    platform_id: str
    title: str | None
    orders: int


def bought_products(
    session: Session, shop_id: int, *, limit: int = 50, offset: int = 0, search: str | None = None
) -> list[ProductOrders]:
    """The current set's products, most ordered first (the admin's list to pick a product from);
    `search` matches the title or platform id, case-insensitively."""
    statement = (
        select(Product.id, Product.platform_id, Product.title, CrosssellProductStat.orders)
        .join(CrosssellSet, CrosssellSet.id == CrosssellProductStat.set_id)
        .join(Product, Product.id == CrosssellProductStat.product_id)
        .where(
            CrosssellSet.shop_id == shop_id,
            CrosssellSet.is_current.is_(True),
            CrosssellProductStat.shop_id == shop_id,
            Product.shop_id == shop_id,
        )
        .order_by(CrosssellProductStat.orders.desc(), Product.id)
        .limit(max(min(limit, 500), 1))
        .offset(max(offset, 0))
    )
    if search:
        pattern = f"%{search.strip().lower()}%"
        statement = statement.where(
            func.lower(Product.title).like(pattern) | func.lower(Product.platform_id).like(pattern)
        )
    return [ProductOrders(*row) for row in session.execute(statement)]
