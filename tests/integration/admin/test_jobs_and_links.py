"""Live job progress from RQ's `job.meta`, `cvo admin-link`, and the spend upload's refusals."""

from __future__ import annotations

import hashlib
import io
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from redis import Redis
from rq.job import Job
from sqlalchemy import func, select

from cvo_plugin import create_app
from cvo_plugin.db import Database
from cvo_plugin.models import AdminLink, MarketingSpend
from cvo_plugin.tasks import COMPUTE_SEGMENTS, QUEUE_ANALYTICS, TaskQueue
from tests.admin_fixtures import AdminShops, session_token
from tests.conftest import app_overrides, table_snapshot


@pytest.mark.redis
def test_running_jobs_show_their_live_progress(
    database_url: str, database: Database, shops: AdminShops, redis_url: str, tmp_path: Path
) -> None:
    app = create_app(app_overrides(database_url, tmp_path / "instance", REDIS_URL=redis_url))
    try:
        with app.app_context():
            queue = TaskQueue(app.extensions["cvo"]["settings"], app.extensions["cvo"]["db"])
            handle = queue.enqueue(COMPUTE_SEGMENTS, shops.shop_id, kind="segments", queue=QUEUE_ANALYTICS)
        job = Job.fetch(handle.id, connection=Redis.from_url(redis_url))
        job.meta.update(progress=0.42, message="scoring customers")
        job.save_meta()
        auth = {"Authorization": f"Bearer {session_token()}"}
        client = app.test_client()
        state = client.get("/admin/api/jobs", headers=auth).get_json()
        (run,) = [r for r in state["active"] if r["id"] == handle.id]
        assert (run["progress"], run["message"], run["status"]) == (0.42, "scoring customers", "queued")
        page = client.get("/admin/jobs", headers=auth).get_data(as_text=True)
        assert 'value="0.42"' in page and "42%" in page and "scoring customers" in page
        one = client.get(f"/admin/api/jobs/{handle.id}", headers=auth).get_json()
        assert one["progress"] == 0.42
        # a second recompute joins the queued run instead of starting another
        runs = client.post("/admin/api/recompute", headers=auth).get_json()["runs"]
        assert [r["joined"] for r in runs if r["kind"] == "segments"] == [True]
    finally:
        app.extensions["cvo"]["db"].dispose()


def test_admin_link_command(cli_runner: Any, app: Flask, database: Database, shops: AdminShops) -> None:
    result = cli_runner(["admin-link", "other-shop.myshopify.com"])
    assert result.exit_code == 0
    url = result.stdout.strip().splitlines()[0]
    assert url.startswith("http://127.0.0.1:5000/admin/signin?token=")
    page = app.test_client().get(url.replace("http://127.0.0.1:5000", ""))
    assert page.status_code == 200 and "Sign in to Other Shop" in page.get_data(as_text=True)
    with database.session() as session:
        link = session.scalars(select(AdminLink)).one()
        assert link.shop_id == shops.other_id and link.used_at is None
        token = url.split("token=")[1]
        assert link.token_sha256 == hashlib.sha256(token.encode()).hexdigest()  # only its digest is stored
    unknown = cli_runner(["admin-link", "nobody.example"])
    assert unknown.exit_code != 0 and "no shop named" in unknown.output


def test_a_bad_spend_file_changes_nothing(app: Flask, database: Database, shops: AdminShops) -> None:
    client = app.test_client()
    auth = {"Authorization": f"Bearer {session_token()}"}
    before = table_snapshot(database)
    for body, reason in (
        (b"channel,month,amount\ngoogle,2026-01,12\ngoogle,March,3\n", "line 3"),
        (b"channel,amount\ngoogle,12\n", "month"),
        (b"\xff\xfe bad bytes", "UTF-8"),
    ):
        response = client.post(
            "/admin/channels/spend", headers=auth, data={"file": (io.BytesIO(body), "spend.csv")},
            content_type="multipart/form-data",
        )  # fmt: skip
        assert response.status_code == 400
        assert reason in response.get_data(as_text=True)
    assert client.post("/admin/channels/spend", headers=auth, data={}).status_code == 400
    assert table_snapshot(database) == before
    with database.session() as session:
        stored = session.scalar(select(func.count()).select_from(MarketingSpend))  # the demo's own
    good = client.post(
        "/admin/channels/spend", headers=auth, content_type="multipart/form-data",
        data={"file": (io.BytesIO(b"channel,month,amount\nPodcast,2026-02,40\n"), "spend.csv")},
    )  # fmt: skip
    assert good.status_code == 303
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(MarketingSpend)) == stored + 1
        added = session.scalars(select(MarketingSpend).where(MarketingSpend.channel == "podcast")).one()
        assert added.amount == Decimal("40.00")


def test_failed_runs_and_syncs_say_what_went_wrong(app: Flask, database: Database, shops: AdminShops) -> None:
    from datetime import UTC, datetime

    from cvo_plugin.models import JobRun, SyncState

    now = datetime.now(UTC)
    with database.session() as session:
        session.add(
            JobRun(id="sync-failed-1", shop_id=shops.shop_id, kind="sync", func="jobs.x", queue="sync",
                   status="failed", progress=0.3, error="The store refused the app's keys: connect it again.",
                   args={}, created_at=now, started_at=now, finished_at=now)
        )  # fmt: skip
        session.add(
            SyncState(shop_id=shops.shop_id, resource="orders", status="error", records_synced=1200,
                      last_error="Shopify answered 401: reinstall the app.", last_success_at=now)
        )  # fmt: skip
    page = app.test_client().get("/admin/jobs", headers={"Authorization": f"Bearer {session_token()}"})
    text = page.get_data(as_text=True)
    assert "The store refused the app&#39;s keys: connect it again." in text
    assert "Shopify answered 401: reinstall the app." in text and "1,200" in text
