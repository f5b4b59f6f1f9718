"""Expiring offline tokens: stored encrypted, refreshed before they lapse and on a 401, never
refreshed twice at once for one shop."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import text

from connectors.shopify.errors import AuthError
from connectors.shopify.oauth import AppCredentials, TokenGrant, grant_from_response, refresh_access_token
from cvo_plugin.crypto import TokenBox
from cvo_plugin.db import Database
from cvo_plugin.models import Shop
from cvo_plugin.runtime import get_settings
from cvo_plugin.services.shopify_tokens import ShopTokens, client_for, store_grant
from tests.conftest import TOKEN_KEY
from tests.integration.shopify.conftest import app_database
from tests.shopify_standin import ShopifyStandIn


def _shop_with_grant(database: Database, shopify: ShopifyStandIn, expiring: bool = True) -> tuple[int, str]:
    answer = shopify._grant(expiring)
    grant = grant_from_response(answer, answer["access_token"])
    with database.session() as session:
        shop = Shop(platform="shopify", domain=shopify.store.domain, name="t", settings={}, is_active=True)
        store_grant(shop, grant, TokenBox(TOKEN_KEY))
        session.add(shop)
        session.flush()
        return shop.id, answer["access_token"]


def _stored(database: Database, shop_id: int) -> Shop:
    with database.sessionmaker() as session:
        shop = session.get(Shop, shop_id)
        assert shop is not None
        return shop


def test_tokens_are_encrypted_at_rest(shopify_app: Flask, shopify: ShopifyStandIn) -> None:
    database = app_database(shopify_app)
    shop_id, token = _shop_with_grant(database, shopify)
    with database.engine.connect() as conn:
        raw = conn.execute(
            text("SELECT access_token_enc, refresh_token_enc FROM shops WHERE id = :i"), {"i": shop_id}
        ).one()
    assert token.encode() not in bytes(raw[0]) and b"shprt_" not in bytes(raw[1])
    assert TokenBox(TOKEN_KEY).decrypt(raw[0]) == token


def test_a_token_about_to_lapse_is_refreshed_first(shopify_app: Flask, shopify: ShopifyStandIn) -> None:
    database = app_database(shopify_app)
    shop_id, old = _shop_with_grant(database, shopify)
    with database.session() as session:
        shop = session.get(Shop, shop_id)
        assert shop is not None
        shop.access_token_expires_at = datetime.now(UTC) + timedelta(minutes=2)
    with shopify_app.app_context():
        client = client_for(database, get_settings(), shop_id)
    assert client.query("shop")["shop"]["myshopifyDomain"] == shopify.store.domain
    assert shopify.stats["refreshes"] == 1 and client.stats.refreshed == 0  # before the call, not after a 401
    stored = _stored(database, shop_id)
    new = TokenBox(TOKEN_KEY).decrypt(stored.access_token_enc)
    assert new != old and shopify.token_valid(new) and not shopify.token_valid(old)
    assert stored.access_token_expires_at is not None and stored.access_token_expires_at > datetime.now(
        UTC
    ) + timedelta(minutes=50)


def test_a_refused_token_is_refreshed_once_and_the_call_goes_through(
    shopify_app: Flask, shopify: ShopifyStandIn
) -> None:
    database = app_database(shopify_app)
    shop_id, _ = _shop_with_grant(database, shopify)
    shopify.expire_tokens()  # Shopify lets it lapse early; the app still thinks it is valid
    with shopify_app.app_context():
        client = client_for(database, get_settings(), shop_id)
    assert client.query("shop")["shop"]["name"] == shopify.store.shop["name"]
    assert client.stats.refreshed == 1 and shopify.stats["refreshes"] == 1


def test_two_workers_refreshing_one_shop_refresh_once(shopify_app: Flask, shopify: ShopifyStandIn) -> None:
    database = app_database(shopify_app)
    shop_id, stale = _shop_with_grant(database, shopify)
    calls: list[str] = []

    def slow_refresh(app: AppCredentials, shop: str, refresh_token: str) -> TokenGrant:
        calls.append(refresh_token)
        time.sleep(0.3)  # long enough for the other worker to arrive while this one refreshes
        return refresh_access_token(app, shop, refresh_token)

    with shopify_app.app_context():
        settings = get_settings()
    results: list[Any] = []
    barrier = threading.Barrier(2)

    def worker() -> None:
        tokens = ShopTokens(database, settings, shop_id, refresher=slow_refresh)
        barrier.wait()
        try:
            results.append(tokens.refresh(stale))
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            results.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(calls) == 1 and shopify.stats["refreshes"] == 1
    assert len(results) == 2 and results[0] == results[1] and isinstance(results[0], str)
    assert shopify.token_valid(results[0])


def test_without_a_refresh_token_a_refused_token_is_an_auth_error(
    shopify_app: Flask, shopify: ShopifyStandIn
) -> None:
    database = app_database(shopify_app)
    shop_id, _ = _shop_with_grant(database, shopify, expiring=False)
    shopify.expire_tokens()
    with shopify_app.app_context():
        client = client_for(database, get_settings(), shop_id)
    with pytest.raises(AuthError, match="no refresh token"):
        client.query("shop")


def test_an_expired_refresh_token_asks_the_merchant_to_authorise_again(
    shopify_app: Flask, shopify: ShopifyStandIn
) -> None:
    database = app_database(shopify_app)
    shop_id, _ = _shop_with_grant(database, shopify)
    with database.session() as session:
        shop = session.get(Shop, shop_id)
        assert shop is not None
        shop.access_token_expires_at = datetime.now(UTC) - timedelta(minutes=1)
        shop.refresh_token_expires_at = datetime.now(UTC) - timedelta(minutes=1)
    with shopify_app.app_context():
        tokens = ShopTokens(database, get_settings(), shop_id)
    with pytest.raises(AuthError, match="authorise it again"):
        tokens.token()
