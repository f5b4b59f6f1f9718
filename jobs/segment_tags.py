"""The segment tag write-back: after a segment computation, tag the store's changed customers.

Runs only for Shopify and WooCommerce shops whose `segment_tags` setting is on; the rules are
in `cvo_plugin.services.segment_tags`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from connectors.shopify import tags as shopify_tags
from connectors.woocommerce import tags as woocommerce_tags
from cvo_plugin.models import Shop
from cvo_plugin.services import woocommerce_data
from cvo_plugin.services.segment_tags import PLATFORMS, PlannedChange, Writer, plan_changes, record_batch
from cvo_plugin.services.shopify_tokens import client_for
from cvo_plugin.services.widget_settings import widget_settings
from cvo_plugin.tasks import SEGMENT_TAGS_KIND
from jobs.runtime import current_settings, job_run

KIND = SEGMENT_TAGS_KIND


def _shopify_writer(client: Any, all_tags: frozenset[str]) -> Writer:
    def write(changes: Sequence[PlannedChange]) -> list[str | None]:
        batch = [
            shopify_tags.TagChange(c.platform_id, (c.tag,), tuple(sorted(all_tags - {c.tag})))
            for c in changes
        ]
        return ["; ".join(r.errors) or None for r in shopify_tags.write_batch(client, batch)]

    return write


def _woocommerce_writer(client: Any) -> Writer:
    def write(changes: Sequence[PlannedChange]) -> list[str | None]:
        batch = [woocommerce_tags.MetaChange(c.platform_id, c.segment) for c in changes]
        return woocommerce_tags.write_batch(client, batch)

    return write


def write_segment_tags(shop_id: int) -> dict[str, Any]:
    """Write the segment tags of the customers whose segment changed since the last write."""
    with job_run(KIND, shop_id) as run:
        settings = current_settings()
        with run.database.sessionmaker() as session:
            shop = session.get(Shop, shop_id)
            if shop is None:
                return {"skipped": "the shop no longer exists"}
            if not widget_settings(shop).segment_tags:
                return {"skipped": "segment tags are off for this shop"}
            if shop.platform not in PLATFORMS:
                return {"skipped": f"{shop.platform} shops have no store to tag"}
            platform = shop.platform
            plan = plan_changes(session, shop_id)
            woo = (
                woocommerce_data.client_for(settings, shop)
                if platform == "woocommerce" and plan.changes
                else None
            )
        if not plan.changes:
            return {"shop_id": shop_id, "customers": 0, "written": 0, "failed": 0, "requests": 0}
        if platform == "shopify":
            writer = _shopify_writer(client_for(run.database, settings, shop_id), plan.all_tags)
            size = shopify_tags.BATCH
        else:
            writer, size = _woocommerce_writer(woo), woocommerce_tags.BATCH
        written = requests = 0
        total = len(plan.changes)
        for start in range(0, total, size):
            chunk = plan.changes[start : start + size]
            errors = writer(chunk)
            requests += 1
            with run.database.session() as session:
                written += record_batch(session, shop_id, run.run_id, chunk, errors)
            run.progress(
                (start + len(chunk)) / total, f"tagged {start + len(chunk):,} of {total:,} customers"
            )
        return {
            "shop_id": shop_id,
            "customers": total,
            "written": written,
            "failed": total - written,
            "requests": requests,
        }
