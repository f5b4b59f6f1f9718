"""Backfill and incremental sync against the stand-in: 10,000 orders over many pages, a 429
storm, dropped connections, webhooks, a killed and resumed backfill, a clear stop on 401."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

import cvo_plugin.tasks as tasks
from connectors.woocommerce.mapping import format_gmt, parse_gmt
from connectors.woocommerce.streams import OVERLAP
from cvo_plugin.models import JobRun, Shop, SyncState, WebhookDelivery
from cvo_plugin.services import woocommerce_data as data
from cvo_plugin.services.woocommerce_connect import connect_woocommerce
from jobs.woocommerce import SyncStopped, run_sync
from tests.conftest import TOKEN_KEY
from tests.integration.woocommerce.conftest import Live, assert_identical
from tests.woocommerce_standin import ApiKey, CertificateFiles, StandIn, Store, generate_store
from tests.woocommerce_standin.compare import expected_state, row_counts


def _page(route: str, page: int) -> object:
    return lambda r: r.route == route and r.params.get("page") == str(page)


@pytest.mark.slow
def test_ten_thousand_orders_then_webhooks_end_identical(certs: CertificateFiles, live: Live) -> None:
    store = generate_store(orders=10_000, products=60, customers=1500, seed=2026)
    with StandIn(store, certs) as woo:
        key = woo.add_key()
        # A 429 storm on page 7, a server error on page 30, connections dropped in the middle of
        # page 42 and of a refunds answer, and a throttled product page.
        woo.fail("429", 5, match=_page("orders", 7), retry_after="0")
        woo.fail("500", 1, match=_page("orders", 30))
        woo.fail("drop", 1, match=_page("orders", 42))
        woo.fail("drop", 1, match=lambda r: r.route.endswith("/refunds"))
        woo.fail("429", 2, match=_page("products", 1), retry_after="1")
        result = live.connect(woo, key)
        assert result.sync_error is None, result.sync_error

        order_pages = [r for r in woo.calls("orders") if r.route == "orders" and "page" in r.params]
        assert [r.status for r in order_pages if r.params["page"] == "7"] == [429] * 5 + [200]
        assert [r.status for r in order_pages if r.params["page"] == "30"] == [500, 200]
        assert len({r.params["page"] for r in order_pages}) == 100  # 10,000 orders, 100 a page
        assert len(store.orders) == 10_000
        assert_identical(woo, live, result.shop_id)

        # Then the store keeps changing and tells the app by webhook.
        orders = sorted(store.orders)
        changes = []
        changes += woo.update_order(orders[10], status="completed")
        changes += woo.update_order(orders[11], status="cancelled")
        created, sent = woo.create_order(orders[12], status="processing")
        changes += sent
        changes += woo.delete_order(orders[13])
        unrefunded = (
            o
            for o in orders[14:]
            if store.orders[o]["status"] == "completed" and not store.orders[o]["refunds"]
        )
        changes += woo.refund_order(next(unrefunded))
        variable = next(p for p in store.products.values() if p["type"] == "variable")
        changes += woo.update_product(variable["variations"][0], stock=0, stock_status="outofstock")
        changes += woo.delete_product(
            next(p for p in store.products if store.products[p]["type"] == "simple")
        )
        changes += woo.update_customer(next(iter(store.customers)), first_name="Renamed")
        assert [json.loads(d.response)["status"] for d in changes] == ["applied"] * len(changes)
        duplicates = [woo.redeliver(d) for d in changes]
        assert [json.loads(d.response)["status"] for d in duplicates] == ["duplicate"] * len(changes)
        with live.database.session() as session:
            assert session.query(WebhookDelivery).count() == len(changes)

        # The next scheduled sync reads only what changed (and the refunded line's units).
        woo.requests.clear()
        live.sync(result.shop_id)
        incremental = [r for r in woo.calls("orders") if r.route == "orders"]
        assert incremental and all("modified_after" in r.params for r in incremental)
        assert len(incremental) == 1  # one page of recent changes, not 100
        assert_identical(woo, live, result.shop_id)
        counts = row_counts(live.database, result.shop_id)
        assert counts["orders"] == len(store.orders) == 10_000
        assert counts["order_lines"] == sum(len(o["lines"]) for o in store.orders.values())
        assert created in store.orders


def test_incremental_sync_reads_changes_and_queues_the_computations(
    woo: StandIn, key: ApiKey, live: Live, monkeypatch: pytest.MonkeyPatch
) -> None:
    step = tasks.Step("tests.jobs_fixtures.count_to", "count", "analytics", "count")
    monkeypatch.setattr(tasks, "COMPUTE_STEPS", [step])
    shop = live.connect(woo, key).shop_id
    changed = sorted(woo.store.orders)[:3]
    for order in changed:  # changed in the store without webhooks (e.g. webhooks were disabled)
        woo.update_order(order, deliver=False, status="completed")
    product = next(iter(woo.store.products))
    woo.update_product(product, deliver=False, name="Renamed product")
    woo.requests.clear()
    with live.database.session() as session:
        state = session.scalars(select(SyncState).where(SyncState.resource == "orders")).one()
        checkpoint = parse_gmt(json.loads(state.cursor or "{}")["modified_after"])
    assert checkpoint is not None

    handle = live.sync(shop)
    summary = handle.result
    assert summary["read"]["orders"] < len(woo.store.orders) and summary["changed"] == 4
    request = [r for r in woo.calls("orders") if r.route == "orders"][0]
    cursor = request.params["modified_after"]
    assert request.params["dates_are_gmt"] == "true"
    assert cursor == format_gmt(checkpoint - OVERLAP)  # the checkpoint, less a minute of overlap
    with live.database.session() as session:
        state = session.scalars(select(SyncState).where(SyncState.resource == "orders")).one()
        assert state.mode == "incremental" and state.status == "ok"
        runs = session.scalars(select(JobRun.kind).where(JobRun.shop_id == shop)).all()
    assert sorted(runs) == ["count", "count", "sync", "sync"]  # after the backfill and after this sync
    assert_identical(woo, live, shop)

    # Nothing changed since: nothing to store, nothing to compute.
    again = live.sync(shop).result
    assert again["changed"] == 0 and again["webhook_changes"] == 0
    later = [r for r in woo.calls("orders") if r.route == "orders"][-1].params["modified_after"]
    assert later >= cursor
    with live.database.session() as session:
        assert session.scalars(select(JobRun.kind).where(JobRun.kind == "count")).all() == ["count", "count"]


def test_a_full_sync_reads_everything_again(woo: StandIn, key: ApiKey, live: Live) -> None:
    from cvo_plugin.cli import cli

    shop = live.connect(woo, key).shop_id
    woo.store.customers[next(iter(woo.store.customers))]["first_name"] = "Changed-without-a-trace"
    woo.requests.clear()
    result = live.app.test_cli_runner().invoke(cli, ["sync", woo.url.split("//")[1], "--full"])
    assert result.exit_code == 0, result.output
    pages = [r for r in woo.calls("orders") if r.route == "orders"]
    assert pages and not any("modified_after" in r.params for r in pages)
    customers = [r for r in woo.calls("customers") if r.route == "customers"]
    assert customers[0].params["order"] == "asc"
    assert_identical(woo, live, shop)


def test_the_sync_stops_at_once_when_the_keys_are_revoked(woo: StandIn, key: ApiKey, live: Live) -> None:
    shop = live.connect(woo, key).shop_id
    del woo.keys[key.key]
    woo.requests.clear()
    with pytest.raises(SyncStopped, match="WooCommerce refused the keys .*Consumer key is invalid"):
        live.sync(shop)
    assert len(woo.requests) == 1  # no retries on 401
    with live.database.session() as session:
        state = session.scalars(select(SyncState).where(SyncState.resource == "products")).one()
        assert state.status == "error" and "Connect the store again" in (state.last_error or "")
        run = session.scalars(
            select(JobRun).where(JobRun.kind == "sync").order_by(JobRun.created_at.desc())
        ).first()
        assert run is not None and run.status == "failed" and "refused the keys" in (run.error or "")


@pytest.fixture
def big_store() -> Store:
    return generate_store(orders=1200, products=20, seed=5)


def test_a_killed_backfill_resumes_and_ends_identical(
    big_store: Store, certs: CertificateFiles, live: Live, database_url: str, tmp_path: object
) -> None:
    with StandIn(big_store, certs) as woo:
        key = woo.add_key()
        hold = woo.fail("hold", 1, match=_page("orders", 8))
        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "CVO_ENV": "testing",
            "SECRET_KEY": "test",
            "TOKEN_ENCRYPTION_KEY": TOKEN_KEY,
            "APP_URL": live.url,
            "WOOCOMMERCE_CA_BUNDLE": live.settings.woocommerce_ca_bundle or "",
            "REDIS_URL": "",
            "CVO_INSTANCE_DIR": str(tmp_path),
        }
        command = [
            sys.executable,
            "-c",
            "from cvo_plugin.cli import main; main()",
            "connect-woocommerce",
            "--url",
            woo.url,
            "--key",
            key.key,
            "--secret",
            key.secret,
        ]
        log = Path(str(tmp_path)) / "child.log"
        with log.open("wb") as output:
            child = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT)
            try:
                assert hold.holding.wait(60), log.read_text()
                child.send_signal(signal.SIGKILL)  # killed while waiting for orders page 8
                child.wait(10)
            finally:
                hold.released.set()
                if child.poll() is None:
                    child.kill()
                    child.wait(10)
        with live.database.session() as session:
            shop = session.scalars(select(Shop)).one()
            state = session.scalars(select(SyncState).where(SyncState.resource == "orders")).one()
            assert state.status == "running" and state.records_synced == 700
            assert json.loads(state.cursor or "{}")["window"]["next_page"] == 8
            assert row_counts(live.database, shop.id)["orders"] == 700
            client = data.client_for(live.settings, shop)
        woo.requests.clear()

        summary = run_sync(live.database, shop.id, client, now=datetime.now(UTC))
        pages = sorted(int(r.params["page"]) for r in woo.calls("orders") if r.route == "orders")
        assert pages == list(range(7, 13))  # page 7 again (it may have shifted), then the rest
        assert summary.read["orders"] == 600
        assert_identical(woo, live, shop.id)
        assert row_counts(live.database, shop.id)["orders"] == len(big_store.orders)
        expected = expected_state(big_store, woo.url)
        assert row_counts(live.database, shop.id)["order_lines"] == len(expected.lines)


@pytest.mark.redis
def test_the_backfill_runs_on_an_rq_worker_with_progress(
    woo: StandIn, key: ApiKey, live: Live, database_url: str, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from redis import Redis
    from rq import SimpleWorker
    from rq.job import Job

    from jobs import runtime

    redis = Redis.from_url(redis_url)
    queue = tasks.TaskQueue(live.settings.replace(redis_url=redis_url), live.database, redis=redis)
    result = connect_woocommerce(live.database, live.settings, woo.url, key.key, key.secret, queue=queue)
    assert result.sync is not None and result.sync.status == "queued"
    for name, value in {
        "DATABASE_URL": database_url,
        "CVO_ENV": "testing",
        "TOKEN_ENCRYPTION_KEY": TOKEN_KEY,
        "WOOCOMMERCE_CA_BUNDLE": live.settings.woocommerce_ca_bundle or "",
        "REDIS_URL": redis_url,
    }.items():
        monkeypatch.setenv(name, value)
    runtime.worker_settings.cache_clear()
    try:
        SimpleWorker([queue.rq_queue(tasks.QUEUE_SYNC)], connection=redis).work(burst=True)
    finally:
        runtime.worker_settings.cache_clear()
    job = Job.fetch(result.sync.id, connection=redis)
    assert job.get_status() == "finished" and job.get_meta()["progress"] == 1.0
    assert job.return_value()["read"]["orders"] == len(woo.store.orders)
    progress = queue.progress(result.sync.id)
    assert progress is not None and progress["status"] == "finished"
    assert_identical(woo, live, result.shop_id)

    # On RQ, a webhook whose payload lacks data (a variable product's variations) queues a sync.
    variable = next(p for p in woo.store.products.values() if p["type"] == "variable")
    live.app.extensions["cvo"]["settings"] = live.settings.replace(redis_url=redis_url)
    delivery = woo.update_product(variable["id"], name="New name")[0]
    assert json.loads(delivery.response)["status"] == "applied"
    assert len(queue.rq_queue(tasks.QUEUE_SYNC)) == 1


def test_woocommerce_shops_are_synced_on_schedule(
    woo: StandIn, key: ApiKey, live: Live, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from jobs import runtime, schedule

    shop = live.connect(woo, key).shop_id
    with live.database.session() as session:
        csv = Shop(platform="csv", domain="files.example", settings={})
        session.add(csv)
        session.flush()
        csv_id = csv.id
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("CVO_ENV", "testing")
    runtime.worker_settings.cache_clear()
    try:
        index = next(i for i, p in enumerate(tasks.PERIODIC) if p.func == tasks.WOOCOMMERCE_SYNC)
        assert tasks.PERIODIC[index].interval_s == 15 * 60
        assert (shop, index) not in schedule.due_work(datetime.now(UTC))  # it just synced
        later = datetime.now(UTC) + timedelta(minutes=16)
        due = schedule.due_work(later)
        assert (shop, index) in due and (csv_id, index) not in due
    finally:
        runtime.worker_settings.cache_clear()
