"""The widget API: answers, caching, and every refusal (signatures, origins, shops, limits)."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, select

from cvo_plugin import create_app
from cvo_plugin.db import Database
from cvo_plugin.models import Product, Shop, WidgetEvent
from cvo_plugin.security import proxy_message
from cvo_plugin.services.widget.holdout import EXPOSED, HOLDOUT, arm_of
from tests.conftest import app_overrides, table_snapshot
from tests.integration.widget.conftest import WidgetShop, set_widget, shop_with_crosssells

SECRET = "test-api-secret-0123456789abcdef"  # the test apps' SHOPIFY_API_SECRET


def away_from_a_minute_boundary() -> None:
    """Limits count per minute: start a counting test well inside one."""
    if time.time() % 60 > 50:
        time.sleep(61 - time.time() % 60)


def get(client: FlaskClient, shop: WidgetShop, **params: Any) -> Any:
    return client.get("/widget/v1/recommendations?" + urlencode({"shop": shop.key, **params}))


def signed(params: dict[str, Any], secret: str = SECRET, timestamp: float | None = None) -> str:
    """An app proxy query as Shopify signs it."""
    values = {k: [str(v)] for k, v in params.items()}
    values["timestamp"] = [str(int(time.time() if timestamp is None else timestamp))]
    signature = hmac.new(secret.encode(), proxy_message(values).encode(), hashlib.sha256).hexdigest()
    return urlencode({**{k: v[0] for k, v in values.items()}, "signature": signature})


@pytest.fixture
def client(widget_app: Flask) -> FlaskClient:
    return widget_app.test_client()


def test_a_product_page_gets_its_block_with_what_the_widget_shows(
    client: FlaskClient, widget_shop: WidgetShop
) -> None:
    response = get(client, widget_shop, product_id="dripper", limit=2)
    assert response.status_code == 200
    body = response.get_json()
    assert (body["enabled"], body["arm"], body["placement"], body["currency"]) == (
        True,
        EXPOSED,
        "product",
        "USD",
    )
    assert body["product"]["variant_id"] == "dripper-1" and body["product"]["price"] == "29.00"
    assert body["items"] == [
        {
            "product_id": "filters",
            "variant_id": "filters-1",
            "title": "Paper Filters",
            "price": "7.00",
            "compare_at_price": "14.00",
            "image_url": "https://cdn.example/filters.png",
            "url": "/products/filters",
            "available": True,
            "label": "Frequently bought together",
        },
        {
            "product_id": "kettle",
            "variant_id": "kettle-1",
            "title": "Gooseneck Kettle",
            "price": "79.00",
            "compare_at_price": None,
            "image_url": "https://cdn.example/kettle.png",
            "url": "/products/kettle",
            "available": True,
            "label": "Frequently bought together",
        },
    ]
    assert response.headers["Cache-Control"].startswith("public, max-age=")
    assert response.headers["Vary"] == "Origin"
    etag = response.headers["ETag"]
    again = get(client, widget_shop, product_id="dripper", limit=2)
    assert again.headers["ETag"] == etag and again.data == response.data
    not_modified = client.get(
        "/widget/v1/recommendations?"
        + urlencode({"shop": widget_shop.key, "product_id": "dripper", "limit": 2}),
        headers={"If-None-Match": etag},
    )
    assert not_modified.status_code == 304 and not_modified.data == b""
    assert not_modified.headers["ETag"] == etag


def test_a_cart_gets_add_ons_and_unknown_cart_products_are_left_out(
    client: FlaskClient, widget_shop: WidgetShop
) -> None:
    body = get(client, widget_shop, cart="dripper,not-synced-yet").get_json()
    assert body["placement"] == "cart" and body["product"] is None
    ids = [i["product_id"] for i in body["items"]]
    assert ids[:2] == ["filters", "kettle"] and "dripper" not in ids
    # Sold-out, draft, archived and unpublished products are never offered.
    assert not {"soldout", "draft", "archived", "unlisted"} & set(ids)
    assert get(client, widget_shop, cart="nobody-knows").get_json()["items"] == []


@pytest.mark.parametrize(
    ("params", "status", "code"),
    [
        ({"shop": None, "product_id": "dripper"}, 400, "missing_shop"),
        ({"shop": "dripper", "product_id": "dripper"}, 400, "missing_shop"),
        ({"shop": "pk_unknown", "product_id": "dripper"}, 404, "unknown_shop"),
        ({"product_id": ""}, 400, "missing_product"),
        ({"product_id": "x" * 65}, 400, "missing_product"),
        ({"product_id": "nothing-like-it"}, 404, "unknown_product"),
        ({"product_id": "dripper", "limit": "0"}, 400, "invalid_limit"),
        ({"product_id": "dripper", "limit": "many"}, 400, "invalid_limit"),
        ({"cart": ",".join(f"p{i}" for i in range(51))}, 400, "invalid_cart"),
    ],
)
def test_bad_requests_get_clear_json_errors(
    client: FlaskClient, widget_shop: WidgetShop, params: dict[str, str], status: int, code: str
) -> None:
    query = {"shop": widget_shop.key, **params}
    response = client.get(
        "/widget/v1/recommendations?" + urlencode({k: v for k, v in query.items() if v is not None})
    )
    assert response.status_code == status
    body = response.get_json()
    assert body["error"] == code and body["message"]


def test_only_the_shops_own_storefronts_get_cors(
    client: FlaskClient, database: Database, widget_app: Flask, widget_shop: WidgetShop
) -> None:
    with database.session() as session:
        shop = session.get(Shop, widget_shop.id)
        assert shop is not None
        shop.settings = {**shop.settings, "widget_origins": ["https://coffee.example"]}
    other = shop_with_crosssells(database, "other.example")
    with database.session() as session:
        shop = session.get(Shop, other.id)
        assert shop is not None
        shop.settings = {**shop.settings, "widget_origins": ["https://other.example"]}
    widget_app.extensions["cvo"]["widget"].directory.forget()

    own = client.get(
        "/widget/v1/recommendations?" + urlencode({"shop": widget_shop.key, "product_id": "dripper"}),
        headers={"Origin": "https://coffee.example"},
    )
    assert own.status_code == 200
    assert own.headers["Access-Control-Allow-Origin"] == "https://coffee.example"
    # Another shop's storefront (or any other site) may not read this shop's answers.
    for origin in ("https://other.example", "https://evil.example", "http://coffee.example"):
        refused = client.get(
            "/widget/v1/recommendations?" + urlencode({"shop": widget_shop.key, "product_id": "dripper"}),
            headers={"Origin": origin},
        )
        assert refused.status_code == 403, origin
        assert refused.get_json()["error"] == "origin_not_allowed"
        assert "Access-Control-Allow-Origin" not in refused.headers
        beacon = client.post(
            f"/widget/v1/events?shop={widget_shop.key}",
            data=b'{"anon":"abcdefgh","events":[{"kind":"click","product":"filters"}]}',
            headers={"Origin": origin},
        )
        assert beacon.status_code == 403


def test_the_app_proxy_checks_shopifys_signature(
    client: FlaskClient, database: Database, widget_app: Flask
) -> None:
    shop = shop_with_crosssells(database, "coffee-lab.myshopify.com")
    with database.session() as session:
        row = session.get(Shop, shop.id)
        assert row is not None
        row.platform = "shopify"
    widget_app.extensions["cvo"]["widget"].directory.forget()
    base = {
        "shop": shop.domain,
        "logged_in_customer_id": "",
        "path_prefix": "/apps/cvo",
        "product_id": "dripper",
    }

    ok = client.get("/proxy/recommendations?" + signed(base))
    assert ok.status_code == 200, ok.get_json()
    assert [i["product_id"] for i in ok.get_json()["items"]][:2] == ["filters", "kettle"]
    assert client.get("/proxy/widget.js?" + signed({"shop": shop.domain})).status_code == 200

    forged = client.get("/proxy/recommendations?" + signed(base, secret="not-the-app-secret"))
    assert forged.status_code == 401 and forged.get_json()["error"] == "invalid_signature"
    stale = client.get("/proxy/recommendations?" + signed(base, timestamp=time.time() - 600))
    assert stale.status_code == 401 and "stale" in stale.get_json()["message"]
    tampered = signed(base).replace("product_id=dripper", "product_id=kettle")
    assert client.get("/proxy/recommendations?" + tampered).status_code == 401
    unsigned = client.get("/proxy/recommendations?" + urlencode({**base, "timestamp": int(time.time())}))
    assert unsigned.status_code == 401
    twice = signed(base) + "&shop=" + shop.domain
    assert client.get("/proxy/recommendations?" + twice).status_code == 401
    # Signed, but for a shop that has not installed the app.
    unknown = client.get("/proxy/recommendations?" + signed({**base, "shop": "nobody.myshopify.com"}))
    assert unknown.status_code == 404 and unknown.get_json()["error"] == "unknown_shop"
    not_shopify = client.get("/proxy/recommendations?" + signed({**base, "shop": "demo-coffee.example"}))
    assert not_shopify.status_code == 400

    before = table_snapshot(database)
    body = b'{"anon":"abcdefgh1","events":[{"kind":"impression","source":"dripper","product":"filters"}]}'
    refused = client.post("/proxy/events?" + signed({"shop": shop.domain}, secret="forged"), data=body)
    assert refused.status_code == 401 and table_snapshot(database) == before
    accepted = client.post("/proxy/events?" + signed({"shop": shop.domain}), data=body)
    assert accepted.status_code == 202 and accepted.get_json()["stored"] == 1


def test_the_widget_switch_and_the_holdout(
    client: FlaskClient, database: Database, widget_app: Flask, widget_shop: WidgetShop
) -> None:
    set_widget(database, widget_shop.id, holdout_share=0.5)
    widget_app.extensions["cvo"]["widget"].directory.forget()
    anons = [f"visitor-{i:05d}" for i in range(400)]
    arms = {a: arm_of(widget_shop.key, a, 0.5) for a in anons}
    assert 0.4 < sum(arm == HOLDOUT for arm in arms.values()) / len(anons) < 0.6
    held = next(a for a in anons if arms[a] == HOLDOUT)
    shown = next(a for a in anons if arms[a] == EXPOSED)
    body = get(client, widget_shop, product_id="dripper", anon=held).get_json()
    assert (body["arm"], body["items"]) == (HOLDOUT, [])
    assert get(client, widget_shop, product_id="dripper", anon=shown).get_json()["items"]

    set_widget(database, widget_shop.id, enabled=False)
    widget_app.extensions["cvo"]["widget"].directory.forget()
    off = get(client, widget_shop, product_id="dripper", anon=shown).get_json()
    assert (off["enabled"], off["items"]) == (False, [])


def test_events_are_stored_once_and_only_for_the_shops_products(
    client: FlaskClient, database: Database, widget_shop: WidgetShop
) -> None:
    other = shop_with_crosssells(database, "other.example")
    with database.session() as session:
        # A product only the other shop has.
        session.add(Product(shop_id=other.id, platform_id="theirs-only", title="Not ours"))

    def beacon(shop: WidgetShop, events: list[dict[str, Any]], anon: str = "visitor-0001") -> Any:
        return client.post(
            f"/widget/v1/events?shop={shop.key}", data=json.dumps({"anon": anon, "events": events})
        )

    events = [
        {"kind": "impression", "placement": "product", "source": "dripper", "product": "filters"},
        {"kind": "impression", "placement": "product", "source": "dripper", "product": "filters"},
        {"kind": "click", "placement": "product", "source": "dripper", "product": "theirs-only"},
        {"kind": "add_to_cart", "placement": "cart", "source": "theirs-only", "product": "kettle"},
    ]
    first = beacon(widget_shop, events)
    assert first.status_code == 202
    assert first.get_json() == {"received": 4, "stored": 1, "duplicates": 1, "dropped": 2}
    again = beacon(widget_shop, events[:1])
    assert again.get_json() == {"received": 1, "stored": 0, "duplicates": 1, "dropped": 0}
    other_anon = beacon(widget_shop, events[:1], anon="visitor-0002")
    assert other_anon.get_json()["stored"] == 1
    with database.session() as session:
        rows = session.execute(select(WidgetEvent.shop_id, WidgetEvent.product_id)).all()
    assert rows == [(widget_shop.id, "filters"), (widget_shop.id, "filters")]

    before = table_snapshot(database)
    for bad in (
        b"not json",
        b'{"anon":"x","events":[{"kind":"click","product":"filters"}]}',
        b'{"anon":"visitor-0001","events":[]}',
        b'{"anon":"visitor-0001","events":[{"kind":"purchase","product":"filters"}]}',
        b'{"anon":"visitor-0001","events":[{"kind":"click","product":"filters","placement":"footer"}]}',
    ):
        response = client.post(f"/widget/v1/events?shop={widget_shop.key}", data=bad)
        assert response.status_code == 400, bad
        assert response.get_json()["error"] in ("invalid_json", "invalid_events")
    assert client.post("/widget/v1/events?shop=pk_nobody", data=b"{}").status_code == 404
    assert table_snapshot(database) == before


def test_rate_limits_per_address_and_per_shop(
    database_url: str, tmp_path: Path, widget_shop: WidgetShop
) -> None:
    away_from_a_minute_boundary()
    app = create_app(app_overrides(database_url, tmp_path / "a", WIDGET_RATE_LIMIT_IP=3))
    client = app.test_client()
    codes = [get(client, widget_shop, product_id="dripper").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    refused = get(client, widget_shop, product_id="dripper")
    assert refused.get_json()["error"] == "rate_limited"
    assert 1 <= int(refused.headers["Retry-After"]) <= 61
    other_address = client.get(
        "/widget/v1/recommendations?" + urlencode({"shop": widget_shop.key, "product_id": "dripper"}),
        environ_base={"REMOTE_ADDR": "10.1.2.3"},
    )
    assert other_address.status_code == 200
    app.extensions["cvo"]["db"].dispose()

    per_shop = create_app(app_overrides(database_url, tmp_path / "b", WIDGET_RATE_LIMIT_SHOP=2))
    client = per_shop.test_client()
    codes = [
        client.get(
            "/widget/v1/recommendations?" + urlencode({"shop": widget_shop.key, "product_id": "dripper"}),
            environ_base={"REMOTE_ADDR": f"10.0.0.{i}"},
        ).status_code
        for i in range(3)
    ]
    assert codes == [200, 200, 429]
    per_shop.extensions["cvo"]["db"].dispose()


@pytest.mark.redis
def test_redis_shares_the_cache_and_the_limits_between_processes(
    database_url: str, tmp_path: Path, widget_shop: WidgetShop, redis_url: str
) -> None:
    away_from_a_minute_boundary()
    first = create_app(
        app_overrides(database_url, tmp_path / "a", REDIS_URL=redis_url, WIDGET_RATE_LIMIT_IP=5)
    )
    second = create_app(
        app_overrides(database_url, tmp_path / "b", REDIS_URL=redis_url, WIDGET_RATE_LIMIT_IP=5)
    )
    answer = get(first.test_client(), widget_shop, product_id="dripper")
    assert answer.status_code == 200
    from redis import Redis

    assert Redis.from_url(redis_url).keys("cvo:widget:*")

    statements: list[str] = []
    engine = second.extensions["cvo"]["db"].engine
    event.listen(engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    client = second.test_client()
    assert get(client, widget_shop, product_id="kettle").status_code == 200  # loads the shop
    statements.clear()
    cached = get(client, widget_shop, product_id="dripper")
    assert cached.data == answer.data and cached.headers["ETag"] == answer.headers["ETag"]
    assert statements == []  # served from Redis: no database work at all
    # Both processes count against one limit of 5: three requests so far, the sixth is refused.
    codes = [get(client, widget_shop, product_id="dripper").status_code for _ in range(4)]
    assert codes == [200, 200, 429, 429]
    for app in (first, second):
        app.extensions["cvo"]["db"].dispose()


def test_without_redis_the_api_answers_from_the_database(
    database_url: str, tmp_path: Path, widget_shop: WidgetShop
) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here once the socket is closed
    app = create_app(app_overrides(database_url, tmp_path / "a", REDIS_URL=f"redis://127.0.0.1:{port}/0"))
    client = app.test_client()
    started = time.monotonic()
    for product in ("dripper", "kettle", "dripper"):
        response = get(client, widget_shop, product_id=product)
        assert response.status_code == 200 and response.get_json()["items"]
    assert time.monotonic() - started < 5
    app.extensions["cvo"]["db"].dispose()


def test_a_hung_redis_costs_milliseconds_not_seconds(
    database_url: str, tmp_path: Path, widget_shop: WidgetShop
) -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)  # accepts connections (the kernel does) and never answers
    port = listener.getsockname()[1]
    try:
        app = create_app(app_overrides(database_url, tmp_path / "a", REDIS_URL=f"redis://127.0.0.1:{port}/0"))
        client = app.test_client()
        started = time.monotonic()
        for product in ("dripper", "kettle", "dripper", "grinder"):
            assert get(client, widget_shop, product_id=product).status_code == 200
        assert time.monotonic() - started < 2.0
        app.extensions["cvo"]["db"].dispose()
    finally:
        listener.close()


def test_the_script_is_served_small_and_cacheable(client: FlaskClient, widget_shop: WidgetShop) -> None:
    plain = client.get("/widget/v1/widget.js")
    assert plain.status_code == 200 and plain.mimetype == "application/javascript"
    assert b"cvo" in plain.data
    zipped = client.get("/widget/v1/widget.js", headers={"Accept-Encoding": "gzip, br"})
    assert zipped.headers["Content-Encoding"] == "gzip" and len(zipped.data) < 15 * 1024
    again = client.get("/widget/v1/widget.js", headers={"If-None-Match": plain.headers["ETag"]})
    assert again.status_code == 304
