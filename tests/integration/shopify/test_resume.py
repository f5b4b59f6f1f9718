"""A backfill killed half-way resumes where its last stored batch ended: no duplicates, no gaps."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select

from connectors.shopify.oauth import grant_from_response
from cvo_plugin.crypto import TokenBox
from cvo_plugin.db import Database
from cvo_plugin.models import Order, OrderLine, Shop, SyncState
from cvo_plugin.services.shopify_tokens import store_grant
from cvo_plugin.tasks import SHOPIFY_SYNC
from tests.conftest import TOKEN_KEY
from tests.integration.shopify.conftest import API_KEY, API_SECRET, app_database, run_job
from tests.shopify_standin import ShopifyStandIn, Store
from tests.shopify_standin.expected import assert_database_matches

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def store() -> Store:
    return Store.generate(1_500, seed=5)


def _installed_shop(database: Database, shopify: ShopifyStandIn) -> int:
    """A shop that holds a token from the stand-in, as after an install (without the backfill)."""
    with database.session() as session:
        shop = Shop(platform="shopify", domain=shopify.store.domain, name="x", settings={}, is_active=True)
        grant = grant_from_response(
            {"scope": "read_orders,read_all_orders,read_customers,read_products"},
            shopify.issue_token(expiring=False),
        )
        store_grant(shop, grant, TokenBox(TOKEN_KEY))
        session.add(shop)
        session.flush()
        return shop.id


def _orders_state(database: Database, shop_id: int) -> dict | None:
    with database.sessionmaker() as session:
        state = session.scalars(
            select(SyncState).where(SyncState.shop_id == shop_id, SyncState.resource == "orders")
        ).first()
        return dict(state.extra or {}) if state else None


def _counts(database: Database) -> tuple[int, int]:
    with database.sessionmaker() as session:
        orders = session.scalar(select(func.count()).select_from(Order)) or 0
        lines = session.scalar(select(func.count()).select_from(OrderLine)) or 0
    return int(orders), int(lines)


SYNC_IN_A_CHILD = """
import sys
from cvo_plugin.config import Settings
from cvo_plugin.db import Database
from cvo_plugin.services.shopify_sync import ShopifySync
from cvo_plugin.services.shopify_tokens import client_for

settings = Settings.from_env()
database = Database(settings.database_url)
client = client_for(database, settings, int(sys.argv[1]))
ShopifySync(database, client, int(sys.argv[1]), batch_roots={"orders": 200}).run(full=True)
"""


@pytest.mark.slow
def test_a_backfill_killed_with_sigkill_resumes_to_the_same_result(
    shopify_app: Flask, shopify: ShopifyStandIn, database_url: str, tmp_path: Path
) -> None:
    database = app_database(shopify_app)
    shop_id = _installed_shop(database, shopify)
    store = shopify.store
    shopify.download_rate = 250_000  # bytes a second: the import of the orders file takes seconds
    env = dict(
        os.environ,
        CVO_ENV="testing",
        DATABASE_URL=database_url,
        TOKEN_ENCRYPTION_KEY=TOKEN_KEY,
        SHOPIFY_API_KEY=API_KEY,
        SHOPIFY_API_SECRET=API_SECRET,
        SHOPIFY_ADMIN_ORIGIN=shopify.origin,
        CVO_INSTANCE_DIR=str(tmp_path / "child"),
        REDIS_URL="",
        PYTHONPATH=str(ROOT),
    )
    child = subprocess.Popen([sys.executable, "-c", SYNC_IN_A_CHILD, str(shop_id)], env=env, cwd=ROOT)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            state = _orders_state(database, shop_id)
            done = int(((state or {}).get("bulk") or {}).get("roots_done") or 0)
            if done >= 400:
                break
            assert child.poll() is None, "the sync ended before it could be killed"
            time.sleep(0.02)
        else:
            pytest.fail("the backfill never stored two batches")
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
    finally:
        if child.poll() is None:
            child.kill()
    stored_at_kill = _orders_state(database, shop_id)["bulk"]["roots_done"]  # type: ignore[index]
    assert 400 <= stored_at_kill < len(store.orders)
    orders, _ = _counts(database)
    assert orders == stored_at_kill  # each stored batch came with its checkpoint, nothing more

    shopify.download_rate = None
    result = run_job(shopify_app, SHOPIFY_SYNC, shop_id, "sync")
    assert result["mode"] == "backfill"
    assert result["stored"]["orders"] == len(store.orders) - stored_at_kill  # resumed, not restarted
    assert len(shopify.api.bulk_ops) == 3  # the exports of the killed run were reused
    assert_database_matches(store, database, shop_id)
    assert _counts(database) == (len(store.orders), sum(len(o["line_items"]) for o in store.orders.values()))


def test_a_backfill_cut_off_mid_file_resumes_without_duplicates(
    shopify_app: Flask, shopify: ShopifyStandIn
) -> None:
    from connectors.shopify.errors import Transient

    database = app_database(shopify_app)
    shop_id = _installed_shop(database, shopify)
    with database.session() as session:
        session.add(SyncState(shop_id=shop_id, resource="orders", status="idle", records_synced=0, extra={}))
    shopify.cut_download_after = 30_000  # the connection drops part-way through each result file
    with pytest.raises(Transient):
        run_job(shopify_app, SHOPIFY_SYNC, shop_id, "sync", full=True)
    with database.sessionmaker() as session:
        failed = session.scalars(select(SyncState).where(SyncState.shop_id == shop_id)).all()
        assert any(s.status == "error" and "could not be read" in (s.last_error or "") for s in failed)
    shopify.cut_download_after = None
    run_job(shopify_app, SHOPIFY_SYNC, shop_id, "sync")
    assert_database_matches(shopify.store, database, shop_id)


def test_a_batch_that_fails_stops_the_later_ones_from_committing(
    shopify_app: Flask, shopify: ShopifyStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two writers work side by side on PostgreSQL: the batch after a failed one is staged and
    merged already, but never committed, so the checkpoint covers exactly the batches stored."""
    from connectors.shopify.client import GraphQLClient
    from cvo_plugin.services import shopify_sync
    from cvo_plugin.services.shopify_sync import ShopifySync

    database = app_database(shopify_app)
    shop_id = _installed_shop(database, shopify)
    client = GraphQLClient(shopify.store.domain, shopify.issue_token(), admin_origin=shopify.origin)
    stored: list[int] = []
    real_reapply = shopify_sync.reapply_redactions

    def failing_third(session, shop_id):  # type: ignore[no-untyped-def]
        stored.append(shop_id)  # once per batch of orders, after its merge, before its checkpoint
        if len(stored) == 3:
            raise RuntimeError("the database went away")
        return real_reapply(session, shop_id)

    monkeypatch.setattr(shopify_sync, "reapply_redactions", failing_third)
    with pytest.raises(RuntimeError, match="went away"):
        ShopifySync(database, client, shop_id, batch_roots={"orders": 200}).run(full=True)
    assert _orders_state(database, shop_id)["bulk"]["roots_done"] == 400  # type: ignore[index]
    assert _counts(database)[0] == 400
    monkeypatch.setattr(shopify_sync, "reapply_redactions", real_reapply)
    summary = ShopifySync(database, client, shop_id, batch_roots={"orders": 200}).run()
    assert summary.stored["orders"] == len(shopify.store.orders) - 400
    assert_database_matches(shopify.store, database, shop_id)
