"""Failed background work, for the admin: runs that failed for good, with their error.

A run is shown when its `JobRun` row says `failed` (every retry used up, or lost), and also when
RQ's failed-job registry holds its job while the row still looks active (the worker died before
it could record the failure): `failed_runs` marks such rows failed first (`reconcile_failed`).
Errors are the short, secret-free messages `jobs.runtime` records, never tracebacks.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from cvo_plugin.models.sync import JOB_ACTIVE_STATUSES, JobRun
from cvo_plugin.tasks import QUEUES


@dataclass(frozen=True)
class FailedRun:
    """One failed run as the admin lists it."""

    id: str
    kind: str
    status: str
    error: str | None
    created_at: datetime
    finished_at: datetime | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "status": self.status,
            "error": self.error,
            "created_at": self.created_at.isoformat(),
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
        }


def failed_job_ids(redis: Any, queues: Iterable[str] = QUEUES) -> set[str]:
    """Ids of the jobs in RQ's failed-job registries of `queues`."""
    from rq.registry import FailedJobRegistry

    ids: set[str] = set()
    for name in queues:
        ids.update(FailedJobRegistry(name, connection=redis).get_job_ids())
    return ids


LOST_IN_WORKER = "the job failed in the worker without recording why (see the worker's log)"


def reconcile_failed(session: Session, shop_id: int, failed_ids: Iterable[str]) -> int:
    """Mark failed the shop's still-active runs whose RQ job is in a failed-job registry."""
    ids = list(failed_ids)
    if not ids:
        return 0
    result = session.execute(
        update(JobRun)
        .where(JobRun.shop_id == shop_id, JobRun.id.in_(ids), JobRun.status.in_(JOB_ACTIVE_STATUSES))
        .values(
            status="failed",
            error=LOST_IN_WORKER,
            finished_at=datetime.now(UTC),
        )
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def failed_runs(session: Session, shop_id: int, redis: Any = None, limit: int = 50) -> list[FailedRun]:
    """The shop's failed runs, newest first (reconciled with RQ's failed-job registry when
    `redis` is given; the caller commits)."""
    if redis is not None:
        reconcile_failed(session, shop_id, failed_job_ids(redis))
        session.flush()
    rows = session.scalars(
        select(JobRun)
        .where(JobRun.shop_id == shop_id, JobRun.status == "failed")
        .order_by(JobRun.created_at.desc(), JobRun.id)
        .limit(limit)
    )
    return [FailedRun(r.id, r.kind, r.status, r.error, r.created_at, r.finished_at) for r in rows]
