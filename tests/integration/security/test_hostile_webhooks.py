"""Hostile webhooks, correctly signed (the worst case: a leaked secret) and not: never a 5xx,
never a crashed job, a clear JSON error for what is refused, and hostile strings stored as data.

Each example goes through the HTTP route; without Redis the app applies the delivery at once
(Shopify: the webhook job runs in-process; WooCommerce: applied in the request), so the job's
behaviour on the payload is checked in the same step.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from cvo_plugin.models import JobRun, Order, WebhookDelivery, WebhookPayload
from tests.integration.security.conftest import Secured
from tests.integration.security.credentials import API_SECRET, WOO_ORDER, body_hmac
from tests.integration.security.hostile import mutated
from tests.shopify_standin import Store
from tests.shopify_standin.render import rest_customer, rest_order, rest_product

STORE = Store.generate(3, seed=3)
ORDER = rest_order(STORE, next(iter(STORE.orders.values())))
PRODUCT = rest_product(next(iter(STORE.products.values())))
CUSTOMER = rest_customer(next(iter(STORE.customers.values())))
BASES = {
    "orders/create": ORDER,
    "orders/updated": ORDER,
    "products/update": PRODUCT,
    "customers/update": CUSTOMER,
    "customers/redact": {"shop_domain": "x", "customer": {"id": 1}, "orders_to_redact": [1]},
    "customers/data_request": {"customer": {"id": 1}, "orders_requested": [1], "data_request": {"id": 2}},
}
EXAMPLES = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture], database=None
)
SEEN = {"shopify": 0, "woocommerce": 0}


def shopify_payloads() -> st.SearchStrategy[tuple[str, dict[str, Any]]]:
    return st.sampled_from(sorted(BASES)).flatmap(
        lambda topic: st.tuples(st.just(topic), mutated(BASES[topic], sorted(BASES[topic])))
    )


def _assert_json_error(response: Any) -> None:
    assert response.is_json, response.get_data(as_text=True)[:200]
    body = response.get_json()
    assert isinstance(body.get("error"), str) and isinstance(body.get("message"), str)
    # whatever of the request a message quotes stays inert: JSON, never sniffed as a page
    assert response.mimetype == "application/json"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


@given(case=shopify_payloads(), signed=st.booleans(), raw=st.one_of(st.none(), st.binary(max_size=64)))
@EXAMPLES
def test_hostile_shopify_webhooks(
    secured: Secured, case: tuple[str, Any], signed: bool, raw: bytes | None
) -> None:
    topic, payload = case
    shop = secured.tenants.shopify_a
    body = raw if raw is not None else json.dumps(payload).encode()
    headers = {
        "X-Shopify-Topic": topic,
        "X-Shopify-Shop-Domain": shop.domain,
        "X-Shopify-Webhook-Id": str(uuid.uuid4()),
        "Content-Type": "application/json",
        "X-Shopify-Hmac-Sha256": body_hmac(body, API_SECRET if signed else "wrong"),
    }
    response = secured.app.test_client().post("/shopify/webhooks", data=body, headers=headers)
    SEEN["shopify"] += 1
    assert response.status_code in (200, 400, 401), response.status_code
    if response.status_code != 200:
        _assert_json_error(response)
    with secured.database.sessionmaker() as session:
        # the in-process job applied or refused it: nothing waits, nothing crashed
        assert session.scalar(select(func.count()).select_from(WebhookPayload)) == 0
        failed = session.scalars(select(JobRun).where(JobRun.status == "failed")).all()
        assert not failed, [(r.kind, r.error) for r in failed]
        statuses = set(session.scalars(select(WebhookDelivery.status)))
        assert statuses <= {"applied", "failed", "ignored", "duplicate"}
        # tenant A's own order is intact (no injected statement removed or changed it)
        assert session.get(Order, shop.order_id) is not None


WOO_BASE = json.loads(WOO_ORDER)
WOO_TOPICS = ["order.created", "order.updated", "order.deleted", "product.updated", "customer.updated"]


@given(
    topic=st.sampled_from(WOO_TOPICS),
    payload=mutated(WOO_BASE, sorted(WOO_BASE)),
    signed=st.booleans(),
    key=st.one_of(st.none(), st.sampled_from(["'; DROP TABLE shops;--", "<b>", "x" * 70, "%00"])),
)
@EXAMPLES
def test_hostile_woocommerce_webhooks(
    secured: Secured, topic: str, payload: dict[str, Any], signed: bool, key: str | None
) -> None:
    shop = secured.tenants.woo_a
    body = json.dumps(payload).encode()
    headers = {
        "X-WC-Webhook-Topic": topic,
        "X-WC-Webhook-Delivery-ID": uuid.uuid4().hex,
        "Content-Type": "application/json",
        "X-WC-Webhook-Signature": body_hmac(body, shop.webhook_secret if signed else "wrong"),
    }
    before = _orders(secured)
    response = secured.app.test_client().post(
        f"/woocommerce/webhooks/{key or shop.public_key}", data=body, headers=headers
    )
    SEEN["woocommerce"] += 1
    assert response.status_code in (200, 400, 401, 404, 422), response.status_code
    if response.status_code != 200:
        _assert_json_error(response)
        assert _orders(secured) == before  # a refused delivery changes nothing
    with secured.database.sessionmaker() as session:
        assert session.get(Order, shop.order_id) is not None


def _orders(secured: Secured) -> list[tuple[Any, ...]]:
    with secured.database.sessionmaker() as session:
        return [
            tuple(r) for r in session.execute(select(Order.id, Order.platform_id, Order.email, Order.total))
        ]


def test_hostile_strings_are_stored_verbatim_as_data(secured: Secured) -> None:
    """SQL and markup in a genuine delivery land as plain text in their column."""
    nasty = "'; DROP TABLE orders; -- <script>alert(1)</script>"
    payload = dict(ORDER, id=424242, name="#" + nasty[:40], email=nasty + "@x.example")
    body = json.dumps(payload).encode()
    headers = {
        "X-Shopify-Topic": "orders/create",
        "X-Shopify-Shop-Domain": secured.tenants.shopify_a.domain,
        "X-Shopify-Webhook-Id": str(uuid.uuid4()),
        "X-Shopify-Hmac-Sha256": body_hmac(body, API_SECRET),
        "Content-Type": "application/json",
    }
    assert secured.app.test_client().post("/shopify/webhooks", data=body, headers=headers).status_code == 200
    with secured.database.sessionmaker() as session:
        stored = session.scalars(select(Order).where(Order.platform_id == "424242")).one()
        assert stored.email == nasty + "@x.example" and stored.name == "#" + nasty[:40]
        assert session.scalar(select(func.count()).select_from(Order)) == 6  # 5 tenants' + this one
