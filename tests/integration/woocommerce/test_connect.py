"""Connecting a store: real key checks with clear messages, encrypted secrets, webhooks, backfill."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from cvo_plugin.crypto import TokenBox
from cvo_plugin.models import JobRun, Shop, SyncState
from cvo_plugin.services.woocommerce_connect import ConnectError, connect_woocommerce
from cvo_plugin.services.woocommerce_webhooks import TOPICS
from tests.conftest import table_snapshot
from tests.integration.woocommerce.conftest import Live, assert_identical
from tests.woocommerce_standin import ApiKey, StandIn


def test_connect_registers_webhooks_and_backfills_the_store(woo: StandIn, key: ApiKey, live: Live) -> None:
    result = live.connect(woo, key)
    assert result.created and result.sync_error is None
    assert result.sync is not None and result.sync.status == "finished"

    # Six webhooks, each pointing at this shop's address, signed with the shop's secret; each
    # was pinged on creation and the ping was answered 200.
    with live.database.session() as session:
        shop = session.get(Shop, result.shop_id)
        assert shop is not None
        assert (shop.platform, shop.domain, shop.currency) == ("woocommerce", woo.url.split("//")[1], "EUR")
        box = TokenBox(live.settings.token_encryption_key)
        assert box.decrypt(shop.api_secret_enc) == key.secret
        assert box.decrypt(shop.access_token_enc) == key.key
        assert key.secret.encode() not in bytes(shop.api_secret_enc or b"")
        secret = box.decrypt(shop.webhook_secret_enc)
        url = f"{live.url}/woocommerce/webhooks/{shop.public_key}"
    hooks = list(woo.store.webhooks.values())
    assert sorted(h["topic"] for h in hooks) == sorted(TOPICS)
    assert {h["delivery_url"] for h in hooks} == {url}
    assert {h["secret"] for h in hooks} == {secret}
    assert sorted(status for _, _, status in woo.pings) == [200] * 6
    assert result.webhooks == {h["topic"]: h["id"] for h in hooks}

    # The backfill read every page with the package's Basic auth and stored the whole store.
    pages = [r for r in woo.calls("orders") if r.route == "orders" and "page" in r.params]
    assert [r.params["page"] for r in pages] == ["1"]
    assert all(r.params["per_page"] == "100" and r.auth == "basic" for r in pages)
    assert all(r.params["orderby"] == "id" and "modified_after" not in r.params for r in pages)
    assert_identical(woo, live, result.shop_id)
    with live.database.session() as session:
        states = {s.resource: s for s in session.scalars(select(SyncState))}
        assert {r: s.status for r, s in states.items()} == dict.fromkeys(
            ("products", "customers", "orders"), "ok"
        )
        assert states["orders"].records_synced == len(woo.store.orders)
        run = session.scalars(select(JobRun).where(JobRun.kind == "sync")).one()
        assert (run.status, run.progress) == ("finished", 1.0)


def _refused(live: Live, url: str, key: str, secret: str, **settings: object) -> ConnectError:
    before = table_snapshot(live.database)
    with pytest.raises(ConnectError) as caught:
        connect_woocommerce(live.database, live.settings.replace(**settings), url, key, secret)
    assert table_snapshot(live.database) == before
    return caught.value


def test_plain_http_is_refused_before_any_call(woo: StandIn, key: ApiKey, live: Live) -> None:
    error = _refused(live, woo.url.replace("https://", "http://"), key.key, key.secret)
    assert error.field == "url" and "plain HTTP" in error.message and "https://" in error.message
    assert woo.requests == []


@pytest.mark.parametrize(
    ("kind", "field", "words"),
    [
        ("unknown key", "key", "did not accept these keys (Consumer key is invalid.)"),
        ("wrong secret", "secret", "did not accept these keys (Consumer secret is invalid.)"),
        ("read-only", "key", "These keys are read-only. The app needs Read/Write keys"),
        ("write-only", "key", "These keys are write-only"),
        ("subscriber", "key", "their WordPress user may not access orders"),
        ("malformed", "key", "A consumer key starts with ck_"),
    ],
)
def test_bad_keys_are_refused_with_a_clear_message(
    woo: StandIn, live: Live, kind: str, field: str, words: str
) -> None:
    good = woo.add_key()
    key, secret = {
        "unknown key": ("ck_" + "0" * 40, good.secret),
        "wrong secret": (good.key, "cs_" + "0" * 40),
        "read-only": (woo.add_key("read").key, None),
        "write-only": (woo.add_key("write").key, None),
        "subscriber": (woo.add_key(role="subscriber").key, None),
        "malformed": ("abc", good.secret),
    }[kind]
    secret = secret or woo.keys[key].secret
    error = _refused(live, woo.url, key, secret)
    assert error.field == field and words in error.message, error.message
    assert woo.store.webhooks == {}


@pytest.mark.parametrize(
    ("site", "words"),
    [
        ({"woocommerce_active": False}, "WordPress site without the WooCommerce REST API"),
        ({"wordpress": False}, "has no WordPress REST API at /wp-json/"),
    ],
)
def test_a_site_without_woocommerce_is_refused(
    live: Live, store: object, certs: object, site: dict[str, bool], words: str
) -> None:
    with StandIn(store, certs, **site) as other:  # type: ignore[arg-type]
        key = other.add_key()
        error = _refused(live, other.url, key.key, key.secret)
    assert error.field == "url" and words in error.message, error.message


def test_an_unreachable_or_untrusted_store_is_refused(woo: StandIn, key: ApiKey, live: Live) -> None:
    import socket

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    error = _refused(live, f"https://127.0.0.1:{closed}", key.key, key.secret)
    assert error.field == "url" and error.message.startswith("Could not reach https://127.0.0.1:")
    # Without the test CA, the stand-in's certificate is not trusted.
    error = _refused(live, woo.url, key.key, key.secret, woocommerce_ca_bundle=None)
    assert "certificate that cannot be verified" in error.message


def test_in_production_a_store_on_a_private_address_is_refused(woo: StandIn, key: ApiKey, live: Live) -> None:
    error = _refused(live, woo.url, key.key, key.secret, env="production")
    assert error.field == "url" and "private or local network address" in error.message
    assert woo.requests == []


def test_connecting_again_updates_the_shop_and_its_webhooks(woo: StandIn, key: ApiKey, live: Live) -> None:
    first = live.connect(woo, key)
    hooks = woo.store.webhooks
    # The merchant fiddled: a duplicate, a disabled webhook, and one left by an older shop address.
    updated = next(h for h in hooks.values() if h["topic"] == "order.updated")
    updated["status"] = "disabled"
    duplicate = {**updated, "id": 9001, "status": "active"}
    leftover = {**updated, "id": 9002, "delivery_url": f"{live.url}/woocommerce/webhooks/pk_old"}
    foreign = {**updated, "id": 9003, "delivery_url": "https://elsewhere.example/hook"}
    for hook in (duplicate, leftover, foreign):
        hooks[hook["id"]] = hook
    rotated = woo.add_key()

    again = live.connect(woo, rotated)
    assert (again.shop_id, again.created) == (first.shop_id, False)
    ours = [h for h in hooks.values() if h["delivery_url"] == updated["delivery_url"]]
    assert sorted(h["topic"] for h in ours) == sorted(TOPICS)
    assert all(h["status"] == "active" for h in ours)
    assert set(hooks) == {h["id"] for h in ours} | {9003}
    assert again.webhooks == first.webhooks
    with live.database.session() as session:
        assert len(session.scalars(select(Shop)).all()) == 1
        shop = session.get(Shop, first.shop_id)
        assert shop is not None
        assert TokenBox(live.settings.token_encryption_key).decrypt(shop.access_token_enc) == rotated.key
    assert_identical(woo, live, first.shop_id)


def test_cli_connects_and_reports(woo: StandIn, key: ApiKey, live: Live) -> None:
    from cvo_plugin.cli import cli

    runner = live.app.test_cli_runner()
    result = runner.invoke(
        cli, ["connect-woocommerce", "--url", woo.url, "--key", key.key, "--secret", key.secret]
    )
    assert result.exit_code == 0, result.output
    assert f"Connected {woo.url.split('//')[1]} (6 webhooks registered)." in result.output
    assert f"sync: {len(woo.store.orders):,} orders, {len(woo.store.customers):,} customers" in result.output
    bad = runner.invoke(
        cli, ["connect-woocommerce", "--url", "http://shop.example", "--key", key.key, "--secret", key.secret]
    )
    assert bad.exit_code == 1 and "plain HTTP" in bad.output


def _csrf(page: str) -> str:
    import re

    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found, "the form has a CSRF token"
    return found.group(1)


def test_the_connect_form(woo: StandIn, key: ApiKey, live: Live) -> None:
    client = live.app.test_client()
    assert client.get("/woocommerce/status").status_code == 401
    page = client.get("/woocommerce/connect")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "WooCommerce › Settings › Advanced › REST API" in html and 'name="secret"' in html
    token = _csrf(html)

    form = {"url": woo.url, "key": key.key, "secret": key.secret}
    assert client.post("/woocommerce/connect", data=form).status_code == 403  # no CSRF token

    before = table_snapshot(live.database)
    refused = client.post(
        "/woocommerce/connect", data={**form, "url": woo.url.replace("https", "http"), "csrf_token": token}
    )
    html = refused.get_data(as_text=True)
    assert refused.status_code == 400
    assert 'id="url-error"' in html and "plain HTTP" in html and key.secret not in html
    assert f'value="{key.key}"' in html  # what the merchant typed stays, except the secret
    assert table_snapshot(live.database) == before

    done = client.post("/woocommerce/connect", data={**form, "csrf_token": token})
    assert done.status_code == 303 and done.headers["Location"].endswith("/woocommerce/connected")
    page = client.get("/woocommerce/connected").get_data(as_text=True)
    assert "is connected" in page and "woocommerce-progress.js" in page
    status = client.get("/woocommerce/status").get_json()
    assert status["shop"] == woo.url.split("//")[1] and status["sync"]["status"] == "finished"
    assert status["sync"]["progress"] == 1.0 and len(status["webhooks"]) == 6
    orders = next(r for r in status["resources"] if r["resource"] == "orders")
    assert orders["status"] == "ok" and orders["records_synced"] == len(woo.store.orders)
