"""The GraphQL client against the stand-in: throttling, retries, timeouts, token refresh, errors,
and ShopifyAPI's session state never outliving a call."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
import shopify

from connectors.shopify.client import GraphQLClient, StaticToken
from connectors.shopify.errors import AuthError, Permanent, RateLimited, Transient
from connectors.shopify.streams import OrdersStream
from tests.shopify_standin import ShopifyStandIn, Store

SECRET = "client-test-secret-0123456789abcd"


@pytest.fixture(scope="module")
def store() -> Store:
    return Store.generate(80, seed=4)


@pytest.fixture
def standin(store: Store) -> Iterator[ShopifyStandIn]:
    with ShopifyStandIn(store, "key", SECRET, restore_rate=1e6) as s:
        yield s


def client_for(standin: ShopifyStandIn, **options: object) -> tuple[GraphQLClient, list[float]]:
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        time.sleep(seconds)

    options.setdefault("sleep", sleep)
    options.setdefault("backoff_s", 0.01)
    client = GraphQLClient(
        standin.store.domain, standin.issue_token(), admin_origin=standin.origin, **options
    )
    return client, sleeps


def test_throttled_queries_wait_as_long_as_the_bucket_needs_and_succeed(standin: ShopifyStandIn) -> None:
    client, sleeps = client_for(standin)
    client.query("shop")
    standin.restore_rate = 2000.0
    standin.throttle_next(2)
    data = client.query("orders_page", {"first": 10})
    assert len(data["orders"]["nodes"]) == 10
    assert client.stats.throttled == 2 and len(sleeps) == 2
    assert all(0.3 < s < 0.6 for s in sleeps)  # (882 requested - 0 available) / 2000 a second, plus jitter


def test_the_client_waits_before_the_bucket_runs_dry(standin: ShopifyStandIn) -> None:
    standin.bucket_max = standin.available = 1000.0
    standin.restore_rate = 4000.0
    client = GraphQLClient(standin.store.domain, standin.issue_token(), admin_origin=standin.origin)
    pages = list(OrdersStream(client).pages(None, None))
    assert sum(len(p.items) for p in pages) == len(standin.store.orders)
    assert client.stats.throttled == 0 and standin.stats["throttled"] == 0
    assert client.stats.waited_s > 0  # it paused for the bucket instead of being refused


def test_throttled_beyond_the_retries_is_rate_limited(standin: ShopifyStandIn) -> None:
    client, _ = client_for(standin, throttle_retries=2)
    standin.throttle_next(3)
    with pytest.raises(RateLimited):
        client.query("shop")


def test_429_is_retried_after_retry_after(standin: ShopifyStandIn) -> None:
    client, sleeps = client_for(standin)
    standin.fail_next(429)
    assert client.query("shop")["shop"]["name"]
    assert client.stats.throttled == 1 and 0.05 <= sleeps[0] < 0.06


@pytest.mark.parametrize("fault", ["500", "503", "drop", "hang"])
def test_server_errors_and_lost_connections_are_retried(standin: ShopifyStandIn, fault: str) -> None:
    client, sleeps = client_for(standin, timeout=0.5)
    if fault == "drop":
        standin.drop_next(2)
    elif fault == "hang":
        standin.hang_next(1.5)
    else:
        standin.fail_next(int(fault), times=2)
    assert client.query("shop")["shop"]["name"] == standin.store.shop["name"]
    assert client.stats.retries == (1 if fault == "hang" else 2) and len(sleeps) == client.stats.retries


def test_retries_are_bounded_and_the_error_names_the_request(standin: ShopifyStandIn) -> None:
    client, sleeps = client_for(standin, retries=3)
    standin.fail_next(502, times=5)
    with pytest.raises(Transient, match=r"answered 502 \(Shopify request id [0-9a-f-]{36}\)"):
        client.query("shop")
    assert len(sleeps) == 3 and sleeps == sorted(sleeps)  # exponential back-off


def test_a_refused_token_is_refreshed_once(standin: ShopifyStandIn) -> None:
    class Rotating:
        def __init__(self) -> None:
            self.current = "shpat_revoked"
            self.refreshed: list[str] = []

        def token(self) -> str:
            return self.current

        def refresh(self, stale: str) -> str:
            self.refreshed.append(stale)
            self.current = standin.issue_token()
            return self.current

    tokens = Rotating()
    client = GraphQLClient(standin.store.domain, tokens, admin_origin=standin.origin, sleep=lambda s: None)
    assert client.query("shop")["shop"]["name"]
    assert tokens.refreshed == ["shpat_revoked"] and client.stats.refreshed == 1
    with pytest.raises(AuthError, match="cannot be refreshed"):
        GraphQLClient(standin.store.domain, StaticToken("shpat_bad"), admin_origin=standin.origin).query(
            "shop"
        )


def test_forbidden_and_rejected_queries_are_not_retried(standin: ShopifyStandIn) -> None:
    client, sleeps = client_for(standin)
    standin.fail_next(403)
    with pytest.raises(AuthError, match="denied access"):
        client.query("shop")
    with pytest.raises(Permanent, match="Cannot query field"):
        client.execute("{ shop { nope } }")
    with pytest.raises(Permanent, match="exceeds the single query max cost"):
        client.execute("{ orders(first: 250) { nodes { id lineItems(first: 250) { nodes { id } } } } }")
    assert sleeps == [] and client.stats.retries == 0


def test_shopifyapi_session_state_never_outlives_a_call(standin: ShopifyStandIn) -> None:
    tokens = [standin.issue_token() for _ in range(4)]
    errors: list[BaseException] = []

    def work(token: str) -> None:
        try:
            client = GraphQLClient(standin.store.domain, token, admin_origin=standin.origin)
            for _ in range(5):
                client.query("shop")
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    standin.seen_tokens.clear()
    threads = [threading.Thread(target=work, args=(t,)) for t in tokens]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    assert sorted(standin.seen_tokens) == sorted(
        t for t in tokens for _ in range(5)
    )  # each call its own token
    assert shopify.ShopifyResource.get_site() is None
    assert "X-Shopify-Access-Token" not in shopify.ShopifyResource.get_headers()
