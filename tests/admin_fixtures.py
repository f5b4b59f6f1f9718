"""Helpers of the admin tests: App Bridge session tokens and the demo store as a Shopify shop."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import jwt
from sqlalchemy import select

from cvo_plugin.config import Settings
from cvo_plugin.db import Database
from cvo_plugin.models import Shop
from cvo_plugin.services.demo import build_demo_store
from cvo_plugin.tasks import TaskQueue, enqueue_compute
from tests.conftest import app_overrides

API_KEY = app_overrides("", Path("."))["SHOPIFY_API_KEY"]
API_SECRET = app_overrides("", Path("."))["SHOPIFY_API_SECRET"]
SHOPIFY_DOMAIN = "demo-coffee.myshopify.com"
OTHER_DOMAIN = "other-shop.myshopify.com"


def session_token(
    domain: str = SHOPIFY_DOMAIN,
    *,
    secret: str = API_SECRET,
    audience: str = API_KEY,
    ttl: int = 60,
    **claims: Any,
) -> str:
    """An App Bridge session token as Shopify makes it: HS256 with the app secret, one minute."""
    now = int(time.time())
    body = {
        "iss": f"https://{domain}/admin",
        "dest": f"https://{domain}",
        "aud": audience,
        "sub": "42",
        "exp": now + ttl,
        "nbf": now - 1,
        "iat": now,
        "jti": str(uuid.uuid4()),
        "sid": "session-1",
        **claims,
    }
    return jwt.encode(body, secret, algorithm="HS256")


@dataclass(frozen=True)
class AdminShops:
    shop_id: int  # the demo store, installed from Shopify
    other_id: int  # another installed Shopify shop, with data of its own
    as_of: date


def demo_shops(database: Database, directory: Path, customers: int = 500, other: bool = True) -> AdminShops:
    """The demo store computed twice (30 days apart, so segment moves exist) and made a Shopify
    shop; and another Shopify shop with a small computed store of its own."""
    settings = Settings.from_env({"CVO_ENV": "testing", "DATABASE_URL": database.url, "REDIS_URL": ""})
    queue = TaskQueue(settings, database)
    store = build_demo_store(database, directory / "demo", customers=customers, seed=11)
    today = date.today()
    with database.session() as session:
        shop = session.get(Shop, store.shop_id)
        assert shop is not None
        shop.platform, shop.domain = "shopify", SHOPIFY_DOMAIN
    enqueue_compute(queue, store.shop_id, as_of=(today - timedelta(days=30)).isoformat())
    enqueue_compute(queue, store.shop_id, as_of=today.isoformat())
    other_id = -1
    if other:
        second = build_demo_store(database, directory / "other", customers=80, seed=5)
        with database.session() as session:
            other_shop = session.scalars(select(Shop).where(Shop.id == second.shop_id)).one()
            other_shop.platform, other_shop.domain, other_shop.name = "shopify", OTHER_DOMAIN, "Other Shop"
        enqueue_compute(queue, second.shop_id)
        other_id = second.shop_id
    return AdminShops(store.shop_id, other_id, today)
