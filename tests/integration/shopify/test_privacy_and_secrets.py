"""End to end through the HTTP routes with real signatures: install, backfill, computations and
webhooks, with every log record captured at DEBUG; then the compliance webhooks.

- no secret (app secret, access and refresh tokens, Fernet key, session secret) is in the logs
  or stored in clear in any column of any table; tokens decrypt from their encrypted columns;
- `customers/redact`: the customer's e-mail and phone are in no column of any table afterwards
  (computed tables and exports included), while the shop's other data stays;
- `shop/redact`: no row of the shop is left in any table with a `shop_id`, another shop untouched.
"""

from __future__ import annotations

import logging

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from cvo_plugin.crypto import TokenBox
from cvo_plugin.models import AnalyticsSnapshot, Customer, Shop
from tests.conftest import TOKEN_KEY
from tests.integration.security.scan import find_in_database, leaks, rows_of_shop
from tests.integration.shopify.conftest import API_SECRET, app_database, deliver, install
from tests.shopify_standin import ShopifyStandIn
from tests.shopify_standin.render import rest_order


def _other_shop(client: FlaskClient) -> int:
    with app_database(client.application).session() as session:
        shop = Shop(platform="csv", domain="bystander.example", settings={})
        session.add(shop)
        session.flush()
        session.add(Customer(shop_id=shop.id, platform_id="c1", email="bystander@example.com"))
        return shop.id


def test_secrets_stay_out_of_logs_and_storage_and_compliance_webhooks_erase(
    client: FlaskClient, shopify: ShopifyStandIn, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    database = app_database(client.application)
    bystander = _other_shop(client)
    shop_id = install(client, shopify)  # OAuth, setup job, backfill, computations (in-process)
    with database.sessionmaker() as session:
        assert session.scalars(select(AnalyticsSnapshot).where(AnalyticsSnapshot.shop_id == shop_id)).first()
    store = shopify.store
    order = next(iter(store.orders.values()))
    store.update_order(order["id"], note_attributes=[("gift", "yes")])
    assert deliver(client, shopify, "orders/updated", rest_order(store, order)).status_code == 200
    token = shopify.session_token()
    assert (
        client.post("/shopify/token-exchange", headers={"Authorization": f"Bearer {token}"}).status_code
        == 200
    )

    settings = client.application.extensions["cvo"]["settings"]
    secrets = [API_SECRET, TOKEN_KEY, settings.secret_key, token]
    secrets += list(shopify.tokens) + list(shopify.refresh_tokens.values())
    assert len(secrets) >= 5
    assert not leaks(caplog.text, secrets), "a secret was logged"
    assert not find_in_database(database, secrets), "a secret is stored in clear"
    with database.sessionmaker() as session:
        shop = session.get(Shop, shop_id)
        assert shop is not None and shop.access_token_enc is not None
        assert TokenBox(TOKEN_KEY).decrypt(shop.access_token_enc) in shopify.tokens  # encrypted at rest

    # customers/redact: gone from every column of every table
    buyer = store.customers[store.buyers()[0]]
    personal = [buyer["email"], buyer["phone"]]
    assert find_in_database(database, personal), "the buyer's data should be stored before the erasure"
    orders = [o["id"] for o in store.orders.values() if o["customer_id"] == buyer["id"]]
    redact = {"shop_domain": store.domain, "customer": {"id": buyer["id"]}, "orders_to_redact": orders}
    assert deliver(client, shopify, "customers/redact", redact).status_code == 200
    assert find_in_database(database, personal) == []
    assert rows_of_shop(database, shop_id)["orders"] == len(store.orders)  # anonymous orders stay

    # shop/redact: nothing of the shop is left anywhere, the other shop is untouched
    bystander_rows = rows_of_shop(database, bystander)
    deliver(client, shopify, "app/uninstalled", {"id": store.shop["id"], "domain": store.domain})
    payload = {"shop_id": store.shop["id"], "shop_domain": store.domain}
    assert deliver(client, shopify, "shop/redact", payload).get_json() == {"status": "accepted"}
    assert rows_of_shop(database, shop_id) == {}
    assert rows_of_shop(database, bystander) == bystander_rows
    assert not leaks(caplog.text, secrets + personal), "a secret or the erased data was logged"
