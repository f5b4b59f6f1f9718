"""Jobs plumbing: in-process runs, joining the active run, RQ on real Redis with progress."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

import cvo_plugin.tasks as tasks
from cvo_plugin.config import Settings
from cvo_plugin.db import Database
from cvo_plugin.models import JobRun, Shop
from cvo_plugin.tasks import JobHandle, TaskQueue, import_job

COUNT = "tests.jobs_fixtures.count_to"
EXPLODE = "tests.jobs_fixtures.explode"


def test_every_job_constant_imports() -> None:
    paths = [
        v for k, v in vars(tasks).items() if k.isupper() and isinstance(v, str) and v.startswith("jobs.")
    ]
    paths += [p.func for p in tasks.PERIODIC] + [s.func for s in tasks.COMPUTE_STEPS]
    assert tasks.SCHEDULER_TICK in paths
    for path in paths:
        assert callable(import_job(path)), path


def make_shop(database: Database) -> int:
    with database.session() as session:
        shop = Shop(platform="csv", domain="jobs.example", settings={})
        session.add(shop)
        session.flush()
        return shop.id


def settings_for(url: str, redis_url: str | None = None) -> Settings:
    return Settings(
        env="testing", database_url=url, redis_url=redis_url, secret_key="s", token_encryption_key="k"
    )


def test_in_process_run_is_recorded_with_progress(database: Database, database_url: str) -> None:
    shop_id = make_shop(database)
    seen: list[tuple[float, str | None]] = []
    queue = TaskQueue(settings_for(database_url), database)
    handle = queue.enqueue(COUNT, shop_id, kind="count", args=(3,), listener=lambda f, m: seen.append((f, m)))
    assert handle.status == "finished" and handle.result == {"shop_id": shop_id, "counted": 3}
    assert [round(f, 2) for f, _ in seen][:3] == [0.33, 0.67, 1.0]
    with database.session() as session:
        run = session.get(JobRun, handle.id)
        assert run is not None and (run.status, run.progress, run.kind) == ("finished", 1.0, "count")
        assert run.started_at is not None and run.finished_at is not None


def test_failure_is_recorded_and_raised(database: Database, database_url: str) -> None:
    shop_id = make_shop(database)
    queue = TaskQueue(settings_for(database_url), database)
    with pytest.raises(ValueError, match="could not be read"):
        queue.enqueue(EXPLODE, shop_id, kind="explode")
    with database.session() as session:
        run = session.scalars(select(JobRun)).one()
        assert run.status == "failed" and run.error == "the data could not be read"


def test_second_request_joins_the_active_run(database: Database, database_url: str) -> None:
    shop_id = make_shop(database)
    with database.session() as session:
        session.add(
            JobRun(
                id="count-x",
                shop_id=shop_id,
                kind="count",
                func=COUNT,
                queue="default",
                status="running",
                progress=0.4,
                args={},
                created_at=datetime.now(UTC),
                started_at=datetime.now(UTC),
            )
        )
    queue = TaskQueue(settings_for(database_url), database)
    handle = queue.enqueue(COUNT, shop_id, kind="count")
    assert handle == JobHandle("count-x", "count", shop_id, "running", joined=True)
    # Another kind, or another shop, is not blocked.
    assert not queue.enqueue(EXPLODE.replace("explode", "count_to"), shop_id, kind="other").joined


def test_a_run_lost_long_ago_does_not_block(database: Database, database_url: str) -> None:
    shop_id = make_shop(database)
    long_ago = datetime(2020, 1, 1, tzinfo=UTC)
    with database.session() as session:
        session.add(
            JobRun(
                id="count-old",
                shop_id=shop_id,
                kind="count",
                func=COUNT,
                queue="default",
                status="running",
                progress=0.1,
                args={},
                created_at=long_ago,
                started_at=long_ago,
            )
        )
    handle = TaskQueue(settings_for(database_url), database).enqueue(COUNT, shop_id, kind="count", timeout=60)
    assert not handle.joined and handle.status == "finished"
    with database.session() as session:
        assert session.get(JobRun, "count-old").status == "failed"  # type: ignore[union-attr]


@pytest.mark.redis
def test_rq_worker_runs_the_job_and_reports_progress(
    database: Database, database_url: str, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from redis import Redis
    from rq import SimpleWorker
    from rq.job import Job

    from jobs import runtime

    shop_id = make_shop(database)
    redis = Redis.from_url(redis_url)
    queue = TaskQueue(settings_for(database_url, redis_url), database, redis=redis)
    handle = queue.enqueue(COUNT, shop_id, kind="count", queue="analytics", args=(5,))
    assert handle.status == "queued"
    # A second request while it waits joins it.
    assert queue.enqueue(COUNT, shop_id, kind="count", queue="analytics").id == handle.id
    assert queue.progress(handle.id)["status"] == "queued"  # type: ignore[index]

    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("CVO_ENV", "testing")
    runtime.reset()
    try:
        SimpleWorker([queue.rq_queue("analytics")], connection=redis).work(burst=True)
    finally:
        runtime.reset()
    job = Job.fetch(handle.id, connection=redis)
    assert job.return_value() == {"shop_id": shop_id, "counted": 5}
    assert job.get_meta()["progress"] == 1.0
    info = queue.progress(handle.id)
    assert info is not None and info["status"] == "finished" and info["progress"] == 1.0
    # Once finished, a new request starts a new run.
    again = queue.enqueue(COUNT, shop_id, kind="count", queue="analytics")
    assert again.id != handle.id and not again.joined


@pytest.mark.redis
def test_scheduler_tick_is_scheduled_once_per_slot(redis_url: str) -> None:
    from redis import Redis
    from rq.registry import ScheduledJobRegistry

    redis = Redis.from_url(redis_url)
    now = datetime(2026, 1, 1, 12, 1, tzinfo=UTC)
    assert tasks.schedule_tick(redis, now) is True
    assert tasks.schedule_tick(redis, now) is False
    registry = ScheduledJobRegistry(tasks.QUEUE_DEFAULT, connection=redis)
    assert registry.get_job_ids() == [tasks.tick_job_id(now)]


@pytest.mark.redis
def test_cvo_worker_command_runs_queued_jobs(
    database: Database, database_url: str, redis_url: str, tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rq.job import Job

    from cvo_plugin import create_app
    from cvo_plugin.cli import cli
    from jobs import runtime
    from tests.conftest import app_overrides

    shop_id = make_shop(database)
    app = create_app(app_overrides(database_url, tmp_path, REDIS_URL=redis_url))
    try:
        queue = TaskQueue(app.extensions["cvo"]["settings"], database)
        handle = queue.enqueue(COUNT, shop_id, kind="count", queue="sync", args=(2,))
        monkeypatch.setenv("DATABASE_URL", database_url)
        monkeypatch.setenv("CVO_ENV", "testing")
        runtime.reset()
        result = app.test_cli_runner().invoke(
            cli, ["worker", "--burst", "--queues", "sync"], catch_exceptions=False
        )
        assert result.exit_code == 0, result.output
        assert Job.fetch(handle.id, connection=queue.redis).return_value() == {
            "shop_id": shop_id,
            "counted": 2,
        }
        # The worker scheduled the scheduler tick on RQ's scheduler.
        from rq.registry import ScheduledJobRegistry

        assert any(
            j.startswith("cvo-tick-")
            for j in ScheduledJobRegistry("default", connection=queue.redis).get_job_ids()
        )
    finally:
        runtime.reset()
        app.extensions["cvo"]["db"].dispose()


def test_scheduler_tick_enqueues_due_periodic_work(
    database: Database, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from jobs import runtime, schedule

    shop_id = make_shop(database)
    with database.session() as session:
        session.add(Shop(platform="shopify", domain="other.myshopify.com", settings={}))
    monkeypatch.setattr(tasks, "PERIODIC", [tasks.Periodic(COUNT, "count", "default", 3600, ("csv",))])
    monkeypatch.setattr(schedule, "PERIODIC", tasks.PERIODIC)
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("CVO_ENV", "testing")
    monkeypatch.delenv("REDIS_URL", raising=False)
    runtime.reset()
    try:
        assert schedule.tick() == 1  # only the csv shop, and only once
        assert schedule.tick() == 0  # not due again within the interval
    finally:
        runtime.reset()
    with database.session() as session:
        runs = session.scalars(select(JobRun)).all()
        assert [(r.shop_id, r.kind, r.status) for r in runs] == [(shop_id, "count", "finished")]
