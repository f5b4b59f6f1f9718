"""Data retention: raw personal data older than the period is erased by the daily job; totals stay."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from cvo_plugin.config import ConfigError, Settings
from cvo_plugin.db import Database
from cvo_plugin.models import Customer, Order, PrivacyRequest, Shop, WebhookDelivery, WebhookPayload
from cvo_plugin.services.retention import RetentionError, set_retention_days
from cvo_plugin.tasks import APPLY_RETENTION, PERIODIC, RETENTION_KIND, TaskQueue

NOW = datetime.now(UTC)


def _shop(database: Database, name: str) -> int:
    """A shop with an old customer (last order 400 days ago), a recent one, an old webhook body
    and an old data export."""
    with database.session() as session:
        shop = Shop(platform="csv", domain=name, settings={})
        session.add(shop)
        session.flush()
        old = Customer(
            shop_id=shop.id, platform_id="old", email=f"old@{name}", first_name="Olga", phone="+331"
        )
        recent = Customer(shop_id=shop.id, platform_id="new", email=f"new@{name}", first_name="Nina")
        session.add_all([old, recent])
        session.flush()
        for i, (customer, age) in enumerate([(old, 400), (recent, 500), (recent, 10)]):
            session.add(
                Order(
                    shop_id=shop.id,
                    platform_id=f"o{i}",
                    customer_id=customer.id,
                    email=customer.email,
                    city="Lyon",
                    landing_page="/?utm_source=x&email=" + (customer.email or ""),
                    note_attributes="gift: yes",
                    created_at=NOW - timedelta(days=age),
                    gross=Decimal("10.00"),
                    net_revenue=Decimal("10.00"),
                )
            )
        delivery = WebhookDelivery(
            shop_id=shop.id, platform="shopify", delivery_id=f"d-{name}", topic="orders/create",
            received_at=NOW - timedelta(days=400), status="received",
        )  # fmt: skip
        session.add(delivery)
        session.flush()
        session.add(WebhookPayload(delivery_id=delivery.id, shop_id=shop.id, body=b'{"email": "old@x"}'))
        session.add(
            PrivacyRequest(
                shop_id=shop.id, platform="shopify", kind="data_request", customer_platform_id="old",
                order_ids=[], status="completed", export={"email": f"old@{name}"},
                received_at=NOW - timedelta(days=400), completed_at=NOW - timedelta(days=400),
            )
        )  # fmt: skip
        return shop.id


def _settings(url: str, days: int | None) -> Settings:
    return Settings(
        env="testing", database_url=url, secret_key="s", token_encryption_key="k", data_retention_days=days
    )


def _state(database: Database, shop_id: int) -> dict:
    with database.sessionmaker() as session:
        customers = {c.platform_id: (c.email, c.first_name, c.phone) for c in session.scalars(
            select(Customer).where(Customer.shop_id == shop_id))}  # fmt: skip
        orders = {o.platform_id: (o.email, o.city, o.landing_page) for o in session.scalars(
            select(Order).where(Order.shop_id == shop_id))}  # fmt: skip
        revenue = session.scalar(select(func.sum(Order.net_revenue)).where(Order.shop_id == shop_id))
        payloads = session.scalar(select(func.count()).select_from(WebhookPayload).where(
            WebhookPayload.shop_id == shop_id))  # fmt: skip
        exports = session.scalars(
            select(PrivacyRequest.export).where(PrivacyRequest.shop_id == shop_id)
        ).all()
    return {
        "customers": customers,
        "orders": orders,
        "revenue": revenue,
        "payloads": payloads,
        "exports": exports,
    }


def test_the_retention_job_erases_what_is_older_than_the_period(
    database: Database, database_url: str
) -> None:
    shop_id = _shop(database, "a.example")
    kept = _shop(database, "b.example")
    with database.session() as session:  # shop b keeps everything for 1000 days
        set_retention_days(session.get(Shop, kept), 1000)  # type: ignore[arg-type]
    before_kept = _state(database, kept)
    queue = TaskQueue(_settings(database_url, 365), database)
    result = queue.enqueue(APPLY_RETENTION, shop_id, kind=RETENTION_KIND).result
    assert result == {"days": 365, "orders": 2, "customers": 1, "webhook_payloads": 1, "exports": 1}

    state = _state(database, shop_id)
    assert state["customers"] == {"old": (None, None, None), "new": ("new@a.example", "Nina", None)}
    assert state["orders"]["o0"] == (None, None, None) and state["orders"]["o1"] == (None, None, None)
    assert state["orders"]["o2"] == ("new@a.example", "Lyon", "/?utm_source=x&email=new@a.example")
    assert state["revenue"] == Decimal("30.00")  # totals and analytics inputs stay
    assert state["payloads"] == 0 and state["exports"] == [None]
    assert _state(database, kept) == before_kept  # its own setting: nothing is that old

    again = queue.enqueue(APPLY_RETENTION, shop_id, kind=RETENTION_KIND).result
    assert again == {"days": 365, "orders": 0, "customers": 0, "webhook_payloads": 0, "exports": 0}


def test_without_a_period_nothing_is_erased(database: Database, database_url: str) -> None:
    shop_id = _shop(database, "a.example")
    before = _state(database, shop_id)
    result = (
        TaskQueue(_settings(database_url, None), database)
        .enqueue(APPLY_RETENTION, shop_id, kind=RETENTION_KIND)
        .result
    )
    assert result["days"] is None and _state(database, shop_id) == before


def test_retention_runs_daily_for_every_shop_and_settings_are_checked() -> None:
    daily = [p for p in PERIODIC if p.func == APPLY_RETENTION]
    assert len(daily) == 1 and daily[0].interval_s == 24 * 3600 and "csv" in daily[0].platforms
    assert (
        Settings.from_env({"CVO_ENV": "testing", "DATA_RETENTION_DAYS": "90"}, environ={}).data_retention_days
        == 90
    )
    for bad in ("0", "-3", "a year"):
        with pytest.raises(ConfigError, match="DATA_RETENTION_DAYS"):
            Settings.from_env({"CVO_ENV": "testing", "DATA_RETENTION_DAYS": bad}, environ={})
    shop = Shop(platform="csv", domain="x", settings={})
    for bad_days in (0, 40_000, True, "30"):
        with pytest.raises(RetentionError):
            set_retention_days(shop, bad_days)  # type: ignore[arg-type]
    set_retention_days(shop, 30)
    assert shop.settings == {"privacy": {"retention_days": 30}}
