"""Background work: job dotted paths, and `TaskQueue.enqueue`, which puts a job on RQ when
`REDIS_URL` is set and runs it in-process otherwise.

Jobs are named by dotted path (the web layer never imports `jobs/`) and receive ids only.
At most one run per (shop, kind) is active: a second request joins the first (`JobHandle.joined`).
"""

from __future__ import annotations

import importlib
import uuid
from collections.abc import Callable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from redis import Redis
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from cvo_plugin.models.shop import PLATFORMS
from cvo_plugin.models.sync import JOB_ACTIVE_STATUSES, JobRun

if TYPE_CHECKING:
    from cvo_plugin.config import Settings
    from cvo_plugin.db import Database

# Job functions, by dotted path. A test imports every one of them.
SCHEDULER_TICK = "jobs.schedule.tick"
COMPUTE_SEGMENTS = "jobs.analytics.compute_segments"
COMPUTE_CROSSSELL = "jobs.crosssell.compute_crosssell"
# After each segment computation (when the shop's `segment_tags` setting is on).
SEGMENT_TAGS = "jobs.segment_tags.write_segment_tags"
SEGMENT_TAGS_KIND = "segment-tags"
WOOCOMMERCE_SYNC = "jobs.woocommerce.sync_shop"
# Shopify connector: sync (backfill or incremental), webhook application, post-install setup.
SHOPIFY_SYNC = "jobs.shopify.sync_shop"
SHOPIFY_WEBHOOKS = "jobs.shopify.process_webhooks"
SHOPIFY_AFTER_INSTALL = "jobs.shopify.after_install"
SHOPIFY_KIND_WEBHOOKS = "shopify-webhooks"
SHOPIFY_KIND_INSTALL = "shopify-install"
# Privacy: erase raw personal data older than the retention period (docs in services/retention.py).
APPLY_RETENTION = "jobs.privacy.apply_retention"
RETENTION_KIND = "retention"

QUEUE_SYNC = "sync"
QUEUE_ANALYTICS = "analytics"
QUEUE_DEFAULT = "default"
QUEUES = (QUEUE_SYNC, QUEUE_ANALYTICS, QUEUE_DEFAULT)

TICK_INTERVAL_S = 300
DAY_S = 24 * 3600


@dataclass(frozen=True)
class Periodic:
    """Work the scheduler tick enqueues for every active shop of `platforms` every `interval_s`."""

    func: str
    kind: str
    queue: str
    interval_s: int
    platforms: tuple[str, ...]
    timeout: int = 3600


# What runs on a schedule; each issue that adds periodic work adds its entry here.
PERIODIC: list[Periodic] = [
    Periodic(SHOPIFY_SYNC, "sync", QUEUE_SYNC, 15 * 60, ("shopify",)),
    Periodic(WOOCOMMERCE_SYNC, "sync", QUEUE_SYNC, 15 * 60, ("woocommerce",), timeout=6 * 3600),
    Periodic(COMPUTE_SEGMENTS, "segments", QUEUE_ANALYTICS, DAY_S, PLATFORMS),  # nightly, every shop
    Periodic(APPLY_RETENTION, RETENTION_KIND, QUEUE_DEFAULT, DAY_S, PLATFORMS),  # daily, every shop
]


@dataclass(frozen=True)
class Step:
    """One computation of `cvo compute` and `cvo demo` (run in this order)."""

    func: str
    kind: str
    queue: str
    label: str
    timeout: int = 3600


# Everything `cvo compute SHOP` computes, in order; each analytics issue adds its step here.
COMPUTE_STEPS: list[Step] = [
    Step(COMPUTE_SEGMENTS, "segments", QUEUE_ANALYTICS, "RFM segments, CLV, channels and offers"),
    Step(COMPUTE_CROSSSELL, "crosssell", QUEUE_ANALYTICS, "cross-sells"),
]

# The sync job of each platform (`cvo sync`, the scheduler, the install flows), called as
# `func(shop_id, full=False)`; each connector adds its entry here.
SYNC_BY_PLATFORM: dict[str, str] = {"shopify": SHOPIFY_SYNC, "woocommerce": WOOCOMMERCE_SYNC}

ProgressListener = Callable[[float, str | None], None]


@dataclass(frozen=True)
class InProcessRun:
    """What an in-process job needs from the caller: its database, run id, listener and settings."""

    database: Database
    run_id: str
    listener: ProgressListener | None = None
    settings: Settings | None = None


current_inprocess_run: ContextVar[InProcessRun | None] = ContextVar("cvo_inprocess_run", default=None)


@dataclass(frozen=True)
class JobHandle:
    """A queued, running or (in-process) finished job run."""

    id: str
    kind: str
    shop_id: int
    status: str
    joined: bool = False
    result: Any = None


def enqueue_compute(queue: TaskQueue, shop_id: int, as_of: str | None = None) -> list[JobHandle]:
    """Enqueue every computation of `COMPUTE_STEPS` for a shop (after a sync, nightly, on demand)."""
    kwargs = {"as_of": as_of} if as_of else {}
    return [
        queue.enqueue(
            step.func, shop_id, kind=step.kind, queue=step.queue, kwargs=kwargs, timeout=step.timeout
        )
        for step in COMPUTE_STEPS
    ]


def enqueue_sync(
    queue: TaskQueue,
    shop_id: int,
    platform: str,
    full: bool = False,
    listener: ProgressListener | None = None,
) -> JobHandle:
    """Enqueue the platform's sync of a shop; `ValueError` for a platform without a connector."""
    func = SYNC_BY_PLATFORM.get(platform)
    if func is None:
        raise ValueError(f"shops of platform {platform!r} are not synced (they import files)")
    return queue.enqueue(
        func,
        shop_id,
        kind="sync",
        queue=QUEUE_SYNC,
        kwargs={"full": full},
        timeout=6 * 3600,
        listener=listener,
    )


def tick_job_id(now: datetime) -> str:
    """The id of the scheduler tick for the slot after `now` (one per slot, whoever schedules it)."""
    return f"cvo-tick-{int(now.timestamp()) // TICK_INTERVAL_S + 1}"


def schedule_tick(redis: Redis, now: datetime | None = None) -> bool:
    """Schedule the next scheduler tick on RQ's scheduler; False when it already is."""
    from rq import Queue
    from rq.exceptions import DuplicateJobError

    now = now or datetime.now(UTC)
    slot_start = (int(now.timestamp()) // TICK_INTERVAL_S + 1) * TICK_INTERVAL_S
    try:
        Queue(QUEUE_DEFAULT, connection=redis).enqueue_at(
            datetime.fromtimestamp(slot_start, UTC),
            SCHEDULER_TICK,
            job_id=tick_job_id(now),
            unique=True,
            result_ttl=600,
            failure_ttl=24 * 3600,
        )
    except DuplicateJobError:
        return False
    return True


def job_modules() -> list[str]:
    """The modules of every job function named here (workers import them once, before forking)."""
    paths = [v for k, v in globals().items() if k.isupper() and isinstance(v, str) and v.startswith("jobs.")]
    paths += [p.func for p in PERIODIC] + [s.func for s in COMPUTE_STEPS] + list(SYNC_BY_PLATFORM.values())
    return sorted({path.rpartition(".")[0] for path in paths})


def import_job(path: str) -> Callable[..., Any]:
    """The job function at dotted `path`."""
    module_name, _, attr = path.rpartition(".")
    return getattr(importlib.import_module(module_name), attr)


def new_run_id(kind: str, shop_id: int) -> str:
    """A fresh job run id (also the RQ job id)."""
    return f"{kind}-{shop_id}-{uuid.uuid4().hex[:16]}"


class TaskQueue:
    """Enqueues jobs on RQ (Redis) or runs them in-process, recording each run as a `JobRun`."""

    def __init__(self, settings: Settings, database: Database, redis: Redis | None = None) -> None:
        self.settings = settings
        self.database = database
        if redis is None and settings.redis_url:
            from cvo_plugin.runtime import redis_client

            redis = redis_client(settings.redis_url)
        self.redis = redis

    @property
    def is_async(self) -> bool:
        return self.redis is not None

    def rq_queue(self, name: str) -> Any:
        """The RQ queue `name`."""
        from rq import Queue

        return Queue(name, connection=self.redis)

    def enqueue(
        self,
        func: str,
        shop_id: int,
        *,
        kind: str,
        queue: str = QUEUE_DEFAULT,
        args: Sequence[Any] = (),
        kwargs: dict[str, Any] | None = None,
        timeout: int = 3600,
        retries: int = 3,
        listener: ProgressListener | None = None,
    ) -> JobHandle:
        """Run `func(shop_id, *args, **kwargs)` in the background, or join the active run."""
        kwargs = dict(kwargs or {})
        run_id = new_run_id(kind, shop_id)
        for _attempt in range(3):
            existing = self._claim(run_id, func, shop_id, kind, queue, args, kwargs)
            if existing is None:
                break
            if self._still_alive(existing, timeout):
                return JobHandle(existing.id, kind, shop_id, existing.status, joined=True)
            self._mark_lost(existing.id)
        else:  # pragma: no cover - three lost runs in a row
            raise RuntimeError(f"could not claim a {kind} run for shop {shop_id}")

        if self.is_async:
            from redis.exceptions import RedisError

            try:
                self.rq_queue(queue).enqueue_call(
                    func,
                    args=(shop_id, *args),
                    kwargs=kwargs,
                    job_id=run_id,
                    timeout=timeout,
                    result_ttl=24 * 3600,
                    failure_ttl=7 * 24 * 3600,
                    retry=self._retry(retries),
                    meta={"progress": 0.0, "shop_id": shop_id, "kind": kind},
                )
            except RedisError as exc:
                # Redis is down: the run must not stay "queued" with no job behind it.
                self._mark_lost(run_id, f"could not be queued: Redis is unavailable ({type(exc).__name__})")
                raise
            return JobHandle(run_id, kind, shop_id, "queued")

        token = current_inprocess_run.set(InProcessRun(self.database, run_id, listener, self.settings))
        try:
            result = import_job(func)(shop_id, *args, **kwargs)
        finally:
            current_inprocess_run.reset(token)
        return JobHandle(run_id, kind, shop_id, "finished", result=result)

    def _retry(self, retries: int) -> Any:
        """RQ's retry policy: up to `retries` more attempts, spaced by `JOB_RETRY_INTERVALS`."""
        from rq import Retry

        intervals = list(self.settings.job_retry_intervals)[:retries]
        if not retries or not intervals:
            return None
        return Retry(max=retries, interval=intervals)

    # --- bookkeeping ----------------------------------------------------------------------

    def _claim(
        self,
        run_id: str,
        func: str,
        shop_id: int,
        kind: str,
        queue: str,
        args: Sequence[Any],
        kwargs: dict[str, Any],
    ) -> JobRun | None:
        """Insert the run as queued; if an active run of this kind exists, return it instead."""
        run = JobRun(
            id=run_id,
            shop_id=shop_id,
            kind=kind,
            func=func,
            queue=queue,
            status="queued",
            progress=0.0,
            args={"args": list(args), "kwargs": kwargs},
            created_at=datetime.now(UTC),
        )
        with self.database.sessionmaker() as session:
            session.add(run)
            try:
                session.commit()
                return None
            except IntegrityError:
                session.rollback()
            existing = session.scalars(
                select(JobRun).where(
                    JobRun.shop_id == shop_id,
                    JobRun.kind == kind,
                    JobRun.status.in_(JOB_ACTIVE_STATUSES),
                )
            ).first()
            if existing is None:  # it finished between our insert and this read: try again
                return self._claim(run_id, func, shop_id, kind, queue, args, kwargs)
            session.expunge(existing)
            return existing

    def _still_alive(self, run: JobRun, timeout: int) -> bool:
        """Whether an active-looking run is really queued or running (not lost to a crash)."""
        if self.is_async:
            from rq.exceptions import NoSuchJobError
            from rq.job import Job

            try:
                status = Job.fetch(run.id, connection=self.redis).get_status()
            except NoSuchJobError:
                return False
            return str(getattr(status, "value", status)) in ("queued", "started", "deferred", "scheduled")
        started = run.started_at or run.created_at
        return datetime.now(UTC) - started < timedelta(seconds=timeout)

    def _mark_lost(
        self, run_id: str, error: str = "the worker stopped before the job finished (lost run)"
    ) -> None:
        with self.database.session() as session:
            run = session.get(JobRun, run_id)
            if run is not None and run.status in JOB_ACTIVE_STATUSES:
                run.status = "failed"
                run.error = error
                run.finished_at = datetime.now(UTC)

    def progress(self, run_id: str) -> dict[str, Any] | None:
        """Status, progress (0..1) and message of a run: live from `job.meta` on RQ, else stored."""
        with self.database.sessionmaker() as session:
            run = session.get(JobRun, run_id)
            if run is None:
                return None
            info = {
                "id": run.id,
                "kind": run.kind,
                "status": run.status,
                "progress": run.progress,
                "message": run.message,
                "error": run.error,
            }
        if self.is_async and run.status in JOB_ACTIVE_STATUSES:
            from rq.exceptions import NoSuchJobError
            from rq.job import Job

            try:
                job = Job.fetch(run_id, connection=self.redis)
                meta = job.get_meta(refresh=True)
                info["progress"] = float(meta.get("progress", info["progress"]))
                info["message"] = meta.get("message", info["message"])
            except NoSuchJobError:
                pass
        return info
