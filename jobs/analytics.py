"""Customer-value jobs: `compute_segments` scores a shop's customers and stores a new snapshot."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from cvo_plugin.models import Shop
from cvo_plugin.services.insights.compute import compute
from cvo_plugin.services.insights.load import load_shop_data
from cvo_plugin.services.insights.settings import get_analytics_settings
from cvo_plugin.services.insights.store import store_computation
from cvo_plugin.services.segment_tags import PLATFORMS as TAGGED_PLATFORMS
from cvo_plugin.services.widget_settings import widget_settings
from cvo_plugin.tasks import QUEUE_SYNC, SEGMENT_TAGS, SEGMENT_TAGS_KIND, TaskQueue
from jobs.runtime import current_settings, job_run

KIND = "segments"


def parse_as_of(as_of: str | date | None) -> date:
    """The as-of day: an ISO date, or today (UTC) when not given."""
    if as_of is None or as_of == "":
        return datetime.now(UTC).date()
    if isinstance(as_of, date):
        return as_of
    try:
        return date.fromisoformat(as_of)
    except ValueError:
        raise ValueError(f"as_of must be a date like 2024-12-31, not {as_of!r}") from None


def compute_segments(shop_id: int, as_of: str | None = None) -> dict[str, Any]:
    """RFM segments, CLV, channels, profiles, offers and transitions of a shop as of a day."""
    with job_run(KIND, shop_id) as run:
        day = parse_as_of(as_of)
        with run.database.sessionmaker() as session:
            shop = session.get(Shop, shop_id)
            if shop is None:
                raise LookupError(f"shop {shop_id} does not exist")
            settings = get_analytics_settings(shop)
            write_tags = widget_settings(shop).segment_tags and shop.platform in TAGGED_PLATFORMS
            data = load_shop_data(session, shop, day, lambda f, m: run.progress(0.3 * f, m))
        computation = compute(data, settings, lambda f, m: run.progress(0.3 + 0.3 * f, m))
        snapshot_id = store_computation(
            run.database, shop_id, computation, lambda f, m: run.progress(0.6 + 0.4 * f, m)
        )
        if write_tags:
            # The write-back is its own job (platform I/O, retried on its own): it follows
            # every computation, and finds only the customers whose segment changed.
            TaskQueue(current_settings(), run.database).enqueue(
                SEGMENT_TAGS, shop_id, kind=SEGMENT_TAGS_KIND, queue=QUEUE_SYNC
            )
        return {
            "shop_id": shop_id,
            "snapshot_id": snapshot_id,
            "as_of": day.isoformat(),
            "customers": len(computation.rows),
            "orders": computation.orders,
        }
