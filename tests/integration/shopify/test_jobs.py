"""The Shopify jobs in their settings: exports still running, `cvo sync`, the schedule, and an
uninstall stopping queued RQ jobs."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from connectors.shopify.webhooks import ensure_subscriptions
from cvo_plugin import create_app
from cvo_plugin.cli import cli
from cvo_plugin.models import JobRun, SyncState
from cvo_plugin.runtime import get_settings
from cvo_plugin.services.shopify_sync import ShopifySync
from cvo_plugin.services.shopify_tokens import client_for
from cvo_plugin.tasks import PERIODIC, QUEUE_SYNC, SHOPIFY_SYNC, SYNC_BY_PLATFORM, TaskQueue
from tests.conftest import TOKEN_KEY, app_overrides
from tests.integration.shopify.conftest import API_KEY, API_SECRET, app_database, deliver
from tests.integration.shopify.test_resume import _installed_shop
from tests.shopify_standin import ShopifyStandIn
from tests.shopify_standin.expected import assert_database_matches


def test_the_sync_is_registered_for_cvo_sync_and_the_schedule() -> None:
    assert SYNC_BY_PLATFORM["shopify"] == SHOPIFY_SYNC
    periodic = [p for p in PERIODIC if p.func == SHOPIFY_SYNC]
    assert len(periodic) == 1 and periodic[0].interval_s == 900 and periodic[0].platforms == ("shopify",)
    assert periodic[0].kind == "sync" and periodic[0].queue == QUEUE_SYNC


def test_exports_still_running_end_the_run_and_bulk_operations_finish_resumes_it(
    client: FlaskClient, shopify: ShopifyStandIn
) -> None:
    database = app_database(client.application)
    shop_id = _installed_shop(database, shopify)
    with client.application.app_context():
        settings = get_settings()
    sync_client = client_for(database, settings, shop_id)
    ensure_subscriptions(sync_client, settings.app_url + "/shopify/webhooks")
    shopify.api.bulk_delay_s = 60.0  # held back until the test lets them finish below
    summary = ShopifySync(database, sync_client, shop_id, bulk_wait_s=0.2).run()
    assert summary.mode == "backfill" and set(summary.waiting) == {"products", "customers", "orders"}
    with database.sessionmaker() as session:
        states = session.scalars(select(SyncState).where(SyncState.shop_id == shop_id)).all()
        assert {s.status for s in states} == {"waiting"} and all(s.extra.get("bulk") for s in states)
    shopify.api.bulk_delay_s = 0.0
    deadline = time.monotonic() + 10
    while len(shopify.api.finished_bulk) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    finished = shopify.api.finished_bulk[-1]
    payload = {
        "admin_graphql_api_id": finished["id"],
        "completed_at": finished["completedAt"],
        "created_at": finished["createdAt"],
        "error_code": None,
        "status": "completed",
        "type": "query",
    }
    assert deliver(client, shopify, "bulk_operations/finish", payload).get_json() == {"status": "accepted"}
    assert_database_matches(shopify.store, database, shop_id)  # the webhook queued the sync that imported
    assert len(shopify.api.bulk_ops) == 3


def test_cvo_sync_runs_the_shopify_sync_with_a_progress_bar(
    shopify_app: Flask, shopify: ShopifyStandIn
) -> None:
    database = app_database(shopify_app)
    shop_id = _installed_shop(database, shopify)
    runner = shopify_app.test_cli_runner()
    result = runner.invoke(cli, ["sync", shopify.store.domain], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "sync: finished" in result.output
    assert_database_matches(shopify.store, database, shop_id)
    shopify.store.update_order(next(iter(shopify.store.orders)), financial_status="refunded")
    again = runner.invoke(cli, ["sync", shopify.store.domain], catch_exceptions=False)
    assert again.exit_code == 0
    assert_database_matches(shopify.store, database, shop_id)
    with database.sessionmaker() as session:
        runs = session.scalars(select(JobRun).where(JobRun.kind == "sync").order_by(JobRun.created_at)).all()
        assert [r.status for r in runs] == ["finished", "finished"] and runs[-1].progress == 1.0


@pytest.mark.redis
def test_app_uninstalled_cancels_the_shops_queued_rq_jobs(
    database_url: str,
    redis_url: str,
    tmp_path: Path,
    shopify: ShopifyStandIn,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from redis import Redis
    from rq import SimpleWorker
    from rq.job import Job, JobStatus

    from jobs import runtime

    overrides = app_overrides(
        database_url, tmp_path / "i", SHOPIFY_ADMIN_ORIGIN=shopify.origin, REDIS_URL=redis_url
    )
    app = create_app(overrides)
    try:
        database = app_database(app)
        shop_id = _installed_shop(database, shopify)
        with app.app_context():
            queue = TaskQueue(get_settings(), database)
        queued = queue.enqueue(SHOPIFY_SYNC, shop_id, kind="sync", queue=QUEUE_SYNC)
        assert queued.status == "queued"
        payload = {"id": shopify.store.shop["id"], "domain": shopify.store.domain}
        body, headers = shopify.webhook("app/uninstalled", payload)
        answer = app.test_client().post("/shopify/webhooks", data=body, headers=headers)
        assert answer.get_json() == {"status": "accepted"}  # queued on RQ, answered at once
        for name, value in {
            **overrides,
            "TOKEN_ENCRYPTION_KEY": TOKEN_KEY,
            "SHOPIFY_API_KEY": API_KEY,
            "SHOPIFY_API_SECRET": API_SECRET,
        }.items():
            monkeypatch.setenv(name, str(value))
        runtime.worker_settings.cache_clear()
        try:
            redis = Redis.from_url(redis_url)
            SimpleWorker([queue.rq_queue("default")], connection=redis).work(burst=True)
        finally:
            runtime.worker_settings.cache_clear()
        assert Job.fetch(queued.id, connection=redis).get_status() == JobStatus.CANCELED
        with database.sessionmaker() as session:
            run = session.get(JobRun, queued.id)
            assert run is not None and run.status == "cancelled"
            webhook_runs = session.scalars(select(JobRun).where(JobRun.kind == "shopify-webhooks")).all()
            assert [r.status for r in webhook_runs] == ["finished"]
    finally:
        app.extensions["cvo"]["db"].dispose()
