"""A worker killed with SIGKILL in the middle of a job, then restarted: the job is handed back
to RQ at once, resumes or starts over cleanly, and leaves exactly one copy of every row and the
complete result.

- a segment computation killed while it writes its snapshot (a slow link to PostgreSQL keeps it
  there long enough): the half-written snapshot is dropped, one complete snapshot is published,
  equal to a computation of the same data in this process;
- a WooCommerce backfill killed mid-way: tests/integration/woocommerce/test_worker_kill.py.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from redis import Redis
from rq.job import Job
from sqlalchemy import select

from cvo_plugin.config import Settings
from cvo_plugin.db import Database
from cvo_plugin.models import AnalyticsSnapshot, CustomerScore, JobRun, Shop
from cvo_plugin.services.demo import build_demo_store
from cvo_plugin.services.insights.compute import compute
from cvo_plugin.services.insights.load import load_shop_data
from cvo_plugin.services.insights.settings import get_analytics_settings
from cvo_plugin.tasks import COMPUTE_SEGMENTS, QUEUE_ANALYTICS, TaskQueue
from tests.integration.faults.harness import TcpProxy, WorkerProcess, wait_until, worker_env

pytestmark = [pytest.mark.slow, pytest.mark.redis, pytest.mark.postgres]
KILLS: Counter[str] = Counter()


def _settings(url: str, redis_url: str) -> Settings:
    return Settings(
        env="testing", database_url=url, redis_url=redis_url, secret_key="s", token_encryption_key="k"
    )


def _run(database: Database, run_id: str) -> JobRun | None:
    with database.sessionmaker() as session:
        return session.get(JobRun, run_id)


def _status(database: Database, run_id: str) -> str | None:
    run = _run(database, run_id)
    return run.status if run else None


def test_segment_computation_killed_while_storing_publishes_one_complete_snapshot(
    pg: Database, pg_url: str, redis_url: str, tmp_path: Path, logs: Path
) -> None:
    shop_id = build_demo_store(pg, tmp_path / "demo", customers=3000).shop_id
    redis = Redis.from_url(redis_url)
    handle = TaskQueue(_settings(pg_url, redis_url), pg, redis=redis).enqueue(
        COMPUTE_SEGMENTS, shop_id, kind="segments", queue=QUEUE_ANALYTICS
    )
    proxy = TcpProxy(("127.0.0.1", 5432), upload_rate=40_000).start()  # a slow link: COPY crawls
    env = worker_env(proxy.url(pg_url), redis_url, tmp_path / "i")
    worker = WorkerProcess(env, QUEUE_ANALYTICS, "segments", logs).start()
    try:

        def building() -> bool:
            with pg.sessionmaker() as session:
                building = select(AnalyticsSnapshot.id).where(AnalyticsSnapshot.status == "building")
                return session.scalars(building).first() is not None

        wait_until(building, 60, "the computation to start writing its snapshot")
        worker.kill()
        KILLS["segments"] += 1
        run = _run(pg, handle.id)
        assert run is not None and run.status == "running"  # the dead worker could not record anything
        proxy.upload_rate = None
        worker = WorkerProcess(env, QUEUE_ANALYTICS, "segments-again", logs).start()
        wait_until(lambda: _status(pg, handle.id) == "finished", 60, "the retried run")
    finally:
        worker.stop()
        proxy.cut()
    assert "handed 1 job(s) of dead workers back to RQ" in worker.log()
    assert Job.fetch(handle.id, connection=redis).get_status() == "finished"

    with pg.sessionmaker() as session:
        snapshots = session.scalars(select(AnalyticsSnapshot)).all()
        assert [(s.status, s.is_current) for s in snapshots] == [("ready", True)]  # leftovers dropped
        snapshot = snapshots[0]
        scores = session.execute(
            select(CustomerScore.customer_id, CustomerScore.segment).where(CustomerScore.shop_id == shop_id)
        ).all()
        assert len(scores) == snapshot.customers == len({c for c, _ in scores})  # each customer once
        shop = session.get(Shop, shop_id)
        assert shop is not None
        reference = compute(load_shop_data(session, shop, snapshot.as_of), get_analytics_settings(shop))
    keys = reference.table.keys
    expected = Counter(keys[i] for i in reference.rows.segment.tolist())
    assert Counter(segment for _, segment in scores) == expected  # the complete, same result
