"""Fixtures of the Shopify connector's tests: a stand-in shop on loopback and an app pointed at it."""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from cvo_plugin import create_app
from cvo_plugin.db import Database
from cvo_plugin.models import Shop
from cvo_plugin.runtime import get_settings
from cvo_plugin.tasks import TaskQueue
from tests.conftest import app_overrides
from tests.shopify_standin import ShopifyStandIn, Store

API_KEY = "test-api-key"
API_SECRET = "test-api-secret-0123456789abcdef"


@pytest.fixture
def store() -> Store:
    return Store.generate(40, seed=11)


@pytest.fixture
def shopify(store: Store) -> Iterator[ShopifyStandIn]:
    with ShopifyStandIn(store, API_KEY, API_SECRET, restore_rate=100_000) as standin:
        yield standin


@pytest.fixture
def shopify_app(database_url: str, tmp_path: Path, shopify: ShopifyStandIn) -> Iterator[Flask]:
    app = create_app(app_overrides(database_url, tmp_path / "instance", SHOPIFY_ADMIN_ORIGIN=shopify.origin))
    yield app
    app.extensions["cvo"]["db"].dispose()


@pytest.fixture
def client(shopify_app: Flask) -> FlaskClient:
    return shopify_app.test_client()


def app_database(app: Flask) -> Database:
    return app.extensions["cvo"]["db"]


def task_queue(app: Flask) -> TaskQueue:
    """The app's task queue (in-process: jobs run in the caller with the app's settings)."""
    with app.app_context():
        return TaskQueue(get_settings(), app_database(app))


def run_job(app: Flask, func: str, shop_id: int, kind: str, **kwargs: Any) -> Any:
    """Run a job in-process, the way the app does without Redis; returns its result."""
    return task_queue(app).enqueue(func, shop_id, kind=kind, kwargs=kwargs).result


def install(client: FlaskClient, shopify: ShopifyStandIn) -> int:
    """Install the app on the stand-in's shop through the whole OAuth flow; the shop's id."""
    response = client.get("/shopify/install?" + urlencode(shopify.install_query()))
    assert response.status_code == 302, response.get_json()
    authorize = response.headers["Location"]
    assert authorize.startswith(shopify.origin + "/admin/oauth/authorize?")
    callback = _redirect_of(authorize)
    parts = urlsplit(callback)
    assert parts.path == "/shopify/callback"
    response = client.get(f"{parts.path}?{parts.query}")
    assert response.status_code == 302, response.get_json()
    assert response.headers["Location"] == f"https://{shopify.store.domain}/admin/apps/{API_KEY}"
    with app_database(client.application).sessionmaker() as session:
        return session.scalars(select(Shop.id).where(Shop.domain == shopify.store.domain)).one()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def _redirect_of(url: str) -> str:
    """Where the stand-in's authorize page sends the merchant's browser."""
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        opener.open(url, timeout=10)
    except urllib.error.HTTPError as exc:
        assert exc.code == 302
        return exc.headers["Location"]
    raise AssertionError("the authorize page did not redirect")


def deliver(
    client: FlaskClient, shopify: ShopifyStandIn, topic: str, payload: dict[str, Any], **kw: Any
) -> Any:
    """Post a signed webhook to the app, as Shopify would (the topic must be subscribed)."""
    if topic not in ("customers/data_request", "customers/redact", "shop/redact"):
        uri = shopify.api.subscribed(topic)
        assert uri is not None, f"the app did not subscribe to {topic}"
        assert urlsplit(uri).path == "/shopify/webhooks"
    body, headers = shopify.webhook(topic, payload, **kw)
    return client.post("/shopify/webhooks", data=body, headers=headers)
