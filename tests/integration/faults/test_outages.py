"""Outages of the services the app needs, with real processes.

- Redis (a redis-server of our own, append-only file) killed while a worker runs jobs, then
  started again: every job runs to the end, the interrupted one retried; while Redis is down the
  web app still answers (health says degraded, webhooks are stored and acknowledged).
- PostgreSQL cut off (a TCP proxy in front of it drops every connection and refuses new ones):
  requests answer 503 with a JSON error within a second, nothing half-written, and the app
  answers normally again as soon as the database is back, without a restart.
"""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from redis import Redis
from sqlalchemy import func, select

from cvo_plugin import create_app
from cvo_plugin.config import Settings
from cvo_plugin.db import Database
from cvo_plugin.models import JobRun, Shop, WebhookDelivery, WebhookPayload
from cvo_plugin.tasks import TaskQueue
from tests.conftest import app_overrides
from tests.integration.faults.harness import RedisServer, TcpProxy, WorkerProcess, wait_until, worker_env
from tests.integration.security.credentials import API_SECRET, body_hmac, session_cookie
from tests.integration.security.tenants import make_tenants

pytestmark = [pytest.mark.postgres]
COUNT = "tests.jobs_fixtures.count_to"
ALL_OK = {"health": 200, "status": 200, "webhook": 200}


def _shops(database: Database, n: int) -> list[int]:
    with database.session() as session:
        shops = [Shop(platform="csv", domain=f"outage{i}.example", settings={}) for i in range(n)]
        session.add_all(shops)
        session.flush()
        return [s.id for s in shops]


def _signed_webhook(domain: str) -> dict[str, Any]:
    body = json.dumps({"id": 1, "email": "x@example.com"}).encode()
    headers = {
        "X-Shopify-Topic": "customers/update",
        "X-Shopify-Shop-Domain": domain,
        "X-Shopify-Webhook-Id": str(uuid.uuid4()),
        "X-Shopify-Hmac-Sha256": body_hmac(body, API_SECRET),
        "Content-Type": "application/json",
    }
    return {"data": body, "headers": headers}


@pytest.mark.slow
def test_redis_killed_mid_run_and_restarted_every_job_completes(
    pg: Database, pg_url: str, tmp_path: Path, logs: Path
) -> None:
    redis_server = RedisServer(tmp_path / "redis").start()
    try:
        redis = Redis.from_url(redis_server.url)
        settings = Settings(
            env="testing", database_url=pg_url, redis_url=redis_server.url, secret_key="s",
            token_encryption_key="k", job_retry_intervals=(1, 1, 1),
        )  # fmt: skip
        queue = TaskQueue(settings, pg, redis=redis)
        shops = _shops(pg, 3)
        handles = [queue.enqueue(COUNT, shop, kind="count", args=(8, 0.25)) for shop in shops]
        env = worker_env(pg_url, redis_server.url, tmp_path / "i")
        worker = WorkerProcess(env, "default", "redis-outage", logs).start()

        def running() -> bool:
            with pg.sessionmaker() as session:
                run = session.get(JobRun, handles[0].id)
                return run is not None and run.status == "running" and run.progress >= 0.0

        wait_until(running, 30, "the first job to start")
        time.sleep(0.5)
        redis_server.kill()

        # Redis is down: the web app still answers from the database.
        tenants = make_tenants(pg)
        app = create_app(app_overrides(pg_url, tmp_path / "web", REDIS_URL=redis_server.url))
        try:
            client = app.test_client()
            health = client.get("/healthz")
            assert health.status_code == 200 and health.get_json()["status"] == "degraded"
            assert (
                client.post("/shopify/webhooks", **_signed_webhook(tenants.shopify_a.domain)).status_code
                == 200
            )
            # the storefront widget answers from the database (its cache and limits live in Redis)
            started = time.monotonic()
            query = {"shop": tenants.shopify_a.public_key, "product_id": "p1"}
            widget = client.get("/widget/v1/recommendations", query_string=query)
            assert widget.status_code == 200 and widget.is_json, widget.get_data(as_text=True)
            assert time.monotonic() - started < 3
        finally:
            app.extensions["cvo"]["db"].dispose()
        with pg.sessionmaker() as session:
            assert session.scalar(select(func.count()).select_from(WebhookPayload)) == 1  # kept for later
            lost = session.scalars(select(JobRun).where(JobRun.kind == "shopify-webhooks")).one()
            assert lost.status == "failed" and "Redis" in (lost.error or "")  # not left "queued"

        time.sleep(1.0)
        redis_server.restart()
        if worker.process is not None and worker.process.poll() is not None:
            worker = WorkerProcess(env, "default", "redis-outage-again", logs).start()

        def all_finished() -> bool:
            with pg.sessionmaker() as session:
                return all(session.get(JobRun, h.id).status == "finished" for h in handles)  # type: ignore[union-attr]

        wait_until(all_finished, 90, "every job to finish after Redis came back")
    finally:
        try:
            worker.stop()
        finally:
            redis_server.kill()


def test_database_outage_answers_503_json_and_recovers_by_itself(
    pg: Database, pg_url: str, tmp_path: Path
) -> None:
    tenants = make_tenants(pg)
    proxy = TcpProxy(("127.0.0.1", 5432)).start()
    app: Flask = create_app(app_overrides(proxy.url(pg_url), tmp_path / "i"))
    cookie = session_cookie(app, tenants.woo_a.id)
    client = app.test_client()
    client.set_cookie("session", cookie)

    def requests() -> dict[str, Any]:
        return {
            "health": client.get("/healthz"),
            "status": client.get("/woocommerce/status"),
            "webhook": client.post("/shopify/webhooks", **_signed_webhook(tenants.shopify_a.domain)),
        }

    try:
        assert {k: r.status_code for k, r in requests().items()} == {
            "health": 200,
            "status": 200,
            "webhook": 200,
        }
        stored = _deliveries(pg)
        proxy.cut()
        for _ in range(3):
            started = time.monotonic()
            answers = requests()
            assert time.monotonic() - started < 5
            for name, response in answers.items():
                assert response.status_code == 503, (name, response.get_data(as_text=True))
                body = response.get_json()
                assert body is not None, name
                if name == "health":
                    assert body["database"] == "unavailable" and body["status"] == "down"
                else:
                    assert body["error"] == "database_unavailable" and body["message"]
        assert _deliveries(pg) == stored  # nothing half-written
        proxy.restore()
        assert {k: r.status_code for k, r in requests().items()} == {
            "health": 200,
            "status": 200,
            "webhook": 200,
        }
        assert _deliveries(pg) == stored + 1
    finally:
        proxy.cut()
        app.extensions["cvo"]["db"].dispose()


def _deliveries(database: Database) -> int:
    with database.sessionmaker() as session:
        return int(session.scalar(select(func.count()).select_from(WebhookDelivery)) or 0)
