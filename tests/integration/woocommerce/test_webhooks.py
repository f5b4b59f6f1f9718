"""Webhooks: signature, creation ping, creates/updates/deletes, duplicates, stale updates, bad input."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from sqlalchemy import func, select

from cvo_plugin.crypto import TokenBox
from cvo_plugin.models import Shop, WebhookDelivery
from tests.conftest import table_snapshot
from tests.integration.woocommerce.conftest import Live, assert_identical
from tests.woocommerce_standin import ApiKey, CertificateFiles, StandIn, Store, generate_store, sign
from tests.woocommerce_standin.compare import expected_state


@pytest.fixture
def store() -> Store:
    return generate_store(orders=40, products=12, seed=3)


@pytest.fixture
def shop(woo: StandIn, key: ApiKey, live: Live) -> Iterator[int]:
    result = live.connect(woo, key)
    assert result.sync_error is None
    yield result.shop_id


def _secret(live: Live, shop_id: int) -> tuple[str, str]:
    with live.database.session() as session:
        row = session.get(Shop, shop_id)
        assert row is not None
        secret = TokenBox(live.settings.token_encryption_key).decrypt(row.webhook_secret_enc)
        assert secret is not None
        return secret, f"{live.url}/woocommerce/webhooks/{row.public_key}"


def _post(
    url: str,
    body: bytes,
    topic: str = "order.updated",
    secret: str | None = None,
    delivery: str = "d-1",
    **headers: str,
) -> requests.Response:
    sent = {
        "Content-Type": "application/json",
        "X-WC-Webhook-Topic": topic,
        "X-WC-Webhook-Resource": topic.split(".")[0],
        "X-WC-Webhook-Event": topic.split(".")[1],
        "X-WC-Webhook-Delivery-ID": delivery,
        "X-WC-Webhook-ID": "1",
        **headers,
    }
    if secret is not None:
        sent["X-WC-Webhook-Signature"] = sign(body, secret)
    return requests.post(url, data=body, headers=sent, timeout=10)


def _deliveries(live: Live) -> int:
    with live.database.session() as session:
        return int(session.scalar(select(func.count()).select_from(WebhookDelivery)) or 0)


def _one(deliveries: list[Any]) -> Any:
    assert len(deliveries) == 1
    delivery = deliveries[0]
    assert delivery.status == 200, delivery.response
    return json.loads(delivery.response)


def test_creates_updates_and_deletes_arrive_and_match_the_store(woo: StandIn, live: Live, shop: int) -> None:
    store = woo.store
    orders = sorted(store.orders)
    simple = next(p for p in store.products.values() if p["type"] == "simple" and p["status"] == "publish")
    variable = next(p for p in store.products.values() if p["type"] == "variable")
    variation = variable["variations"][0]
    other_simple = next(p for p in store.products.values() if p["type"] == "simple" and p is not simple)
    customer = next(iter(store.customers))

    moved = {**store.orders[orders[0]]["billing"], "city": "Köln"}
    assert _one(woo.update_order(orders[0], status="completed", billing=moved))["status"] == "applied"
    guest = {**store.orders[orders[1]]["billing"], "email": "new@example.com"}
    new_order, sent = woo.create_order(orders[1], status="processing", customer_id=0, billing=guest)
    assert _one(sent) == {"status": "applied", "topic": "order.created", "id": str(new_order)}
    assert _one(woo.delete_order(orders[2]))["status"] == "applied"
    assert (
        _one(woo.update_product(simple["id"], regular_price=simple["regular_price"] + 1))["status"]
        == "applied"
    )
    assert (
        _one(
            woo.update_product(
                variation, stock=2, sale_price=store.variations[variation]["regular_price"] / 2
            )
        )["status"]
        == "applied"
    )
    assert _one(woo.delete_product(other_simple["id"]))["status"] == "applied"
    assert _one(woo.update_customer(customer, last_name="Renamed"))["status"] == "applied"
    assert_identical(woo, live, shop)

    # A new refund arrives as order.updated: the order's refunds and net revenue are right at
    # once; which line was refunded is only in orders/<id>/refunds, which the next sync reads.
    refunded = next(
        o for o in orders[3:] if not store.orders[o]["refunds"] and store.orders[o]["status"] == "completed"
    )
    assert _one(woo.refund_order(refunded))["status"] == "applied"
    line = store.orders[refunded]["lines"][0]["id"]
    differences = expected_state(store, woo.url).differences(live.state(shop))
    assert len(differences) == 1 and differences[0].startswith(f"lines ('{refunded}', '{line}')")
    live.sync(shop)
    assert_identical(woo, live, shop)


def test_a_duplicate_delivery_is_applied_once(woo: StandIn, live: Live, shop: int) -> None:
    order = next(iter(woo.store.orders))
    first = woo.update_order(order, status="on-hold")[0]
    before, count = table_snapshot(live.database), _deliveries(live)
    again = woo.redeliver(first)
    assert again.status == 200 and json.loads(again.response)["status"] == "duplicate"
    assert table_snapshot(live.database) == before and _deliveries(live) == count


def test_a_stale_update_is_ignored(woo: StandIn, live: Live, shop: int) -> None:
    secret, url = _secret(live, shop)
    order = next(iter(woo.store.orders.values()))
    payload = woo.payload("order.updated", order["id"])
    payload["status"], payload["date_modified_gmt"] = "cancelled", "2001-01-01T00:00:00"
    before = table_snapshot(live.database)
    answer = _post(url, json.dumps(payload).encode(), secret=secret, delivery="stale-1")
    assert answer.status_code == 200 and answer.json()["status"] == "unchanged"
    after = table_snapshot(live.database)
    assert {t: rows for t, rows in after.items() if t != "webhook_deliveries"} == {
        t: rows for t, rows in before.items() if t != "webhook_deliveries"
    }
    assert_identical(woo, live, shop)


def test_the_creation_ping_is_answered_and_stores_nothing(live: Live, shop: int) -> None:
    _, url = _secret(live, shop)
    before = table_snapshot(live.database)
    answer = requests.post(
        url, data="webhook_id=77", headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert answer.status_code == 200 and answer.json()["status"] == "ping"
    assert table_snapshot(live.database) == before


BAD_DELIVERIES = [
    ("forged signature", 401, "invalid_signature"),
    ("no signature", 401, "missing_signature"),
    ("broken JSON", 400, "malformed_json"),
    ("not an object", 400, "invalid_payload"),
    ("no id", 400, "invalid_payload"),
    ("bad line items", 400, "invalid_payload"),
    ("no delivery id", 400, "missing_delivery_id"),
    ("unknown shop", 404, "unknown_shop"),
    ("too large", 413, "payload_too_large"),
]


def test_bad_deliveries_are_refused_and_change_nothing(woo: StandIn, live: Live, shop: int) -> None:
    secret, url = _secret(live, shop)
    order = woo.payload("order.updated", next(iter(woo.store.orders)))
    good = json.dumps({**order, "status": "cancelled"}).encode()
    before = table_snapshot(live.database)
    for case, status, code in BAD_DELIVERIES:
        body, key, target, headers = good, secret, url, {}
        if case == "forged signature":
            key = "not-the-secret"
        elif case == "no signature":
            key = None
        elif case == "broken JSON":
            body = good[:-7]
        elif case == "not an object":
            body = b"[1, 2, 3]"
        elif case == "no id":
            body = json.dumps({k: v for k, v in order.items() if k != "id"}).encode()
        elif case == "bad line items":
            body = json.dumps({**order, "line_items": [{"id": 5, "quantity": "many"}]}).encode()
        elif case == "no delivery id":
            headers = {"X-WC-Webhook-Delivery-ID": ""}
        elif case == "unknown shop":
            target = url.rsplit("/", 1)[0] + "/pk_nobody"
        elif case == "too large":
            body = json.dumps({**order, "padding": "x" * (3 << 20)}).encode()
        answer = _post(target, body, secret=key, delivery=f"bad-{case}", **headers)
        assert (answer.status_code, answer.json()["error"]) == (status, code), (case, answer.text)
        assert answer.json()["message"], case
        assert table_snapshot(live.database) == before, case


def test_an_unsubscribed_topic_is_acknowledged_and_ignored(live: Live, shop: int) -> None:
    secret, url = _secret(live, shop)
    before = table_snapshot(live.database)
    answer = _post(url, b'{"id": 5, "code": "spring"}', topic="coupon.created", secret=secret)
    assert answer.status_code == 200 and answer.json()["status"] == "ignored"
    assert table_snapshot(live.database) == before


def test_a_delivery_signed_for_one_store_is_refused_by_another(
    woo: StandIn, live: Live, shop: int, certs: CertificateFiles
) -> None:
    with StandIn(generate_store(orders=10, products=4, seed=99), certs) as other:
        second = live.connect(other, other.add_key())
        assert second.sync_error is None and second.shop_id != shop
        secret_a, url_a = _secret(live, shop)
        secret_b, url_b = _secret(live, second.shop_id)
        assert secret_a != secret_b
        order_b = next(iter(other.store.orders))
        body = json.dumps({**other.payload("order.updated", order_b), "status": "cancelled"}).encode()
        before = table_snapshot(live.database)
        answer = _post(url_b, body, secret=secret_a, delivery="cross-1")
        assert answer.status_code == 401 and answer.json()["error"] == "invalid_signature"
        assert table_snapshot(live.database) == before
        # Delivery ids are per store: the same id from both stores is applied in both.
        for standin, url, secret in ((woo, url_a, secret_a), (other, url_b, secret_b)):
            customer = next(iter(standin.store.customers))
            standin.update_customer(customer, deliver=False, last_name="Same-Id")
            payload = standin.payload("customer.updated", customer)
            answer = _post(
                url, json.dumps(payload).encode(), topic="customer.updated", secret=secret, delivery="same"
            )
            assert answer.json()["status"] == "applied"
        assert_identical(woo, live, shop)
        assert_identical(other, live, second.shop_id)
