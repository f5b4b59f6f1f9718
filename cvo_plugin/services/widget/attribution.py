"""What the widget earned: attributed revenue, and the AOV lift it brings (exposed vs holdout).

The widget writes cart attributes that the platform copies onto the order (Shopify's note
attributes, stored in `orders.note_attributes` by every ingest path):

| attribute | value |
| --- | --- |
| `_cvo_arm` | `exposed` or `holdout`: the visitor's arm |
| `_cvo_anon` | the visitor's anonymous id |
| `_cvo_added` | product ids added to the cart from the widget, comma-separated |

- **Attributed revenue**: the net value of an order's lines whose product was added from the
  widget (quantity kept after refunds x unit price - the line's discount), over orders that are
  not cancelled.
- **Lift**: the orders of each arm compared by `analytics.lift.aov_lift` (net revenue per order).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from cvo_plugin.analytics.lift import AovLift, aov_lift
from cvo_plugin.models import Order, OrderLine, Product, Shop
from cvo_plugin.services.widget.events import event_counts
from cvo_plugin.services.widget_settings import widget_settings
from cvo_plugin.types import to_money

ATTR_ARM = "_cvo_arm"
ATTR_ANON = "_cvo_anon"
ATTR_ADDED = "_cvo_added"


def parse_note_attributes(text: str | None) -> dict[str, str]:
    """Order attributes as stored: `key: value` lines (Shopify) or a JSON object (WooCommerce)."""
    if not text:
        return {}
    stripped = text.strip()
    if stripped.startswith("{"):
        try:
            loaded = json.loads(stripped)
        except ValueError:
            return {}
        return {str(k): str(v) for k, v in loaded.items()} if isinstance(loaded, dict) else {}
    found = {}
    for line in stripped.splitlines():
        key, sep, value = line.partition(":")
        if sep:
            found[key.strip()] = value.strip()
    return found


@dataclass(frozen=True)
class WidgetPerformance:
    """The widget's figures for a shop over a period (money in the shop's currency)."""

    shop_id: int
    currency: str
    since: datetime
    until: datetime
    orders_exposed: int
    orders_holdout: int
    attributed_orders: int
    attributed_revenue: Decimal
    lift: AovLift
    events: dict[str, dict[str, int]]

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: money as decimal strings, shares as floats."""

        def money(value: float | None) -> str | None:
            return None if value is None else f"{to_money(value)}"

        lift = self.lift
        return {
            "currency": self.currency,
            "since": self.since.isoformat(),
            "until": self.until.isoformat(),
            "orders": {"exposed": self.orders_exposed, "holdout": self.orders_holdout},
            "attributed_orders": self.attributed_orders,
            "attributed_revenue": f"{self.attributed_revenue}",
            "aov": {"exposed": money(lift.aov_exposed), "holdout": money(lift.aov_holdout)},
            "aov_difference": money(lift.difference),
            "aov_difference_ci": [money(v) for v in lift.difference_ci] if lift.difference_ci else None,
            "relative_lift": lift.relative_lift,
            "relative_lift_ci": list(lift.relative_ci) if lift.relative_ci else None,
            "confidence": lift.confidence,
            "p_value": lift.p_value,
            "events": self.events,
        }


def widget_performance(
    session: Session, shop_id: int, since: datetime, until: datetime, confidence: float = 0.95
) -> WidgetPerformance:
    """Attributed revenue and the measured AOV lift of orders created in [since, until)."""
    shop = session.get(Shop, shop_id)
    if shop is None:
        raise LookupError(f"no shop with id {shop_id}")
    rows = session.execute(
        select(Order.id, Order.net_revenue, Order.note_attributes).where(
            Order.shop_id == shop_id,
            Order.created_at >= since,
            Order.created_at < until,
            Order.cancelled_at.is_(None),
            Order.note_attributes.like(f"%{ATTR_ARM}%"),
        )
    ).all()
    values: dict[str, list[float]] = {"exposed": [], "holdout": []}
    added: dict[int, set[str]] = {}
    for order_id, net, notes in rows:
        attributes = parse_note_attributes(notes)
        arm = attributes.get(ATTR_ARM)
        if arm not in values:
            continue
        values[arm].append(float(net or 0))
        products = {p.strip() for p in attributes.get(ATTR_ADDED, "").split(",") if p.strip()}
        if arm == "exposed" and products:
            added[order_id] = products
    revenue, attributed_orders = _attributed(session, shop_id, added)
    lift = aov_lift(np.array(values["exposed"]), np.array(values["holdout"]), confidence)
    return WidgetPerformance(
        shop_id=shop_id,
        currency=shop.currency,
        since=since,
        until=until,
        orders_exposed=len(values["exposed"]),
        orders_holdout=len(values["holdout"]),
        attributed_orders=attributed_orders,
        attributed_revenue=revenue,
        lift=lift,
        events=event_counts(session, shop_id, since),
    )


def _attributed(session: Session, shop_id: int, added: dict[int, set[str]]) -> tuple[Decimal, int]:
    """The net value of widget-added lines, and how many orders held one."""
    if not added:
        return Decimal("0.00"), 0
    total = Decimal("0")
    orders: set[int] = set()
    ids = sorted(added)
    for start in range(0, len(ids), 1000):
        chunk = ids[start : start + 1000]
        lines = session.execute(
            select(
                OrderLine.order_id,
                Product.platform_id,
                OrderLine.quantity,
                OrderLine.refunded_quantity,
                OrderLine.unit_price,
                OrderLine.discount,
            )
            .join(Product, Product.id == OrderLine.product_id)
            .where(OrderLine.shop_id == shop_id, Product.shop_id == shop_id, OrderLine.order_id.in_(chunk))
        ).all()
        for order_id, product_id, quantity, refunded, price, discount in lines:
            if product_id not in added[order_id] or quantity <= 0:
                continue
            kept = max(quantity - (refunded or 0), 0)
            value = kept * (price or Decimal(0)) - (discount or Decimal(0)) * kept / quantity
            total += max(value, Decimal(0))
            orders.add(order_id)
    return to_money(total), len(orders)


PANEL_DAYS = 90


def widget_panel(
    session: Session, shop_id: int, days: int = PANEL_DAYS, now: datetime | None = None
) -> dict[str, Any]:
    """What the admin's cross-sells page shows: the last `days` days' figures and the settings."""
    shop = session.get(Shop, shop_id)
    if shop is None:
        raise LookupError(f"no shop with id {shop_id}")
    until = now or datetime.now(UTC)
    figures = widget_performance(session, shop_id, until - timedelta(days=days), until).as_dict()
    return {"days": days, "settings": widget_settings(shop).as_dict(), **figures}
