"""What the widget earned: orders arrive as Shopify sends them (note attributes from the cart),
through the one write path; the figures are attributed revenue and the AOV lift with its interval."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
import pytest

from connectors.shopify.mapping import order_from_rest
from cvo_plugin.analytics.lift import aov_lift
from cvo_plugin.db import Database
from cvo_plugin.ingest import Loader
from cvo_plugin.services.widget.attribution import widget_performance
from tests.crosssell_shop import build_shop

DAY = datetime(2026, 5, 1, 12, tzinfo=UTC)


def shopify_order(number: int, lines: list[tuple[str, int, str]], notes: dict[str, str], **extra: Any) -> Any:
    """An `orders/create` payload: (product id, quantity, price) lines and cart attributes."""
    payload = {
        "id": number,
        "name": f"#{number}",
        "created_at": (DAY + timedelta(hours=number)).isoformat(),
        "updated_at": (DAY + timedelta(hours=number)).isoformat(),
        "currency": "USD",
        "note_attributes": [{"name": k, "value": v} for k, v in notes.items()],
        "line_items": [
            {"id": number * 100 + i, "product_id": pid, "variant_id": None, "quantity": qty, "price": price}
            for i, (pid, qty, price) in enumerate(lines)
        ],
        **extra,
    }
    return order_from_rest(payload)


def load(database: Database, shop_id: int, bundles: list[Any]) -> None:
    with database.session() as session, Loader(session, shop_id) as loader:
        loader.add_bundles(bundles)
        loader.merge()


def test_attributed_revenue_and_lift(database: Database) -> None:
    shop_id = build_shop(database, "alpha.example")
    other_id = build_shop(database, "beta.example")
    exposed = {"_cvo_arm": "exposed", "_cvo_anon": "visitor-1"}
    bundles = [
        # Added the filters (2, one refunded) and the kettle from the widget: 7 + 79 attributed.
        shopify_order(
            1,
            [("dripper", 1, "29.00"), ("filters", 2, "7.00"), ("kettle", 1, "79.00")],
            {**exposed, "_cvo_added": "filters,kettle"},
            refunds=[{"refund_line_items": [{"line_item_id": 101, "quantity": 1}]}],
        ),
        # Exposed, but nothing added from the widget: counts for the lift only.
        shopify_order(2, [("grinder", 1, "149.00")], exposed),
        # Added the grinder, but the order does not hold it: nothing attributed.
        shopify_order(3, [("tea", 2, "9.50")], {**exposed, "_cvo_added": "grinder"}),
        # Cancelled: left out of everything.
        shopify_order(
            4,
            [("kettle", 1, "79.00")],
            {**exposed, "_cvo_added": "kettle"},
            cancelled_at=(DAY + timedelta(hours=5)).isoformat(),
        ),
        shopify_order(5, [("dripper", 1, "29.00")], {"_cvo_arm": "holdout", "_cvo_anon": "visitor-2"}),
        shopify_order(6, [("mug", 2, "22.00")], {"_cvo_arm": "holdout", "_cvo_anon": "visitor-3"}),
        # No widget attributes (the script was blocked): not in either arm.
        shopify_order(7, [("mug", 1, "22.00")], {"gift": "yes"}),
    ]
    load(database, shop_id, bundles)
    # The other shop's orders never count here.
    load(
        database, other_id, [shopify_order(1, [("kettle", 3, "79.00")], {**exposed, "_cvo_added": "kettle"})]
    )

    with database.session() as session:
        figures = widget_performance(session, shop_id, DAY - timedelta(days=1), DAY + timedelta(days=1))
    assert (figures.orders_exposed, figures.orders_holdout) == (3, 2)
    assert figures.attributed_orders == 1
    assert figures.attributed_revenue == Decimal("86.00")
    exposed_values = [29 + 7 + 79, 149, 19]  # net revenue: order 1 lost its refunded filter
    holdout_values = [29, 44]
    reference = aov_lift(np.array(exposed_values, float), np.array(holdout_values, float))
    assert figures.lift.aov_exposed == pytest.approx(reference.aov_exposed)
    assert figures.lift.difference_ci == pytest.approx(reference.difference_ci)
    data = figures.as_dict()
    assert data["attributed_revenue"] == "86.00" and data["aov"] == {"exposed": "94.33", "holdout": "36.50"}
    assert data["aov_difference"] == "57.83" and len(data["aov_difference_ci"]) == 2

    with database.session() as session:
        other = widget_performance(session, other_id, DAY - timedelta(days=1), DAY + timedelta(days=1))
        assert other.attributed_revenue == Decimal("237.00") and other.orders_exposed == 1
        outside = widget_performance(session, shop_id, DAY + timedelta(days=2), DAY + timedelta(days=3))
        assert outside.orders_exposed == 0 and outside.lift.difference is None
        with pytest.raises(LookupError):
            widget_performance(session, 999_999, DAY, DAY)
