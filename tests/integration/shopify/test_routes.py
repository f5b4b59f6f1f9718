"""Every Shopify route refuses forged, missing and stale signatures and then changes nothing."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from cvo_plugin import create_app
from cvo_plugin.models import JobRun, Shop
from cvo_plugin.services.shopify_install import order_history_limited, order_history_notice
from tests.conftest import app_overrides, table_snapshot
from tests.integration.shopify.conftest import API_KEY, _redirect_of, app_database, install
from tests.shopify_standin import ShopifyStandIn

DAY = 24 * 3600
FORGED_SECRET = "not-the-secret-but-long-enough-0123456789"


def _callback_query(client: FlaskClient, shopify: ShopifyStandIn) -> dict[str, str]:
    """Start an install in this browser and return the callback query Shopify would send."""
    response = client.get("/shopify/install?" + urlencode(shopify.install_query()))
    assert response.status_code == 302
    return {k: v[0] for k, v in parse_qs(urlsplit(_redirect_of(response.headers["Location"])).query).items()}


def _refused(client: FlaskClient, database: Any, request: Any, status: int, code: str) -> None:
    before = table_snapshot(database)
    response = request()
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.get_json()["error"] == code
    assert table_snapshot(database) == before


# --- install ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("case", "status", "code"),
    [
        ("missing", 401, "invalid_signature"),
        ("forged", 401, "invalid_signature"),
        ("tampered", 401, "invalid_signature"),
        ("stale", 401, "invalid_signature"),
        ("not_myshopify", 400, "invalid_shop"),
    ],
)
def test_install_refuses_bad_requests(
    client: FlaskClient, shopify: ShopifyStandIn, case: str, status: int, code: str
) -> None:
    query = shopify.install_query()
    if case == "missing":
        query.pop("hmac")
    elif case == "forged":
        query = shopify.sign_query({k: v for k, v in query.items() if k != "hmac"}, secret="not-the-secret")
    elif case == "tampered":
        query["shop"] = "someone-else.myshopify.com"
    elif case == "stale":
        query = shopify.sign_query(
            {"shop": shopify.store.domain, "timestamp": str(int(time.time()) - 2 * DAY)}
        )
    elif case == "not_myshopify":
        query = shopify.sign_query({"shop": "evil.example.com", "timestamp": str(int(time.time()))})
    database = app_database(client.application)
    _refused(client, database, lambda: client.get("/shopify/install?" + urlencode(query)), status, code)
    assert "cvo_shopify_oauth" not in (client.get_cookie("cvo_shopify_oauth") or "")


def test_install_sends_the_merchant_to_approve_the_app_with_a_browser_bound_state(
    client: FlaskClient, shopify: ShopifyStandIn
) -> None:
    response = client.get("/shopify/install?" + urlencode(shopify.install_query()))
    assert response.status_code == 302
    target = urlsplit(response.headers["Location"])
    query = {k: v[0] for k, v in parse_qs(target.query).items()}
    assert target.path == "/admin/oauth/authorize"
    assert query["client_id"] == API_KEY and query["redirect_uri"] == "http://127.0.0.1:5000/shopify/callback"
    assert set(query["scope"].split(",")) == {
        "read_orders",
        "read_all_orders",
        "read_customers",
        "write_customers",
        "read_products",
    }
    assert len(query["state"]) == 32 and int(query["state"], 16) >= 0  # hex: signs the same in every library
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/shopify" in cookie
    assert query["state"] not in cookie  # signed, not the bare nonce


# --- callback -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("case", "status", "code"),
    [
        ("missing", 401, "invalid_signature"),
        ("forged", 401, "invalid_signature"),
        ("stale", 401, "invalid_signature"),
        ("state_mismatch", 403, "invalid_state"),
        ("other_browser", 403, "invalid_state"),
        ("other_shop", 403, "invalid_state"),
    ],
)
def test_callback_refuses_bad_requests(
    client: FlaskClient, shopify: ShopifyStandIn, case: str, status: int, code: str
) -> None:
    query = _callback_query(client, shopify)
    unsigned = {k: v for k, v in query.items() if k != "hmac"}
    if case == "missing":
        query = unsigned
    elif case == "forged":
        query = shopify.sign_query(unsigned, secret="not-the-secret")
    elif case == "stale":
        query = shopify.sign_query({**unsigned, "timestamp": str(int(time.time()) - 2 * DAY)})
    elif case == "state_mismatch":
        query = shopify.sign_query({**unsigned, "state": "0" * 32})
    elif case == "other_browser":
        client.delete_cookie("cvo_shopify_oauth", path="/shopify")
    elif case == "other_shop":
        query = shopify.sign_query({**unsigned, "shop": "another-shop.myshopify.com"})
    database = app_database(client.application)
    _refused(client, database, lambda: client.get("/shopify/callback?" + urlencode(query)), status, code)
    assert shopify.stats["grants"] == 0  # no code was exchanged


def test_a_replayed_callback_is_refused_and_changes_nothing(
    client: FlaskClient, shopify: ShopifyStandIn
) -> None:
    query = _callback_query(client, shopify)
    assert client.get("/shopify/callback?" + urlencode(query)).status_code == 302
    database = app_database(client.application)
    # The same signed callback again (the cookie is gone, and the code is single-use anyway).
    _refused(
        client, database, lambda: client.get("/shopify/callback?" + urlencode(query)), 403, "invalid_state"
    )


def test_a_grant_without_the_needed_scopes_is_refused(client: FlaskClient, shopify: ShopifyStandIn) -> None:
    shopify.granted_scopes[:] = ["read_orders", "read_products"]
    query = _callback_query(client, shopify)
    database = app_database(client.application)
    before = table_snapshot(database)
    response = client.get("/shopify/callback?" + urlencode(query))
    assert response.status_code == 403
    assert (
        response.get_json()["error"] == "missing_scopes"
        and "read_customers" in response.get_json()["message"]
    )
    assert table_snapshot(database) == before


def test_without_read_all_orders_the_shop_is_installed_and_the_admin_is_told(
    client: FlaskClient, shopify: ShopifyStandIn
) -> None:
    shopify.granted_scopes.remove("read_all_orders")
    shop_id = install(client, shopify)
    with app_database(client.application).sessionmaker() as session:
        shop = session.get(Shop, shop_id)
        assert shop is not None and order_history_limited(shop)
        assert "60 days" in (order_history_notice(shop) or "")


def test_reinstall_updates_the_shop_instead_of_adding_one(
    client: FlaskClient, shopify: ShopifyStandIn
) -> None:
    from tests.integration.shopify.conftest import deliver

    shop_id = install(client, shopify)
    deliver(client, shopify, "app/uninstalled", {"id": 1, "domain": shopify.store.domain})
    database = app_database(client.application)
    with database.sessionmaker() as session:
        shop = session.get(Shop, shop_id)
        assert shop is not None and not shop.is_active and shop.access_token_enc is None
    assert install(client, shopify) == shop_id
    with database.sessionmaker() as session:
        assert session.scalar(select(func.count()).select_from(Shop)) == 1
        shop = session.get(Shop, shop_id)
        assert shop is not None and shop.is_active and shop.uninstalled_at is None
        assert shop.access_token_enc is not None


# --- token exchange -----------------------------------------------------------------------------


def test_token_exchange_installs_an_embedded_shop(client: FlaskClient, shopify: ShopifyStandIn) -> None:
    token = shopify.session_token()
    response = client.post("/shopify/token-exchange", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert (
        body["shop"] == shopify.store.domain
        and body["new"] is True
        and body["order_history_limited"] is False
    )
    assert shopify.stats["exchanges"] == 1
    database = app_database(client.application)
    with database.sessionmaker() as session:
        assert session.scalars(select(JobRun.kind).where(JobRun.status == "finished")).all()
    # A second load finds the shop installed and asks Shopify nothing.
    again = client.post(
        "/shopify/token-exchange", headers={"Authorization": f"Bearer {shopify.session_token()}"}
    )
    assert again.get_json()["new"] is False and shopify.stats["exchanges"] == 1


@pytest.mark.parametrize("case", ["missing", "forged", "expired", "wrong_audience", "not_bearer"])
def test_token_exchange_refuses_bad_session_tokens(
    client: FlaskClient, shopify: ShopifyStandIn, case: str
) -> None:
    now = int(time.time())
    headers = {
        "missing": {},
        "forged": {"Authorization": f"Bearer {shopify.session_token(secret=FORGED_SECRET)}"},
        "expired": {"Authorization": f"Bearer {shopify.session_token(exp=now - 120, nbf=now - 180)}"},
        "wrong_audience": {"Authorization": f"Bearer {shopify.session_token(audience='another-app')}"},
        "not_bearer": {"Authorization": f"Basic {shopify.session_token()}"},
    }[case]
    code = "missing_session_token" if case in ("missing", "not_bearer") else "invalid_session_token"
    database = app_database(client.application)
    _refused(client, database, lambda: client.post("/shopify/token-exchange", headers=headers), 401, code)
    assert shopify.stats["exchanges"] == 0


# --- webhooks -----------------------------------------------------------------------------------


def _webhook(client: FlaskClient, body: bytes, headers: dict[str, str]) -> Any:
    return client.post("/shopify/webhooks", data=body, headers=headers)


@pytest.mark.parametrize("case", ["missing", "forged", "other_body", "empty"])
def test_webhooks_with_bad_signatures_are_refused_and_store_nothing(
    client: FlaskClient, shopify: ShopifyStandIn, case: str
) -> None:
    shop_id = install(client, shopify)
    order = next(iter(shopify.store.orders.values()))
    from tests.shopify_standin.render import rest_order

    body, headers = shopify.webhook(
        "orders/updated", {**rest_order(shopify.store, order), "email": "x@evil.test"}
    )
    if case == "missing":
        headers.pop("X-Shopify-Hmac-Sha256")
    elif case == "forged":
        body, headers = shopify.webhook(
            "orders/updated", rest_order(shopify.store, order), secret="not-the-secret"
        )
    elif case == "other_body":  # a valid signature of an earlier delivery, replayed with a new body
        old_body, old_headers = shopify.webhook("orders/updated", rest_order(shopify.store, order))
        headers["X-Shopify-Hmac-Sha256"] = old_headers["X-Shopify-Hmac-Sha256"]
    elif case == "empty":
        headers["X-Shopify-Hmac-Sha256"] = ""
    database = app_database(client.application)
    _refused(client, database, lambda: _webhook(client, body, headers), 401, "invalid_signature")
    assert shop_id


def test_webhook_input_errors_are_clear_and_store_nothing(
    client: FlaskClient, shopify: ShopifyStandIn
) -> None:
    install(client, shopify)
    database = app_database(client.application)
    body, headers = shopify.webhook("orders/updated", {"id": 1})
    broken = b'{"id": 1,'
    _, broken_headers = shopify.webhook("orders/updated", {})
    import base64
    import hashlib
    import hmac

    broken_headers["X-Shopify-Hmac-Sha256"] = base64.b64encode(
        hmac.new(shopify.api_secret.encode(), broken, hashlib.sha256).digest()
    ).decode()
    _refused(client, database, lambda: _webhook(client, broken, broken_headers), 400, "invalid_json")
    without_id = {k: v for k, v in headers.items() if k not in ("X-Shopify-Webhook-Id", "X-Shopify-Event-Id")}
    _refused(client, database, lambda: _webhook(client, body, without_id), 400, "invalid_webhook")
    huge_body, huge_headers = shopify.webhook("orders/updated", {"id": 1, "note": "x" * (3 * 1024 * 1024)})
    before = table_snapshot(database)
    assert _webhook(client, huge_body, huge_headers).status_code == 413
    assert table_snapshot(database) == before


def test_a_webhook_for_an_unknown_shop_is_acknowledged_and_not_applied(
    client: FlaskClient, shopify: ShopifyStandIn
) -> None:
    body, headers = shopify.webhook(
        "customers/redact", {"shop_domain": shopify.store.domain, "customer": {"id": 1}}
    )
    response = _webhook(client, body, headers)
    assert response.status_code == 200 and response.get_json() == {"status": "ignored"}


def test_every_route_answers_503_without_shopify_credentials(database_url: str, tmp_path: Path) -> None:
    app: Flask = create_app(
        app_overrides(database_url, tmp_path / "i", SHOPIFY_API_KEY="", SHOPIFY_API_SECRET="")
    )
    try:
        client = app.test_client()
        for method, path in (
            ("get", "/shopify/install?shop=x.myshopify.com"),
            ("get", "/shopify/callback"),
            ("post", "/shopify/webhooks"),
            ("post", "/shopify/token-exchange"),
        ):
            response = getattr(client, method)(path)
            assert response.status_code == 503
            assert response.get_json()["error"] == "shopify_not_configured"
            assert "SHOPIFY_API_KEY" in response.get_json()["message"]
    finally:
        app.extensions["cvo"]["db"].dispose()
