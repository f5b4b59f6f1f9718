"""Stopping a shop's background work (on uninstall): queued jobs cancelled, running ones stopped."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from cvo_plugin.models.sync import JOB_ACTIVE_STATUSES, JobRun
from cvo_plugin.tasks import TaskQueue

log = logging.getLogger(__name__)


def stop_shop_jobs(
    session: Session, queue: TaskQueue | None, shop_id: int, reason: str, except_run_id: str | None = None
) -> int:
    """Cancel every active run of the shop (but `except_run_id`, the caller's own); returns how many.

    On RQ, queued jobs are cancelled and started ones get RQ's stop command; the runs are
    marked cancelled. Jobs also check that their shop is still installed between batches.
    """
    runs = session.scalars(
        select(JobRun).where(JobRun.shop_id == shop_id, JobRun.status.in_(JOB_ACTIVE_STATUSES))
    ).all()
    stopped = 0
    for run in runs:
        if run.id == except_run_id:
            continue
        if queue is not None and queue.is_async:
            _stop_rq_job(queue, run.id)
        run.status = "cancelled"
        run.error = reason
        run.finished_at = datetime.now(UTC)
        stopped += 1
    if stopped:
        log.info("stopped %d job(s) of shop %s: %s", stopped, shop_id, reason)
    return stopped


def _stop_rq_job(queue: TaskQueue, job_id: str) -> None:
    from rq.command import send_stop_job_command
    from rq.exceptions import InvalidJobOperation, NoSuchJobError
    from rq.job import Job, JobStatus

    try:
        job = Job.fetch(job_id, connection=queue.redis)
        if job.get_status() == JobStatus.STARTED:
            send_stop_job_command(queue.redis, job_id)  # type: ignore[arg-type]
        else:
            job.cancel()
    except (NoSuchJobError, InvalidJobOperation):
        pass
