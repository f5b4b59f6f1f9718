"""The scheduler tick: every few minutes, enqueue the periodic work that is due for each shop."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from cvo_plugin.job_recovery import recover_abandoned
from cvo_plugin.models import JobRun, Shop
from cvo_plugin.runtime import redis_client
from cvo_plugin.tasks import PERIODIC, TaskQueue, schedule_tick
from jobs.runtime import current_database, worker_settings


def due_work(now: datetime) -> list[tuple[int, int]]:
    """(shop id, index into PERIODIC) of every periodic job that is due at `now`."""
    database = current_database()
    due: list[tuple[int, int]] = []
    with database.sessionmaker() as session:
        shops = session.execute(select(Shop.id, Shop.platform).where(Shop.is_active.is_(True))).all()
        for index, periodic in enumerate(PERIODIC):
            last_runs = dict(
                session.execute(
                    select(JobRun.shop_id, func.max(JobRun.created_at))
                    .where(JobRun.kind == periodic.kind)
                    .group_by(JobRun.shop_id)
                ).all()
            )
            for shop_id, platform in shops:
                if platform not in periodic.platforms:
                    continue
                last = last_runs.get(shop_id)
                if last is not None and last.tzinfo is None:
                    last = last.replace(tzinfo=UTC)
                if last is None or now - last >= timedelta(seconds=periodic.interval_s):
                    due.append((shop_id, index))
    return due


def tick() -> int:
    """Enqueue what is due, schedule the next tick, and return how many jobs were enqueued."""
    settings = worker_settings()
    if settings.redis_url:
        recover_abandoned(redis_client(settings.redis_url))
    queue = TaskQueue(settings, current_database())
    now = datetime.now(UTC)
    enqueued = 0
    for shop_id, index in due_work(now):
        periodic = PERIODIC[index]
        handle = queue.enqueue(
            periodic.func, shop_id, kind=periodic.kind, queue=periodic.queue, timeout=periodic.timeout
        )
        enqueued += 0 if handle.joined else 1
    if settings.redis_url:
        schedule_tick(redis_client(settings.redis_url), now)
    return enqueued
