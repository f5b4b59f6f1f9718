"""The widget's figures on the admin's cross-sells page, and the tag write log on the settings
page: what the pages show is what the services compute."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from flask import Flask
from sqlalchemy import select

from cvo_plugin.db import Database
from cvo_plugin.ingest import Loader
from cvo_plugin.models import Customer, Product
from cvo_plugin.records import LineRecord, OrderRecord
from cvo_plugin.services.segment_tags import PlannedChange, record_batch
from cvo_plugin.services.widget.attribution import widget_panel
from cvo_plugin.web.admin.common import money, percent
from tests.admin_fixtures import AdminShops, session_token


def auth(domain: str | None = None) -> dict[str, str]:
    """A fresh App Bridge session token (they last a minute)."""
    return {"Authorization": f"Bearer {session_token(domain) if domain else session_token()}"}


def add_widget_orders(database: Database, shop_id: int) -> None:
    """Orders of both arms over the last days, some with products added from the widget."""
    with database.session() as session:
        products = session.scalars(
            select(Product.platform_id).where(Product.shop_id == shop_id).order_by(Product.id).limit(3)
        ).all()
        base = datetime.now(UTC) - timedelta(days=2)
        with Loader(session, shop_id) as loader:
            for i in range(12):
                arm = "holdout" if i % 3 == 0 else "exposed"
                notes = f"_cvo_arm: {arm}\n_cvo_anon: visitor-{i:04d}"
                lines = [LineRecord(f"w{i}", products[0], 1, Decimal("20.00"), platform_id=f"w{i}-0")]
                if arm == "exposed" and i % 2 == 0:
                    notes += f"\n_cvo_added: {products[1]}"
                    lines.append(LineRecord(f"w{i}", products[1], 2, Decimal("7.50"), platform_id=f"w{i}-1"))
                order = OrderRecord(
                    f"w{i}", created_at=base + timedelta(hours=i), currency="USD", note_attributes=notes
                )
                loader.add_order(order, lines)
            loader.merge()


def test_the_cross_sells_page_shows_what_the_widget_earned(
    app: Flask, database: Database, shops: AdminShops
) -> None:
    client = app.test_client()
    empty = client.get("/admin/crosssells", headers=auth()).get_data(as_text=True)
    assert 'data-testid="widget-performance"' in empty and "Not enough orders yet" in empty

    add_widget_orders(database, shops.shop_id)
    with database.sessionmaker() as session:
        expected = widget_panel(session, shops.shop_id)
    assert expected["orders"] == {"exposed": 8, "holdout": 4} and expected["attributed_orders"] == 4
    assert expected["attributed_revenue"] == "60.00"
    page = client.get("/admin/crosssells", headers=auth())
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    panel = body.split('data-testid="widget-performance"', 1)[1].split("</section>", 1)[0]
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", panel))
    assert money(expected["attributed_revenue"], "USD") in text and "in 4 orders" in text
    assert "8 from visitors who saw the widget, 4 from the holdout (10% of visitors)" in text
    assert (
        money(expected["aov"]["exposed"], "USD") in text and money(expected["aov"]["holdout"], "USD") in text
    )
    low, high = expected["aov_difference_ci"]
    assert f"{money(low, 'USD')} to {money(high, 'USD')}" in text
    assert percent(expected["relative_lift"]) in text
    # Another shop's page shows its own (empty) figures.
    other = client.get("/admin/crosssells", headers=auth("other-shop.myshopify.com"))
    assert "Not enough orders yet" in other.get_data(as_text=True)


def test_the_settings_page_lists_the_tags_written(app: Flask, database: Database, shops: AdminShops) -> None:
    client = app.test_client()
    assert "Nothing written yet" in client.get("/admin/settings", headers=auth()).get_data(as_text=True)
    with database.session() as session:
        customers = session.execute(
            select(Customer.id, Customer.platform_id).where(Customer.shop_id == shops.shop_id).limit(2)
        ).all()
        changes = [PlannedChange(cid, pid, "champions", "cvo-champions", None) for cid, pid in customers]
        record_batch(session, shops.shop_id, "run-1", changes, [None, "Customer does not exist"])
    body = client.get("/admin/settings", headers=auth()).get_data(as_text=True)
    assert body.count('data-testid="tag-log-row"') == 2
    assert "cvo-champions" in body and "failed: Customer does not exist" in body
