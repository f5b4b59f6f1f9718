"""Shopify jobs: setup after install, the sync (backfill or incremental), webhook application.

Each is enqueued by dotted path (`cvo_plugin.tasks.SHOPIFY_*`) with the shop's id and does its
work through `cvo_plugin.services.shopify_*`; these functions only wire the run (settings,
database, client, progress) and queue what follows (the sync after install, the computations
after a sync that changed data).
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from connectors.shopify.errors import ShopifyError
from connectors.shopify.streams import OrdersStream
from connectors.shopify.webhooks import ensure_subscriptions
from cvo_plugin.models import Shop, SyncState
from cvo_plugin.services import shopify_install, shopify_webhooks
from cvo_plugin.services.shopify_sync import ShopifySync, record_failure
from cvo_plugin.services.shopify_tokens import client_for
from cvo_plugin.tasks import (
    SHOPIFY_KIND_INSTALL,
    SHOPIFY_KIND_WEBHOOKS,
    TaskQueue,
    enqueue_compute,
    enqueue_sync,
)
from jobs.runtime import current_settings, job_run

log = logging.getLogger(__name__)

WEBHOOK_PATH = "/shopify/webhooks"


def after_install(shop_id: int) -> dict[str, Any]:
    """Read the shop's facts, register the webhooks, queue the backfill."""
    with job_run(SHOPIFY_KIND_INSTALL, shop_id) as run:
        settings = current_settings()
        client = client_for(run.database, settings, shop_id)
        run.progress(0.1, "reading the shop")
        info = client.query("shop")
        with run.database.session() as session:
            shop = session.get(Shop, shop_id)
            if shop is None:
                return {"skipped": "the shop no longer exists"}
            facts = info.get("shop") or {}
            shop.name = facts.get("name") or shop.name
            shop.currency = facts.get("currencyCode") or shop.currency
            shop.timezone = facts.get("ianaTimezone") or shop.timezone
            scopes = [
                s["handle"] for s in (info.get("currentAppInstallation") or {}).get("accessScopes") or []
            ]
            if scopes:
                shop.scopes = ",".join(sorted(scopes))
            backfilled = (
                session.scalar(
                    select(SyncState.id).where(
                        SyncState.shop_id == shop_id,
                        SyncState.resource == "orders",
                        SyncState.cursor.is_not(None),
                    )
                )
                is not None
            )
        run.progress(0.4, "registering webhooks")
        report = ensure_subscriptions(client, settings.app_url + WEBHOOK_PATH)
        run.progress(0.8, "queuing the backfill" if not backfilled else "queuing a sync")
        queue = TaskQueue(settings, run.database)
        handle = enqueue_sync(queue, shop_id, "shopify", full=False)
        return {
            "webhooks_created": list(report.created),
            "webhooks_updated": list(report.updated),
            "sync": handle.id,
        }


def sync_shop(shop_id: int, full: bool = False) -> dict[str, Any]:
    """Apply waiting webhooks, then sync the shop (the backfill first); queue computations."""
    with job_run("sync", shop_id) as run:
        settings = current_settings()
        queue = TaskQueue(settings, run.database)
        with run.database.sessionmaker() as session:
            shop = session.get(Shop, shop_id)
            if shop is None or not shop.is_active or shop.platform != "shopify":
                return {"skipped": "the shop is not an installed Shopify shop"}
        client = client_for(run.database, settings, shop_id)
        applied = _apply_webhooks(run.database, client, queue, shop_id, run.run_id)
        sync = ShopifySync(run.database, client, shop_id, progress=run.progress)
        try:
            summary = sync.run(full=full)
        except ShopifyError as exc:
            record_failure(run.database, shop_id, exc)
            raise
        if summary.changed or applied.changed_data:
            enqueue_compute(queue, shop_id)
        result = summary.as_dict()
        result["webhooks_applied"] = applied.deliveries
        stats = client.stats
        result["client"] = {
            "requests": stats.requests,
            "throttled": stats.throttled,
            "retries": stats.retries,
        }
        return result


def process_webhooks(shop_id: int) -> dict[str, Any]:
    """Apply every webhook delivery of the shop that waits (see `services.shopify_webhooks`)."""
    with job_run(SHOPIFY_KIND_WEBHOOKS, shop_id) as run:
        settings = current_settings()
        queue = TaskQueue(settings, run.database)
        client = None
        with run.database.sessionmaker() as session:
            shop = session.get(Shop, shop_id)
            if shop is not None and shop.is_active and shop.access_token_enc is not None:
                client = client_for(run.database, settings, shop_id)
        summary = _apply_webhooks(run.database, client, queue, shop_id, run.run_id)
        if summary.shop_deleted:
            return {"deliveries": summary.deliveries, "shop_deleted": True}
        if summary.bulk_finished and not summary.uninstalled:
            enqueue_sync(queue, shop_id, "shopify")
        elif summary.changed_data:
            enqueue_compute(queue, shop_id)
        return {
            "deliveries": summary.deliveries,
            "orders": summary.orders,
            "customers": summary.customers,
            "products": summary.products,
            "failed": summary.failed,
            "uninstalled": summary.uninstalled,
        }


def _apply_webhooks(
    database: Any, client: Any, queue: TaskQueue, shop_id: int, run_id: str
) -> shopify_webhooks.ApplySummary:
    def uninstall(session: Session, shop: int) -> None:
        shopify_install.uninstall_shop(session, shop, queue, except_run_id=run_id)

    handlers = shopify_webhooks.WebhookHandlers(
        fetch_orders=OrdersStream(client).by_ids if client is not None else None,
        uninstall=uninstall,
    )
    return shopify_webhooks.apply_pending(database, shop_id, handlers)
