"""The compliance webhooks and app/uninstalled, verified in the database."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from cvo_plugin.models import (
    Customer,
    JobRun,
    Order,
    OrderLine,
    PrivacyRequest,
    Product,
    Shop,
    SyncState,
    WebhookDelivery,
)
from cvo_plugin.tasks import SHOPIFY_SYNC, InProcessRun, current_inprocess_run
from jobs.schedule import due_work
from tests.integration.shopify.conftest import app_database, deliver, install, run_job
from tests.shopify_standin import ShopifyStandIn
from tests.shopify_standin.render import rest_customer, rest_order


@pytest.fixture
def installed(client: FlaskClient, shopify: ShopifyStandIn) -> int:
    return install(client, shopify)


def _buyer_with_orders(shopify: ShopifyStandIn) -> tuple[dict, list[dict]]:
    for customer_id in shopify.store.buyers():
        orders = [o for o in shopify.store.orders.values() if o["customer_id"] == customer_id]
        if len(orders) >= 2:
            return shopify.store.customers[customer_id], orders
    raise AssertionError("the store has no repeat buyer")


def _order_money(client: FlaskClient, shop_id: int) -> dict[str, tuple[Decimal, Decimal, int]]:
    with app_database(client.application).sessionmaker() as session:
        lines = dict(
            session.execute(select(OrderLine.order_id, func.count()).group_by(OrderLine.order_id)).all()
        )
        return {
            o.platform_id: (o.gross, o.net_revenue, lines.get(o.id, 0))
            for o in session.scalars(select(Order).where(Order.shop_id == shop_id))
        }


def test_customers_redact_erases_personal_data_and_keeps_anonymous_totals(
    client: FlaskClient, shopify: ShopifyStandIn, installed: int
) -> None:
    customer, orders = _buyer_with_orders(shopify)
    money_before = _order_money(client, installed)
    payload = {
        "shop_id": shopify.store.shop["id"],
        "shop_domain": shopify.store.domain,
        "customer": {"id": customer["id"], "email": customer["email"], "phone": customer["phone"]},
        "orders_to_redact": [o["id"] for o in orders],
    }
    assert deliver(client, shopify, "customers/redact", payload).status_code == 200
    database = app_database(client.application)
    with database.sessionmaker() as session:
        row = session.scalars(select(Customer).where(Customer.platform_id == str(customer["id"]))).one()
        assert row.redacted_at is not None
        assert (row.email, row.first_name, row.last_name, row.phone, row.city, row.country) == (None,) * 6
        for order in session.scalars(select(Order).where(Order.customer_id == row.id)):
            assert (order.email, order.city, order.province, order.country) == (None, None, None, None)
            assert order.note_attributes is None and order.landing_page is None and order.referrer is None
        record = session.scalars(select(PrivacyRequest)).one()
        assert (record.kind, record.status, record.customer_platform_id) == (
            "customer_redact",
            "completed",
            str(customer["id"]),
        )
    assert _order_money(client, installed) == money_before  # totals and lines stay

    # Later updates from Shopify do not bring the personal data back.
    shopify.store.update_order(orders[0]["id"], note_attributes=[("gift", "yes")])
    deliver(client, shopify, "orders/updated", rest_order(shopify.store, orders[0]))
    shopify.store.update_customer(customer["id"], first_name="Back")
    deliver(client, shopify, "customers/update", rest_customer(customer))
    run_job(client.application, SHOPIFY_SYNC, installed, "sync")
    with database.sessionmaker() as session:
        row = session.scalars(select(Customer).where(Customer.platform_id == str(customer["id"]))).one()
        assert row.first_name is None and row.email is None
        order = session.scalars(select(Order).where(Order.platform_id == str(orders[0]["id"]))).one()
        assert order.email is None and order.note_attributes is None and order.city is None


def test_customers_data_request_prepares_an_export_for_the_merchant(
    client: FlaskClient, shopify: ShopifyStandIn, installed: int, caplog: pytest.LogCaptureFixture
) -> None:
    customer, orders = _buyer_with_orders(shopify)
    payload = {
        "shop_id": shopify.store.shop["id"],
        "shop_domain": shopify.store.domain,
        "orders_requested": [o["id"] for o in orders],
        "customer": {"id": customer["id"], "email": customer["email"], "phone": customer["phone"]},
        "data_request": {"id": 9999},
    }
    with caplog.at_level(logging.INFO):
        assert deliver(client, shopify, "customers/data_request", payload).status_code == 200
    assert customer["email"] not in caplog.text  # the log says an export is ready, not what is in it
    database = app_database(client.application)
    with database.sessionmaker() as session:
        record = session.scalars(select(PrivacyRequest)).one()
        assert (record.kind, record.request_id, record.status) == ("data_request", "9999", "completed")
        export = record.export
        assert export is not None and export["customer"]["email"] == customer["email"]
        assert {o["order_id"] for o in export["orders"]} == {str(o["id"]) for o in orders}
        assert all(o["lines"] for o in export["orders"])
    # A later redaction of the same customer erases the export too.
    redact = {"shop_domain": shopify.store.domain, "customer": {"id": customer["id"]}, "orders_to_redact": []}
    deliver(client, shopify, "customers/redact", redact)
    with database.sessionmaker() as session:
        kinds = {r.kind: r.export for r in session.scalars(select(PrivacyRequest))}
        assert kinds == {"data_request": None, "customer_redact": None}


def test_shop_redact_deletes_everything_of_the_shop(
    client: FlaskClient, shopify: ShopifyStandIn, installed: int
) -> None:
    database = app_database(client.application)
    deliver(
        client, shopify, "app/uninstalled", {"id": shopify.store.shop["id"], "domain": shopify.store.domain}
    )
    payload = {"shop_id": shopify.store.shop["id"], "shop_domain": shopify.store.domain}
    assert deliver(client, shopify, "shop/redact", payload).get_json() == {"status": "accepted"}
    with database.sessionmaker() as session:
        for model in (Shop, Order, OrderLine, Customer, Product, SyncState, JobRun, WebhookDelivery):
            assert session.scalar(select(func.count()).select_from(model)) == 0, model.__name__
    # Shopify may repeat it: acknowledged, nothing to do.
    assert deliver(client, shopify, "shop/redact", payload).get_json() == {"status": "ignored"}


def test_app_uninstalled_revokes_the_token_and_stops_the_shops_jobs(
    client: FlaskClient, shopify: ShopifyStandIn, installed: int
) -> None:
    database = app_database(client.application)
    with database.session() as session:  # a sync that was queued when the merchant uninstalled
        session.add(
            JobRun(
                id="sync-queued",
                shop_id=installed,
                kind="sync",
                func=SHOPIFY_SYNC,
                queue="sync",
                status="queued",
                progress=0.0,
                args={},
                created_at=datetime.now(UTC),
            )
        )
    deliver(
        client, shopify, "app/uninstalled", {"id": shopify.store.shop["id"], "domain": shopify.store.domain}
    )
    with database.sessionmaker() as session:
        shop = session.get(Shop, installed)
        assert shop is not None and not shop.is_active and shop.uninstalled_at is not None
        assert shop.access_token_enc is None and shop.refresh_token_enc is None
        run = session.get(JobRun, "sync-queued")
        assert run is not None and run.status == "cancelled" and "uninstalled" in (run.error or "")
        assert session.scalar(select(func.count()).select_from(Order)) == len(shopify.store.orders)  # kept
    token = current_inprocess_run.set(InProcessRun(database, "test-tick"))
    try:
        assert all(shop_id != installed for shop_id, _ in due_work(datetime.now(UTC)))
    finally:
        current_inprocess_run.reset(token)
    assert run_job(client.application, SHOPIFY_SYNC, installed, "sync") == {
        "skipped": "the shop is not an installed Shopify shop"
    }
