"""The WooCommerce sync job: backfill on first run, then incremental (`cvo sync`, every 15 minutes).

Each page of each stream is stored with its checkpoint in one transaction, so a sync killed at
any point resumes where it stopped. After a sync that changed data (or after webhooks changed
it since the previous sync), the shop's computations are queued.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from connectors.woocommerce.client import AuthError, WooClient
from connectors.woocommerce.streams import streams
from cvo_plugin.db import Database
from cvo_plugin.ingest import MergeCounts
from cvo_plugin.services import woocommerce_data as data
from cvo_plugin.tasks import TaskQueue, enqueue_compute
from jobs.runtime import current_settings, job_run

log = logging.getLogger(__name__)

# Share of the progress bar per stream (orders are most of the work).
WEIGHTS = {"products": 0.1, "customers": 0.1, "orders": 0.8}

Progress = Callable[[float, str | None], None]


@dataclass
class SyncSummary:
    """What a sync read and changed."""

    pages: int = 0
    read: dict[str, int] = field(default_factory=dict)
    changed: int = 0
    webhook_changes: int = 0
    counts: MergeCounts = field(default_factory=MergeCounts)

    def as_dict(self) -> dict[str, Any]:
        return {
            "pages": self.pages,
            "read": dict(self.read),
            "changed": self.changed,
            "webhook_changes": self.webhook_changes,
            "orders": self.counts.orders,
            "stale_orders": self.counts.stale_orders,
            "lines": self.counts.lines,
            "customers": self.counts.customers,
            "products": self.counts.products,
            "variants": self.counts.variants,
        }


def sync_shop(shop_id: int, full: bool = False) -> dict[str, Any]:
    """Sync a WooCommerce shop's products, customers and orders (`full`: read everything again)."""
    with job_run("sync", shop_id) as run:
        settings = current_settings()
        with run.database.session() as session:
            client = data.client_for(settings, data.woocommerce_shop(session, shop_id))
        summary = run_sync(run.database, shop_id, client, full=full, progress=run.progress)
        if summary.changed or summary.webhook_changes:
            enqueue_compute(TaskQueue(settings, run.database), shop_id)
        return summary.as_dict()


def run_sync(
    database: Database,
    shop_id: int,
    client: WooClient,
    *,
    full: bool = False,
    progress: Progress | None = None,
    now: datetime | None = None,
) -> SyncSummary:
    """Read every stream from its checkpoint, storing each page with its next checkpoint."""
    now = now or datetime.now(UTC)
    report = progress or (lambda fraction, message: None)
    summary = SyncSummary()
    with database.session() as session:
        summary.webhook_changes = data.webhook_changes_since(
            session, shop_id, data.last_sync_started(session, shop_id)
        )
    base = 0.0
    for stream in streams(client):
        resource, weight = stream.resource, WEIGHTS[stream.resource]
        with database.session() as session:
            cursor = data.begin_resource(session, shop_id, resource, full)
        report(base, f"{resource}: starting")
        try:
            for page in stream.pages(cursor, now, full):
                with database.session() as session:
                    result = data.save_page(session, shop_id, page)
                summary.pages += 1
                summary.read[resource] = summary.read.get(resource, 0) + page_size(page)
                summary.changed += result.changed
                summary.counts += result.counts
                total = f" of {page.total:,}" if page.total else ""
                report(base + weight * page.fraction, f"{resource}: {page.done:,}{total}")
        except Exception as exc:
            message = _failure(exc)
            with database.session() as session:
                data.fail_resource(session, shop_id, resource, message)
            log.warning(
                "woocommerce sync of shop %s stopped in %s: %s", shop_id, resource, type(exc).__name__
            )
            if isinstance(exc, AuthError):
                raise SyncStopped(message) from None
            raise
        base += weight
    report(1.0, f"done: {summary.changed:,} new or changed records")
    return summary


def page_size(page: Any) -> int:
    """Records a page carried (orders, customers, products and variants)."""
    return len(page.bundles) + len(page.customers) + len(page.products) + len(page.variants)


class SyncStopped(RuntimeError):
    """The store refused the keys: syncing stops until the store is connected again."""


def _failure(exc: BaseException) -> str:
    if isinstance(exc, AuthError):
        return (
            f"WooCommerce refused the keys ({exc}). Connect the store again with valid "
            "Read/Write keys (WooCommerce › Settings › Advanced › REST API)."
        )
    return str(exc) or type(exc).__name__
