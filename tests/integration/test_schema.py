"""The migrations build exactly the models' schema, on SQLite and PostgreSQL; types round-trip."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import select

from cvo_plugin.db import Base, Database
from cvo_plugin.models import Order, Shop


def test_migrations_match_the_models(database: Database) -> None:
    with database.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, Base.metadata)
    assert diff == []


def test_times_are_utc_aware_and_money_is_decimal(database: Database) -> None:
    created = datetime(2024, 3, 1, 12, 0, tzinfo=timezone(timedelta(hours=2)))
    with database.session() as session:
        shop = Shop(platform="csv", domain="s1", currency="EUR", settings={})
        session.add(shop)
        session.flush()
        session.add(
            Order(
                shop_id=shop.id,
                platform_id="o1",
                created_at=created,
                gross=Decimal("10.105"),
                discounts=Decimal("0"),
                refunds=Decimal("0.1"),
                net_revenue=Decimal("0.3"),
            )
        )
    with database.session() as session:
        order = session.scalars(select(Order)).one()
        assert order.created_at == datetime(2024, 3, 1, 10, 0, tzinfo=UTC)
        assert order.created_at.tzinfo is UTC
        assert order.gross == Decimal("10.11") and isinstance(order.gross, Decimal)
        assert order.net_revenue == Decimal("0.30")


def test_naive_times_are_refused(database: Database) -> None:
    with pytest.raises(Exception, match="naive datetime"):
        with database.session() as session:
            shop = Shop(platform="csv", domain="s2", settings={})
            session.add(shop)
            session.flush()
            session.add(Order(shop_id=shop.id, platform_id="o1", created_at=datetime(2024, 1, 1)))
            session.flush()
