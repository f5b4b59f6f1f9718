"""Where a connected WooCommerce store stands: its sync run and each resource's progress."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cvo_plugin.models import JobRun, Shop, SyncState
from cvo_plugin.services.woocommerce_data import PLATFORM, RESOURCES, store_url
from cvo_plugin.tasks import TaskQueue


def is_woocommerce_shop(session: Session, shop_id: int) -> bool:
    """Whether `shop_id` is a WooCommerce shop."""
    shop = session.get(Shop, shop_id)
    return shop is not None and shop.platform == PLATFORM


def connection_status(session: Session, queue: TaskQueue, shop_id: int) -> dict[str, Any]:
    """The store, its webhooks, its latest sync run (live progress on RQ) and each resource."""
    shop = session.get(Shop, shop_id)
    if shop is None or shop.platform != PLATFORM:
        raise LookupError(f"shop {shop_id} is not a WooCommerce store")
    run_id = session.scalars(
        select(JobRun.id)
        .where(JobRun.shop_id == shop_id, JobRun.kind == "sync")
        .order_by(JobRun.created_at.desc())
        .limit(1)
    ).first()
    run = queue.progress(run_id) if run_id else None
    webhooks = (shop.settings or {}).get(PLATFORM, {}).get("webhooks", {})
    return {
        "shop": shop.domain,
        "url": store_url(shop),
        "currency": shop.currency,
        "webhooks": sorted(webhooks),
        "sync": run,
        "resources": resource_status(session, shop_id),
    }


def resource_status(session: Session, shop_id: int) -> list[dict[str, Any]]:
    """Where each resource's sync stands."""
    states = {
        s.resource: s
        for s in session.scalars(
            select(SyncState).where(SyncState.shop_id == shop_id, SyncState.resource.in_(RESOURCES))
        )
    }
    rows = []
    for resource in RESOURCES:
        state = states.get(resource)
        rows.append(
            {
                "resource": resource,
                "status": state.status if state else "idle",
                "mode": state.mode if state else None,
                "records_synced": state.records_synced if state else 0,
                "records_total": state.records_total if state else None,
                "last_success_at": (
                    state.last_success_at.isoformat() if state and state.last_success_at else None
                ),
                "last_error": state.last_error if state else None,
            }
        )
    return rows
