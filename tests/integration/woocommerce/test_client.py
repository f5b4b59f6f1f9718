"""The REST client against the stand-in: pages, retries with backoff, clear errors, no secrets shown."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest

from connectors.woocommerce.client import (
    AuthError,
    CertificateError,
    InsecureStoreURL,
    NotFound,
    RateLimited,
    RetryPolicy,
    Transient,
    WooClient,
    normalize_store_url,
)
from connectors.woocommerce.streams import OrderStream
from tests.woocommerce_standin import ApiKey, StandIn, Store, generate_store


@pytest.fixture
def store() -> Store:
    return generate_store(orders=250, products=8, seed=1)


def _client(woo: StandIn, key: ApiKey, sleeps: list[float], **policy: float) -> WooClient:
    retry = RetryPolicy(**{"max_retries": 5, "base_s": 0.5, "cap_s": 4.0, **policy})  # type: ignore[arg-type]
    return WooClient(
        woo.url, key.key, key.secret, ca_bundle=woo.ca_bundle, retry=retry, sleep=sleeps.append, seed=1
    )


@pytest.mark.parametrize(
    ("typed", "url"),
    [
        ("shop.example.com", "https://shop.example.com"),
        ("HTTPS://Shop.Example.com/", "https://shop.example.com"),
        ("https://example.com/store/?utm=1#x", "https://example.com/store"),
        ("https://example.com:443/Shop", "https://example.com/Shop"),
        ("https://127.0.0.1:8443", "https://127.0.0.1:8443"),
    ],
)
def test_store_urls_are_normalized(typed: str, url: str) -> None:
    assert normalize_store_url(typed) == url


@pytest.mark.parametrize("typed", ["http://shop.example.com", "HTTP://shop.example.com/"])
def test_plain_http_store_urls_are_refused(typed: str) -> None:
    with pytest.raises(InsecureStoreURL, match="plain HTTP"):
        normalize_store_url(typed)


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "ftp://shop.example.com",
        "https://",
        "https://user:pw@shop.example.com",
        "https://shop example.com",
        "https://shop.example.com:99999",
    ],
)
def test_junk_store_urls_are_refused(typed: str) -> None:
    with pytest.raises(ValueError):
        normalize_store_url(typed)


def test_pages_are_read_until_total_pages(woo: StandIn, key: ApiKey) -> None:
    client = _client(woo, key, [])
    pages = list(client.iter_pages("orders", {"orderby": "id", "order": "asc"}))
    assert [(p.page, len(p.items), p.total, p.total_pages) for p in pages] == [
        (1, 100, 250, 3),
        (2, 100, 250, 3),
        (3, 50, 250, 3),
    ]
    ids = [item["id"] for page in pages for item in page.items]
    assert ids == sorted(woo.store.orders)
    assert all(r.params["per_page"] == "100" and r.auth == "basic" for r in woo.requests)


def test_a_429_storm_is_waited_out_with_bounded_backoff(woo: StandIn, key: ApiKey) -> None:
    sleeps: list[float] = []
    woo.fail("429", 5)
    assert len(_client(woo, key, sleeps).get("orders")) == 10
    assert [r.status for r in woo.requests] == [429] * 5 + [200]
    # 0.5 * 2**n jittered to 50-100 %, capped at 4 s.
    for attempt, delay in enumerate(sleeps):
        bound = min(4.0, 0.5 * 2**attempt)
        assert bound / 2 <= delay <= bound
    woo.requests.clear()
    sleeps.clear()
    woo.fail("429", 2, retry_after="3")
    _client(woo, key, sleeps).get("orders")
    assert sleeps == [3.0, 3.0]  # the store's Retry-After wins


def test_rate_limits_that_do_not_end_give_up_with_a_clear_error(woo: StandIn, key: ApiKey) -> None:
    sleeps: list[float] = []
    woo.fail("429", 50)
    with pytest.raises(RateLimited, match="HTTP 429 too_many_requests: Too many requests") as caught:
        _client(woo, key, sleeps, max_retries=3).get("orders")
    assert len(sleeps) == 3 and caught.value.status == 429
    woo.fail("429", 1, retry_after="3600")  # asks for an hour: give up now, the job retries later
    with pytest.raises(RateLimited):
        _client(woo, key, sleeps).get("orders")


def test_server_errors_and_dropped_connections_are_retried(woo: StandIn, key: ApiKey) -> None:
    sleeps: list[float] = []
    client = _client(woo, key, sleeps)
    woo.fail("500", 2)
    woo.fail("drop", 2, match=lambda r: r.route == "orders")
    orders = client.list_page("orders", {}, 1)
    assert len(orders.items) == 100 and len(sleeps) == 4
    assert [r.status for r in woo.requests] == [500, 500, 200, 200, 200]  # the drops were cut mid-body
    woo.fail("500", 10)
    with pytest.raises(Transient, match="HTTP 500 internal_server_error"):
        _client(woo, key, [], max_retries=2).get("orders")


def test_auth_errors_stop_at_once_with_woocommerces_code_and_message(woo: StandIn, key: ApiKey) -> None:
    sleeps: list[float] = []
    wrong = WooClient(woo.url, key.key, "cs_wrong", ca_bundle=woo.ca_bundle, sleep=sleeps.append)
    with pytest.raises(AuthError) as caught:
        wrong.get("orders")
    error = caught.value
    assert (error.status, error.code, error.message) == (
        401,
        "woocommerce_rest_authentication_error",
        "Consumer secret is invalid.",
    )
    assert (
        str(error) == "HTTP 401 woocommerce_rest_authentication_error: Consumer secret is invalid. (orders)"
    )
    assert sleeps == [] and len(woo.requests) == 1
    with pytest.raises(NotFound) as missing:
        _client(woo, key, []).get("orders/1")
    assert missing.value.code == "woocommerce_rest_shop_order_invalid_id"


def test_an_untrusted_certificate_is_refused(woo: StandIn, key: ApiKey) -> None:
    with pytest.raises(CertificateError, match="not trusted"):
        WooClient(woo.url, key.key, key.secret).get("")


def test_keys_never_show(woo: StandIn, key: ApiKey, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    woo.fail("429", 1)
    client = _client(woo, key, [])
    client.get("orders")
    with pytest.raises(AuthError) as caught:
        WooClient(woo.url, key.key, "cs_wrong", ca_bundle=woo.ca_bundle).get("orders")
    shown = caplog.text + repr(client) + str(caught.value)
    assert key.secret not in shown and "cs_wrong" not in shown and key.key not in shown


def test_a_pass_does_not_skip_records_when_the_store_changes_underneath(woo: StandIn, key: ApiKey) -> None:
    """Deleting records already read shifts later pages back; modifying them must not move them."""
    store = woo.store
    ids = sorted(store.orders)
    seen: list[int] = []
    pages = OrderStream(_client(woo, key, [])).pages(None, datetime.now(UTC))
    for number, page in enumerate(pages):
        seen += [int(b.order.platform_id) for b in page.bundles]
        if number == 0:
            for order in ids[:30]:  # deleted after the first page was read
                woo.delete_order(order, deliver=False)
            for order in ids[30:60]:  # modified after being read
                woo.update_order(order, deliver=False, status="completed")
    assert set(seen) >= set(store.orders) and len(set(seen)) == 250


def test_a_pass_resumes_from_its_checkpoint(woo: StandIn, key: ApiKey) -> None:
    client = _client(woo, key, [])
    now = datetime.now(UTC)
    first = next(iter(OrderStream(client).pages(None, now)))
    assert not first.finished and first.done == 100
    woo.requests.clear()
    rest = list(OrderStream(client).pages(first.cursor, now))
    assert [r.params["page"] for r in woo.requests if r.route == "orders"] == ["1", "2", "3"]
    assert rest[-1].finished and rest[-1].fraction == 1.0
    ids = {int(b.order.platform_id) for page in [first, *rest] for b in page.bundles}
    assert ids == set(woo.store.orders)
