"""Install through OAuth, backfill through bulk exports, then live on webhooks and syncs: the
database ends identical to the stand-in's store."""

from __future__ import annotations

import copy

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from cvo_plugin.models import JobRun, Order, OrderLine, Shop, SyncState, WebhookDelivery, WebhookPayload
from cvo_plugin.tasks import SHOPIFY_SYNC
from tests.integration.shopify.conftest import app_database, deliver, install, run_job
from tests.shopify_standin import ShopifyStandIn, Store
from tests.shopify_standin.expected import assert_database_matches
from tests.shopify_standin.render import rest_customer, rest_order, rest_product, rest_refund


def _count(client: FlaskClient, model: type) -> int:
    with app_database(client.application).sessionmaker() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def _live_changes(client: FlaskClient, shopify: ShopifyStandIn) -> None:
    """Creates, updates, cancellations, refunds, product and customer changes, duplicates and a
    stale redelivery, all through signed webhooks."""
    store = shopify.store
    database = app_database(client.application)
    buyer = store.buyers()[0]
    created = store.create_order(customer_id=buyer)
    assert deliver(client, shopify, "orders/create", rest_order(store, created)).get_json() == {
        "status": "accepted"
    }

    target = next(iter(store.orders.values()))
    before = copy.deepcopy(rest_order(store, target))
    store.update_order(target["id"], email="new.address@example.com", note_attributes=[("gift", "yes")])
    body, headers = shopify.webhook("orders/updated", rest_order(store, target))
    first = client.post("/shopify/webhooks", data=body, headers=headers)
    again = client.post("/shopify/webhooks", data=body, headers=headers)  # the same delivery twice
    assert first.get_json() == {"status": "accepted"} and again.get_json() == {"status": "duplicate"}
    # An older state of the order arrives late (a retry): it must not overwrite the newer one.
    assert deliver(client, shopify, "orders/updated", before).status_code == 200

    cancelled = list(store.orders.values())[3]
    deliver(client, shopify, "orders/cancelled", rest_order(store, store.cancel_order(cancelled["id"])))

    refunded = list(store.orders.values())[5]
    line = refunded["line_items"][0]
    refund = store.refund(refunded["id"], line["id"], line["quantity"])
    deliver(client, shopify, "refunds/create", rest_refund(refunded, refund))

    product = next(p for p in store.products.values() if len(p["variants"]) > 1)
    store.update_product(product["id"], title=product["title"] + " (new label)", tags=["renamed"])
    deliver(client, shopify, "products/update", rest_product(product))

    customer = store.customers[buyer]
    store.update_customer(customer["id"], first_name="Renée", tags=["vip"])
    deliver(client, shopify, "customers/update", rest_customer(customer))

    with database.sessionmaker() as session:
        assert (
            session.scalar(select(func.count()).select_from(WebhookPayload)) == 0
        )  # all applied, bodies gone
        statuses = dict(
            session.execute(
                select(WebhookDelivery.status, func.count()).group_by(WebhookDelivery.status)
            ).all()
        )
    assert statuses == {"applied": 7}


def _quiet_changes_then_sync(client: FlaskClient, shopify: ShopifyStandIn, shop_id: int) -> dict:
    """Changes Shopify makes without a webhook reaching the app: the scheduled sync picks them
    up, through throttling, a 429, a 503 and a dropped connection."""
    store = shopify.store
    for order in list(store.orders.values())[10:40]:
        store.update_order(order["id"], financial_status="partially_paid")
    customer = list(store.customers.values())[-1]
    store.update_customer(customer["id"], last_name="Quiet-Change")
    shopify.throttle_next(2)
    shopify.fail_next(429)
    shopify.fail_next(503)
    shopify.drop_next()
    return run_job(client.application, SHOPIFY_SYNC, shop_id, "sync")


@pytest.mark.parametrize("orders", [150, pytest.param(20_000, marks=pytest.mark.slow)])
def test_install_backfill_webhooks_and_sync_leave_the_database_equal_to_the_store(
    database_url: str, tmp_path, orders: int
) -> None:
    from pathlib import Path

    from cvo_plugin import create_app
    from tests.conftest import app_overrides
    from tests.integration.shopify.conftest import API_KEY, API_SECRET

    store = Store.generate(orders, seed=3)
    with ShopifyStandIn(store, API_KEY, API_SECRET, restore_rate=100_000) as shopify:
        app = create_app(
            app_overrides(database_url, Path(tmp_path) / "i", SHOPIFY_ADMIN_ORIGIN=shopify.origin)
        )
        try:
            client = app.test_client()
            database = app_database(app)

            shop_id = install(client, shopify)  # OAuth, token, webhooks, backfill (in-process jobs)
            assert {s["topic"] for s in shopify.api.subscriptions.values()} >= {
                "ORDERS_CREATE",
                "ORDERS_UPDATED",
                "ORDERS_CANCELLED",
                "REFUNDS_CREATE",
                "PRODUCTS_UPDATE",
                "PRODUCTS_DELETE",
                "CUSTOMERS_UPDATE",
                "APP_UNINSTALLED",
                "BULK_OPERATIONS_FINISH",
            }
            assert len(shopify.api.bulk_ops) == 3
            with database.sessionmaker() as session:
                shop = session.get(Shop, shop_id)
                assert (
                    shop is not None
                    and shop.name == store.shop["name"]
                    and shop.timezone == "America/Chicago"
                )
                assert shop.access_token_enc is not None and b"shpat_" not in shop.access_token_enc
                states = {
                    s.resource: s
                    for s in session.scalars(select(SyncState).where(SyncState.shop_id == shop_id))
                }
                assert {r: (s.status, s.mode) for r, s in states.items()} == {
                    r: ("ok", "incremental") for r in ("orders", "customers", "products")
                }
                assert states["orders"].records_synced == orders
                runs = {r.kind: r.status for r in session.scalars(select(JobRun))}
                assert runs["sync"] == "finished" and runs["shopify-install"] == "finished"
            assert_database_matches(store, database, shop_id)
            assert _count(client, Order) == orders

            _live_changes(client, shopify)
            assert_database_matches(store, database, shop_id)

            result = _quiet_changes_then_sync(client, shopify, shop_id)
            assert result["mode"] == "incremental"
            assert result["stored"]["orders"] >= 30
            assert result["client"]["throttled"] >= 3 and result["client"]["retries"] >= 2
            assert shopify.stats["throttled"] >= 2
            assert_database_matches(store, database, shop_id)
            lines = sum(len(o["line_items"]) for o in store.orders.values())
            assert _count(client, OrderLine) == lines
        finally:
            app_database(app).dispose()
