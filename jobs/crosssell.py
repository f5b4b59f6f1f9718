"""The cross-sell computation of one shop: read its orders, find the rules, store them as a set."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta
from typing import Any

from cvo_plugin.analytics.basket import compute_recommendations
from cvo_plugin.models import Shop
from cvo_plugin.services.crosssell import crosssell_settings, load_baskets, replace_current_set
from jobs.runtime import job_run


def end_of_day(day: str) -> datetime:
    """The last moment (UTC) of the ISO date `day`; `ValueError` for anything else."""
    try:
        parsed = date.fromisoformat(day)
    except (TypeError, ValueError):
        raise ValueError(f"as_of must be a date as YYYY-MM-DD, not {day!r}") from None
    return datetime(parsed.year, parsed.month, parsed.day, 23, 59, 59, 999_999, tzinfo=UTC)


def compute_crosssell(shop_id: int, as_of: str | None = None) -> dict[str, Any]:
    """Compute and store shop `shop_id`'s cross-sells from its orders up to the end of `as_of`
    (a date, UTC; default: now), replacing its current set atomically."""
    with job_run("crosssell", shop_id) as run:
        started = time.perf_counter()
        computed_at = datetime.now(UTC)
        until = end_of_day(as_of) if as_of else computed_at
        run.progress(0.02, "reading orders")
        with run.database.sessionmaker() as session:
            shop = session.get(Shop, shop_id)
            if shop is None:
                raise LookupError(f"no shop with id {shop_id}")
            settings = crosssell_settings(shop)
            since = until - timedelta(days=settings.lookback_days) if settings.lookback_days else None
            baskets = load_baskets(session, shop_id, until, since)
        purchases = baskets.purchases
        read = time.perf_counter()
        run.progress(0.4, f"finding products bought together in {purchases.order_customer.size:,} orders")
        result = compute_recommendations(purchases, baskets.catalogue, settings.params())
        computed = time.perf_counter()
        run.progress(0.7, f"saving {len(result.rules):,} recommendations")
        with run.database.session() as session:
            stored = replace_current_set(
                session,
                shop_id,
                result,
                baskets.product_ids,
                computed_at=computed_at,
                data_until=until,
                parameters=settings.as_dict(),
                seconds=time.perf_counter() - started,
            )
            set_id = stored.id
        finished = time.perf_counter()
        return {
            "shop_id": shop_id,
            "set_id": set_id,
            "orders": result.n_orders,
            "customers": result.n_customers,
            "products": int(baskets.product_ids.size),
            "purchases": int(purchases.product_index.size),
            "rules": len(result.rules),
            "data_until": until.isoformat(),
            "seconds": {
                "read": round(read - started, 3),
                "compute": round(computed - read, 3),
                "store": round(finished - computed, 3),
                "total": round(finished - started, 3),
            },
        }
