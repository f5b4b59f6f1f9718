"""What every job runs inside: its database, its `JobRun` bookkeeping and throttled progress.

A job function looks like

    def compute_shop(shop_id: int) -> dict:
        with job_run("compute", shop_id) as run:
            with run.database.session() as session:
                ...
            run.progress(0.5, "scoring customers")

Workers build their own engine from the environment's settings on first use; nothing happens at
import time. In-process runs (no `REDIS_URL`) use the caller's database instead.
"""

from __future__ import annotations

import logging
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from cvo_plugin.config import Settings
from cvo_plugin.db import Database
from cvo_plugin.models.sync import JobRun
from cvo_plugin.tasks import ProgressListener, current_inprocess_run, new_run_id

log = logging.getLogger(__name__)

META_INTERVAL_S = 0.5
ROW_INTERVAL_S = 5.0
LOCK_WAIT_S = 10.0


class RunConflict(RuntimeError):
    """Another process is running this shop's job of the same kind right now."""


@lru_cache(maxsize=1)
def worker_settings() -> Settings:
    """The settings of this worker process (from its environment)."""
    return Settings.from_env()


_DATABASES: dict[str, Database] = {}


def _database(url: str) -> Database:
    database = _DATABASES.get(url)
    if database is None:
        database = _DATABASES[url] = Database(url)
    return database


def reset() -> None:
    """Forget this process's settings and close its databases (tests; a changed environment)."""
    worker_settings.cache_clear()
    while _DATABASES:
        _DATABASES.popitem()[1].dispose()


def current_settings() -> Settings:
    """The settings a job should use: the in-process caller's, else the worker's own."""
    inprocess = current_inprocess_run.get()
    if inprocess is not None and inprocess.settings is not None:
        return inprocess.settings
    return worker_settings()


def current_database() -> Database:
    """The database a job should use: the in-process caller's, else the worker's own."""
    inprocess = current_inprocess_run.get()
    if inprocess is not None:
        return inprocess.database
    return _database(worker_settings().database_url)


@dataclass
class RunContext:
    """Handed to the body of a job: where to read and write, and how to report progress."""

    database: Database
    shop_id: int
    run_id: str
    kind: str
    listener: ProgressListener | None = None
    rq_job: Any = None
    _last_meta: float = field(default=0.0)
    _last_row: float = field(default=0.0)

    def progress(self, fraction: float, message: str | None = None) -> None:
        """Report progress (0..1): to the listener always, to `job.meta` and the run row throttled."""
        fraction = min(max(float(fraction), 0.0), 1.0)
        if self.listener is not None:
            self.listener(fraction, message)
        now = time.monotonic()
        final = fraction >= 1.0
        if self.rq_job is not None and (final or now - self._last_meta >= META_INTERVAL_S):
            self.rq_job.meta["progress"] = fraction
            if message is not None:
                self.rq_job.meta["message"] = message
            self.rq_job.save_meta()
            self._last_meta = now
        if final or now - self._last_row >= ROW_INTERVAL_S:
            self._update_row(progress=fraction, message=message)
            self._last_row = now

    def _update_row(self, **values: Any) -> None:
        with self.database.session() as session:
            run = session.get(JobRun, self.run_id)
            if run is not None:
                for name, value in values.items():
                    if value is not None:
                        setattr(run, name, value)


def _current_rq_job() -> Any:
    try:
        from rq import get_current_job
    except ImportError:  # pragma: no cover
        return None
    return get_current_job()


def _lock_key(kind: str, shop_id: int) -> tuple[int, int]:
    """The two int4 keys of the advisory lock of (kind, shop)."""
    crc = zlib.crc32(kind.encode())
    return (crc - (1 << 32) if crc >= 1 << 31 else crc), int(shop_id)


@contextmanager
def exclusive(database: Database, kind: str, shop_id: int, wait_s: float = LOCK_WAIT_S) -> Iterator[None]:
    """Hold PostgreSQL's advisory lock of (kind, shop) while the block runs; `RunConflict` when
    another session holds it for longer than `wait_s`.

    The lock lives on a connection of its own, so it ends with the process that holds it: a
    worker killed with SIGKILL releases it, and the retry of its job can start. An orphaned
    work-horse that still runs keeps it, so its retry waits rather than running alongside.
    SQLite (one process, jobs in-process) needs no lock.
    """
    if database.engine.dialect.name != "postgresql":
        yield
        return
    from sqlalchemy import text

    key1, key2 = _lock_key(kind, shop_id)
    with database.engine.connect() as conn:
        deadline = time.monotonic() + wait_s
        while not conn.execute(text("SELECT pg_try_advisory_lock(:a, :b)"), {"a": key1, "b": key2}).scalar():
            if time.monotonic() >= deadline:
                conn.rollback()
                raise RunConflict(f"another {kind} run of shop {shop_id} is still running")
            time.sleep(0.2)
        conn.commit()
        try:
            yield
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:a, :b)"), {"a": key1, "b": key2})
            conn.commit()


def _will_retry(rq_job: Any) -> bool:
    """Whether RQ will run this job again after the current attempt fails."""
    return rq_job is not None and int(getattr(rq_job, "retries_left", 0) or 0) > 0


@contextmanager
def job_run(kind: str, shop_id: int) -> Iterator[RunContext]:
    """Mark the run as running, yield its context, then record finished or failed.

    The body runs under `exclusive(kind, shop)`: however many workers there are, one shop's job
    of one kind never runs twice at once. A failed attempt that RQ will retry leaves the run
    `queued` (still active, so nobody starts a second one) with the error of the attempt.
    """
    inprocess = current_inprocess_run.get()
    rq_job = _current_rq_job()
    database = current_database()
    if inprocess is not None:
        run_id, listener = inprocess.run_id, inprocess.listener
    elif rq_job is not None:
        run_id, listener = rq_job.id, None
    else:  # called directly (a test, a shell): still recorded
        run_id, listener = new_run_id(kind, shop_id), None

    with exclusive(database, kind, shop_id):
        with _recorded(database, kind, shop_id, run_id, listener, rq_job) as context:
            yield context


@contextmanager
def _recorded(
    database: Database, kind: str, shop_id: int, run_id: str, listener: ProgressListener | None, rq_job: Any
) -> Iterator[RunContext]:
    now = datetime.now(UTC)
    with database.session() as session:
        run = session.get(JobRun, run_id)
        if run is None:
            session.add(
                JobRun(
                    id=run_id,
                    shop_id=shop_id,
                    kind=kind,
                    func=f"direct:{kind}",
                    queue="inline",
                    status="running",
                    progress=0.0,
                    args={},
                    created_at=now,
                    started_at=now,
                )
            )
        else:
            run.status = "running"
            run.started_at = now
            run.error = None
    context = RunContext(database, shop_id, run_id, kind, listener, rq_job)
    try:
        yield context
    except BaseException as exc:
        log.warning("job %s for shop %s failed: %s", kind, shop_id, type(exc).__name__)
        if _will_retry(rq_job):
            context._update_row(status="queued", error=f"attempt failed, retrying: {_describe(exc)}")
        else:
            context._update_row(status="failed", error=_describe(exc), finished_at=datetime.now(UTC))
        raise
    context.progress(1.0)
    context._update_row(status="finished", progress=1.0, finished_at=datetime.now(UTC))


def _describe(exc: BaseException) -> str:
    """A short, secret-free description of a failure for the admin."""
    text = str(exc).strip() or type(exc).__name__
    return text[:1000]
