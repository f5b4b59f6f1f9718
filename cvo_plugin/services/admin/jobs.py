"""The sync and jobs page: running jobs with live progress, recent runs, each resource's last sync."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cvo_plugin.models import ImportRun, JobRun, SyncState
from cvo_plugin.models.sync import JOB_ACTIVE_STATUSES
from cvo_plugin.tasks import COMPUTE_STEPS, TaskQueue

RECENT_RUNS = 20
KIND_LABELS = {step.kind: step.label for step in COMPUTE_STEPS} | {
    "sync": "sync with the store",
    "shopify-webhooks": "store updates (webhooks)",
    "shopify-install": "setup after install",
}


def _run(run: JobRun) -> dict[str, Any]:
    return {
        "id": run.id,
        "kind": run.kind,
        "label": KIND_LABELS.get(run.kind, run.kind),
        "status": run.status,
        "progress": run.progress,
        "message": run.message,
        "error": run.error,
        "created_at": run.created_at,
        "started_at": run.started_at,
        "finished_at": run.finished_at,
        "seconds": (
            round((run.finished_at - (run.started_at or run.created_at)).total_seconds(), 1)
            if run.finished_at is not None
            else None
        ),
    }


def jobs_status(session: Session, queue: TaskQueue, shop_id: int) -> dict[str, Any]:
    """Active runs (progress live from `job.meta` on RQ), the latest finished ones, syncs and imports."""
    active = []
    for run in session.scalars(
        select(JobRun)
        .where(JobRun.shop_id == shop_id, JobRun.status.in_(JOB_ACTIVE_STATUSES))
        .order_by(JobRun.created_at)
    ):
        row = _run(run)
        live = queue.progress(run.id)
        if live is not None:
            row.update(status=live["status"], progress=live["progress"], message=live["message"])
        active.append(row)
    recent = [
        _run(run)
        for run in session.scalars(
            select(JobRun)
            .where(JobRun.shop_id == shop_id, JobRun.status.not_in(JOB_ACTIVE_STATUSES))
            .order_by(JobRun.created_at.desc(), JobRun.id)
            .limit(RECENT_RUNS)
        )
    ]
    syncs = [
        {
            "resource": s.resource,
            "status": s.status,
            "mode": s.mode,
            "records_synced": s.records_synced,
            "records_total": s.records_total,
            "last_success_at": s.last_success_at,
            "last_error": s.last_error,
        }
        for s in session.scalars(
            select(SyncState).where(SyncState.shop_id == shop_id).order_by(SyncState.resource)
        )
    ]
    imports = [
        {
            "kind": i.kind,
            "file_name": i.file_name,
            "rows": i.rows,
            "orders": i.orders,
            "finished_at": i.finished_at,
        }
        for i in session.scalars(
            select(ImportRun)
            .where(ImportRun.shop_id == shop_id)
            .order_by(ImportRun.finished_at.desc())
            .limit(10)
        )
    ]
    return {"active": active, "recent": recent, "syncs": syncs, "imports": imports}


def job_run(session: Session, queue: TaskQueue, shop_id: int, run_id: str) -> dict[str, Any] | None:
    """One of the shop's runs with live progress, or None (also for another shop's run)."""
    run = session.scalars(select(JobRun).where(JobRun.id == run_id, JobRun.shop_id == shop_id)).first()
    if run is None:
        return None
    row = _run(run)
    live = queue.progress(run.id)
    if live is not None:
        row.update(
            status=live["status"], progress=live["progress"], message=live["message"], error=live["error"]
        )
    return row
