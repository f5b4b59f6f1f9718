"""RQ's retries and failed-job registry with a real worker process: a failing job is retried with
the configured intervals, its run stays active while it waits, and a job that keeps failing ends
in the failed-job registry and in the admin's list of failed runs with a clear error."""

from __future__ import annotations

from pathlib import Path

import pytest
from redis import Redis
from rq.job import Job
from rq.registry import FailedJobRegistry

from cvo_plugin.config import Settings
from cvo_plugin.db import Database
from cvo_plugin.models import JobRun, Shop
from cvo_plugin.services.job_failures import failed_runs
from cvo_plugin.tasks import TaskQueue
from tests.integration.faults.harness import WorkerProcess, wait_until, worker_env

FLAKY = "tests.jobs_fixtures.flaky"
pytestmark = [pytest.mark.redis, pytest.mark.postgres]


def _shop(database: Database) -> int:
    with database.session() as session:
        shop = Shop(platform="csv", domain="retries.example", settings={})
        session.add(shop)
        session.flush()
        return shop.id


def test_failures_are_retried_then_land_in_the_failed_registry_and_the_admin_list(
    pg: Database, pg_url: str, redis_url: str, tmp_path: Path, logs: Path
) -> None:
    shop_id = _shop(pg)
    redis = Redis.from_url(redis_url)
    settings = Settings(
        env="testing", database_url=pg_url, redis_url=redis_url, secret_key="s", token_encryption_key="k",
        job_retry_intervals=(1, 1),
    )  # fmt: skip
    queue = TaskQueue(settings, pg, redis=redis)
    recovers = queue.enqueue(
        FLAKY, shop_id, kind="recovers", args=(str(tmp_path / "a"), 2), retries=2
    )  # fails twice, then works
    gives_up = queue.enqueue(FLAKY, shop_id, kind="gives-up", args=(str(tmp_path / "b"), 9), retries=2)

    worker = WorkerProcess(worker_env(pg_url, redis_url, tmp_path / "i"), "default", "retry", logs).start()
    try:

        def settled() -> bool:
            with pg.sessionmaker() as session:
                runs = [session.get(JobRun, recovers.id), session.get(JobRun, gives_up.id)]
                return all(r is not None and r.status in ("finished", "failed") for r in runs)

        wait_until(settled, 60, "both runs to settle")
    finally:
        worker.stop()

    assert (tmp_path / "a").read_text().count("attempt") == 3  # two failures, then success
    assert (tmp_path / "b").read_text().count("attempt") == 3  # the first try and two retries
    assert Job.fetch(recovers.id, connection=redis).return_value() == {"attempts": 3}
    assert FailedJobRegistry("default", connection=redis).get_job_ids() == [gives_up.id]
    with pg.session() as session:
        listed = failed_runs(session, shop_id, redis)
        assert [(r.id, r.kind) for r in listed] == [(gives_up.id, "gives-up")]
        assert listed[0].error == "the store did not answer (attempt 3)"
        assert session.get(JobRun, recovers.id).status == "finished"  # type: ignore[union-attr]


def test_a_run_whose_worker_died_before_recording_its_failure_is_listed(pg: Database, redis_url: str) -> None:
    """The failed-job registry holds it, its row still says running: the admin list reconciles."""
    from datetime import UTC, datetime

    from rq import Queue

    shop_id = _shop(pg)
    redis = Redis.from_url(redis_url)
    job = Queue("default", connection=redis).enqueue("tests.jobs_fixtures.count_to", shop_id, job_id="lost-1")
    FailedJobRegistry("default", connection=redis).add(job, exc_string="work-horse killed")
    with pg.session() as session:
        session.add(
            JobRun(
                id="lost-1", shop_id=shop_id, kind="sync", func="x", queue="default", status="running",
                progress=0.3, args={}, created_at=datetime.now(UTC), started_at=datetime.now(UTC),
            )
        )  # fmt: skip
    with pg.session() as session:
        listed = failed_runs(session, shop_id, redis)
        assert [r.id for r in listed] == ["lost-1"] and "worker" in (listed[0].error or "")
