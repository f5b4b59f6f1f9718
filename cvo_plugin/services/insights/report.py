"""`cvo report SHOP --json`: the segment summary in the shape of CONTRACT.md.

```
{"shop", "as_of", "currency", "customers", "segments": [...], "clv_model": {...}, "rfm": [...]}
```
Money is a decimal string in the shop currency. Each segment row has the contract's fields
(name, customers, share_customers, revenue, share_revenue, aov, orders_per_customer, avg_clv =
average historic CLV) and more (key, orders, days_between_orders, avg_predicted_clv, formula_clv,
avg_p_alive). `clv_model` holds the fitted parameters (`alpha` in `time_unit`) or null ones with
`notes` saying why; `rfm` (only when asked) has one row per scored customer.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cvo_plugin.models import Customer, CustomerScore, Shop
from cvo_plugin.services.insights.read import get_snapshot, jsonable, segment_names, segment_summary

SEGMENT_FIELDS = (
    "key",
    "name",
    "customers",
    "share_customers",
    "revenue",
    "share_revenue",
    "orders",
    "aov",
    "orders_per_customer",
    "days_between_orders",
    "avg_clv",
    "avg_predicted_clv",
    "avg_p_alive",
    "formula_clv",
)
BGNBD_FIELDS = ("r", "alpha", "a", "b", "log_likelihood", "customers", "converged")
GAMMA_GAMMA_FIELDS = ("p", "q", "v", "log_likelihood", "customers", "converged")


def _pick(values: dict[str, Any] | None, names: tuple[str, ...]) -> dict[str, Any] | None:
    return None if values is None else {name: values.get(name) for name in names}


def report(session: Session, shop: Shop, include_customers: bool = False) -> dict[str, Any]:
    """The report of the shop's current snapshot as JSON values."""
    summary = segment_summary(session, shop.id)
    snapshot = get_snapshot(session, shop.id, summary["snapshot_id"])
    model = snapshot.clv_model
    result: dict[str, Any] = {
        "shop": shop.domain,
        "as_of": snapshot.as_of.isoformat(),
        "currency": shop.currency,
        "customers": summary["customers"],
        "orders": summary["orders"],
        "revenue": summary["revenue"],
        "segments": [{name: row[name] for name in SEGMENT_FIELDS} for row in summary["segments"]],
        "clv_model": {
            "time_unit": model.get("time_unit", "weeks"),
            "bgnbd": _pick(model.get("bgnbd"), BGNBD_FIELDS),
            "gamma_gamma": _pick(model.get("gamma_gamma"), GAMMA_GAMMA_FIELDS),
            "spend_source": model.get("spend_source"),
            "gross_margin": summary["gross_margin"],
            "horizon_days": model.get("horizon_days"),
            "notes": model.get("notes", []),
        },
    }
    if include_customers:
        result["rfm"] = list(customer_rows(session, shop.id, snapshot.id))
    return jsonable(result)


def customer_rows(session: Session, shop_id: int, snapshot_id: int) -> Iterator[dict[str, Any]]:
    """One `rfm` row per scored customer of the snapshot (streamed; the platform's customer id)."""
    names = segment_names(get_snapshot(session, shop_id, snapshot_id))
    statement = (
        select(CustomerScore, Customer.platform_id)
        .join(Customer, (Customer.id == CustomerScore.customer_id) & (Customer.shop_id == shop_id))
        .where(CustomerScore.snapshot_id == snapshot_id, CustomerScore.shop_id == shop_id)
        .order_by(CustomerScore.customer_id)
        .execution_options(yield_per=10_000)
    )
    for score, platform_id in session.execute(statement):
        yield jsonable(
            {
                "customer_id": platform_id,
                "r": score.r,
                "f": score.f,
                "m": score.m,
                "segment": names.get(score.segment, score.segment),
                "recency_days": score.recency_days,
                "frequency": score.frequency,
                "monetary": score.monetary,
                "historic_clv": score.historic_clv,
                "predicted_clv_12m": score.predicted_clv_12m,
                "p_alive": score.p_alive,
                "expected_orders_365d": score.expected_orders_365d,
                "channel": score.channel,
            }
        )
