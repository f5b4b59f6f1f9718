"""The read API the admin and widget use: summaries, customers, audiences, profiles, offers, channels."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import delete, select

from cvo_plugin.db import Database
from cvo_plugin.models import Customer, MarketingSpend, Shop
from cvo_plugin.services.demo import build_demo_store
from cvo_plugin.services.insights import read
from cvo_plugin.services.insights.spend import import_spend
from tests.integration.test_insights_jobs import run


@pytest.fixture
def demo(database: Database, tmp_path: Path) -> int:
    store = build_demo_store(database, tmp_path / "demo", customers=400, end=date(2025, 6, 30))
    spend = tmp_path / "spend.csv"
    lines = ["channel,month,amount"] + [f"google,2025-{m:02d},2000" for m in range(1, 7)]
    lines += [f"email,2025-{m:02d},2" for m in range(1, 7)] + ["tiktok,2025-03,100"]
    spend.write_text("\n".join(lines) + "\n")
    with database.session() as session:
        # this test's spend only, in place of the demo's own
        session.execute(delete(MarketingSpend).where(MarketingSpend.shop_id == store.shop_id))
        import_spend(session, session.get(Shop, store.shop_id), spend)
        # a customer with a name, for the search
        customer = session.scalars(select(Customer).where(Customer.shop_id == store.shop_id)).first()
        customer.first_name, customer.last_name = "Ada", "O'Brien_100%"
    run(database, store.shop_id, "2025-06-30")
    return store.shop_id


def test_summaries_and_model(database: Database, demo: int) -> None:
    with database.session() as session:
        summary = read.segment_summary(session, demo)
        assert summary["as_of"] == date(2025, 6, 30)
        assert isinstance(summary["revenue"], Decimal) and isinstance(summary["segments"][0]["aov"], Decimal)
        assert summary["gross_margin_source"] == "catalogue" and 0.3 < summary["gross_margin"] < 0.7
        grid = read.summary(session, demo, "rfm_grid")
        assert len(grid["cells"]) == 25 and sum(c["customers"] for c in grid["cells"]) == summary["customers"]
        clv = read.summary(session, demo, "clv_by_segment")
        assert [s["key"] for s in clv["segments"]] == [s["key"] for s in summary["segments"]]
        assert any(s["avg_predicted_clv"] for s in clv["segments"])
        model = read.clv_model(session, demo)
        assert model["bgnbd"]["r"] > 0 and model["time_unit"] == "weeks"
        table = read.segment_table(session, demo)
        assert table["preset"] == "classic" and len(table["segments"]) == 11
        with pytest.raises(ValueError, match="kind must be one of"):
            read.summary(session, demo, "everything")


def test_channels_with_spend(database: Database, demo: int) -> None:
    with database.session() as session:
        channels = {c["name"]: c for c in read.summary(session, demo, "channels")["channels"]}
    google, email, tiktok = channels["google"], channels["email"], channels["tiktok"]
    assert google["spend"] == Decimal("12000.00") and google["spend_months"] == 6
    assert google["new_customers"] > 0 and google["cac"] == (
        google["spend"] / google["new_customers"]
    ).quantize(Decimal("0.01"))
    assert google["below_1"] and google["below_3"]  # 2000 a month buys far too few coffee drinkers
    assert not email["below_3"] and email["ltv_cac"] > 3
    assert tiktok["customers"] == 0 and tiktok["ltv_cac"] == 0 and tiktok["below_1"]
    assert channels["organic"]["ltv_cac"] is None and not channels["organic"]["below_1"]


def test_customers_of_a_segment_paginated_and_searchable(database: Database, demo: int) -> None:
    with database.session() as session:
        summary = read.segment_summary(session, demo)
        segment = max(summary["segments"], key=lambda s: s["customers"])
        page = read.segment_customers(session, demo, segment["key"], page=1, per_page=7)
        assert page.total == segment["customers"] and len(page.rows) == 7
        assert page.pages == -(-segment["customers"] // 7)
        clvs = [r["historic_clv"] for r in page.rows]
        assert clvs == sorted(clvs, reverse=True) and all(r["segment"] == segment["key"] for r in page.rows)
        second = read.segment_customers(session, demo, segment["key"], page=2, per_page=7)
        assert not {r["id"] for r in page.rows} & {r["id"] for r in second.rows}
        everyone = read.segment_customers(session, demo, per_page=500, sort="recency")
        assert everyone.per_page == read.MAX_PER_PAGE and everyone.total == summary["customers"]
        days = [r["recency_days"] for r in everyone.rows]
        assert days == sorted(days)
        found = read.segment_customers(session, demo, search="brien_100%")
        assert found.total == 1 and found.rows[0]["name"] == "Ada O'Brien_100%"
        assert read.segment_customers(session, demo, search="r%d").total == 0  # wildcards are literal
        by_mail = read.segment_customers(session, demo, search="CUSTOMER00012@")
        assert [r["email"] for r in by_mail.rows] == ["customer00012@demo.example"] or by_mail.total == 0
        with pytest.raises(read.UnknownSegmentError):
            read.segment_customers(session, demo, "nope")
        with pytest.raises(ValueError, match="sort"):
            read.segment_customers(session, demo, sort="email; drop table")


def test_audience_rows(database: Database, demo: int) -> None:
    with database.session() as session:
        summary = read.segment_summary(session, demo)
        champions = next(s for s in summary["segments"] if s["key"] == "champions")
        rows = list(read.audience_rows(session, demo, "champions"))
        assert len(rows) == champions["customers"]
        assert set(rows[0]) == {
            "email",
            "first_name",
            "last_name",
            "segment",
            "historic_clv",
            "predicted_clv_12m",
            "last_order_on",
            "orders",
            "accepts_marketing",
        }
        assert rows[0]["segment"] == "Champions" and rows[0]["email"].endswith("@demo.example")
        assert len(list(read.audience_rows(session, demo))) == summary["customers"]


def test_profiles_and_offers(database: Database, demo: int) -> None:
    with database.session() as session:
        profile = read.segment_profile(session, demo, "champions")
        assert profile["countries"][0]["name"] in {"US", "GB", "CA", "DE"}
        assert sum(sum(row) for row in profile["weekday_hour"]) == profile["orders"]
        assert len(profile["weekday_hour"]) == 7 and len(profile["weekday_hour"][0]) == 24
        assert (
            profile["products"]
            and profile["product_types"][0]["orders"] >= profile["product_types"][-1]["orders"]
        )
        assert profile["avg_units"] >= profile["avg_lines"] >= 1
        assert profile["devices"] == [] and profile["device_known_share"] == 0.0  # files carry no device
        with pytest.raises(read.UnknownSegmentError):
            read.segment_profile(session, demo, "nope")
        offers = read.summary(session, demo, "offers")
        core = [o["revenue"] for o in offers["core"]]
        assert core == sorted(core, reverse=True)
        threshold = offers["price_threshold"]
        assert all(
            o["price"] <= threshold and o["eligible_90d"] >= offers["min_customers"]
            for o in offers["tripwires"]
        )
        scores = [o["tripwire_score"] for o in offers["tripwires"]]
        assert scores == sorted(scores, reverse=True)


def test_nothing_computed_yet(database: Database, tmp_path: Path) -> None:
    store = build_demo_store(database, tmp_path / "demo", customers=60, end=date(2025, 6, 30))
    with database.session() as session:
        with pytest.raises(read.NoSnapshotError):
            read.segment_summary(session, store.shop_id)
        assert read.current_snapshot(session, store.shop_id) is None
    run(database, store.shop_id, "2025-06-30")
    with database.session() as session:
        with pytest.raises(read.NoSnapshotError, match="two computations"):
            read.transitions(session, store.shop_id)
