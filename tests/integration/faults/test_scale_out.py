"""Scaling out: four `cvo worker` processes on two queues (two on `sync`, two on `analytics`)
share one PostgreSQL and one Redis and work through 200 shops' syncs and segment computations,
every shop asked twice (from two threads at once, then again while the first round runs).

No job runs twice at once for one shop (the executions' own clock intervals never overlap per
shop and kind), nothing deadlocks or fails, nothing is stored twice, every shop ends with its
complete results.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from redis import Redis
from sqlalchemy import func, select

from cvo_plugin.config import Settings
from cvo_plugin.db import Database
from cvo_plugin.models import AnalyticsSnapshot, JobRun, Order, OrderLine, Shop
from cvo_plugin.tasks import QUEUE_ANALYTICS, QUEUE_SYNC, TaskQueue
from tests.insights_fixtures import ORDERS, write_lines
from tests.integration.faults.harness import WorkerProcess, wait_until, worker_env

pytestmark = [pytest.mark.slow, pytest.mark.redis, pytest.mark.postgres]
SHOPS = 200
SYNC = "tests.jobs_fixtures.sync_file"
INTERVALS = "cvo-test:sync-intervals"


def _overlaps(intervals: list[tuple[float, float]]) -> int:
    ordered = sorted(intervals)
    return sum(1 for (_, end), (start, _) in zip(ordered, ordered[1:], strict=False) if start < end)


def test_four_workers_two_queues_two_hundred_shops(
    pg: Database, pg_url: str, redis_url: str, tmp_path: Path, logs: Path
) -> None:
    with pg.session() as session:
        session.add_all(
            [Shop(platform="csv", domain=f"scale{i:03}.example", settings={}) for i in range(SHOPS)]
        )
    with pg.sessionmaker() as session:
        shop_ids = list(session.scalars(select(Shop.id).order_by(Shop.id)))
    lines = str(write_lines(tmp_path / "lines.csv"))
    redis = Redis.from_url(redis_url)
    settings = Settings(
        env="testing", database_url=pg_url, redis_url=redis_url, secret_key="s", token_encryption_key="k"
    )
    queue = TaskQueue(settings, pg, redis=redis)

    def ask(shop_id: int) -> str:
        return queue.enqueue(SYNC, shop_id, kind="sync", queue=QUEUE_SYNC, args=(lines, INTERVALS)).id

    env = worker_env(pg_url, redis_url, tmp_path / "i")
    workers = [
        WorkerProcess(env, q, f"scale-{q}-{n}", logs).start()
        for q in (QUEUE_SYNC, QUEUE_ANALYTICS)
        for n in (1, 2)
    ]
    started = time.monotonic()
    try:
        with ThreadPoolExecutor(8) as pool:  # each shop asked twice at the same moment: one run
            first = list(pool.map(ask, shop_ids + shop_ids))
        assert first[:SHOPS] == first[SHOPS:]
        time.sleep(1.0)
        with ThreadPoolExecutor(8) as pool:  # and again while the first round runs
            list(pool.map(ask, shop_ids))

        def settled() -> bool:
            with pg.sessionmaker() as session:
                active = session.scalar(
                    select(func.count()).select_from(JobRun).where(JobRun.status.in_(("queued", "running")))
                )
                done = session.scalar(
                    select(func.count(func.distinct(AnalyticsSnapshot.shop_id))).where(
                        AnalyticsSnapshot.is_current.is_(True)
                    )
                )
            return active == 0 and done == SHOPS

        wait_until(settled, 240, "every shop's syncs and computations", every=0.5)
    finally:
        for worker in workers:
            worker.stop()
    elapsed = time.monotonic() - started

    with pg.sessionmaker() as session:
        runs = session.execute(select(JobRun.shop_id, JobRun.kind, JobRun.status, JobRun.started_at,
                                      JobRun.finished_at)).all()  # fmt: skip
        statuses = defaultdict(int)
        per_shop_kind: dict[tuple[int, str], list[tuple[float, float]]] = defaultdict(list)
        for shop_id, kind, status, start, end in runs:
            statuses[status] += 1
            per_shop_kind[(shop_id, kind)].append((start.timestamp(), end.timestamp()))
        assert dict(statuses) == {"finished": len(runs)}, dict(statuses)  # no failure, no deadlock
        assert {k for _, k in per_shop_kind} == {"sync", "segments"}
        assert sum(1 for (_, k) in per_shop_kind if k == "sync") == SHOPS
        assert sum(_overlaps(v) for v in per_shop_kind.values()) == 0

        orders = session.scalar(select(func.count()).select_from(Order))
        lines_stored = session.scalar(select(func.count()).select_from(OrderLine))
        assert (orders, lines_stored) == (SHOPS * len(ORDERS), SHOPS * len(ORDERS))  # each row once
        current = session.execute(
            select(AnalyticsSnapshot.shop_id, AnalyticsSnapshot.customers).where(
                AnalyticsSnapshot.is_current.is_(True)
            )
        ).all()
        assert len(current) == SHOPS and {c for _, c in current} == {current[0][1]} and current[0][1] > 0

    executions: dict[int, list[tuple[float, float]]] = defaultdict(list)
    for raw in redis.lrange(INTERVALS, 0, -1):
        shop_id, start, end, _pid = json.loads(raw)
        executions[shop_id].append((start, end))
    assert len(executions) == SHOPS and sum(_overlaps(v) for v in executions.values()) == 0
    pids = {json.loads(raw)[3] for raw in redis.lrange(INTERVALS, 0, -1)}
    assert len(pids) > 2  # the work was spread over the workers' work-horses
    print(f"\nscale-out: {len(runs)} runs for {SHOPS} shops on 4 workers in {elapsed:.1f}s, 0 overlaps")
