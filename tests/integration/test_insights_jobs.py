"""The customer-value job end to end: as-of, tenant isolation, snapshots, transitions, atomicity."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import StatementError

from cvo_plugin.config import Settings
from cvo_plugin.db import Database
from cvo_plugin.models import AnalyticsSnapshot, AnalyticsSummary, Customer, CustomerScore, Shop
from cvo_plugin.services.insights import read
from cvo_plugin.services.insights.compute import compute
from cvo_plugin.services.insights.load import load_shop_data
from cvo_plugin.services.insights.settings import AnalyticsSettings, update_analytics_settings
from cvo_plugin.services.insights.store import store_computation
from cvo_plugin.services.shops import delete_shop
from cvo_plugin.tasks import COMPUTE_SEGMENTS, PERIODIC, QUEUE_ANALYTICS, TaskQueue, enqueue_compute
from tests.insights_fixtures import make_shop


def run(database: Database, shop_id: int, as_of: str | None = None, listener: Any = None) -> dict[str, Any]:
    settings = Settings(env="testing", database_url=database.url, secret_key="s", token_encryption_key="k")
    handle = TaskQueue(settings, database).enqueue(
        COMPUTE_SEGMENTS,
        shop_id,
        kind="segments",
        kwargs={"as_of": as_of} if as_of else {},
        listener=listener,
    )
    assert handle.status == "finished"
    return handle.result


def scores(database: Database, shop_id: int) -> dict[str, dict[str, Any]]:
    """The current snapshot's scores by the customer's platform id."""
    with database.session() as session:
        snapshot = read.get_snapshot(session, shop_id)
        rows = session.execute(
            select(Customer.platform_id, CustomerScore)
            .join(Customer, Customer.id == CustomerScore.customer_id)
            .where(CustomerScore.snapshot_id == snapshot.id)
        ).all()
        return {
            pid: {
                "rfm": (s.r, s.f, s.m),
                "segment": s.segment,
                "recency": s.recency_days,
                "orders": s.frequency,
                "monetary": str(s.monetary),
                "clv": str(s.historic_clv),
                "channel": s.channel,
                "first": s.first_order_on,
                "last": s.last_order_on,
            }
            for pid, s in rows
        }


def test_scores_by_hand_as_of_a_day(database: Database, tmp_path: Path) -> None:
    shop_id = make_shop(database, tmp_path)
    seen: list[float] = []
    result = run(database, shop_id, "2024-06-30", listener=lambda f, m: seen.append(f))
    assert result["customers"] == 4 and result["orders"] == 7 and result["as_of"] == "2024-06-30"
    assert seen[-1] == 1.0 and seen == sorted(seen)
    got = scores(database, shop_id)
    # c5 bought after the as-of day, c6 only cancelled, the guest is no customer; c1's July order is ignored
    assert set(got) == {"c1", "c2", "c3", "c4"}
    assert got["c1"] | {"channel": None} == {
        "rfm": (2, 3, 4),
        "segment": "at-risk",
        "recency": 10,
        "orders": 3,
        "monetary": "120.00",
        "clv": "60.00",
        "channel": None,
        "first": date(2024, 1, 10),
        "last": date(2024, 6, 20),
    }
    assert got["c1"]["channel"] == "google"  # from the first order
    # four distinct values or fewer: scores in order of the values (R: 150, 10, 5, 2 days)
    assert {k: (v["rfm"], v["segment"]) for k, v in got.items()} == {
        "c1": ((2, 3, 4), "at-risk"),
        "c2": ((1, 1, 3), "lost"),
        "c3": ((3, 2, 2), "about-to-sleep"),
        "c4": ((4, 1, 1), "promising"),
    }
    with database.session() as session:
        summary = read.segment_summary(session, shop_id)
        rows = {s["key"]: s for s in summary["segments"]}
        assert summary["customers"] == 4 and summary["revenue"] == 275
        assert summary["gross_margin_source"] == "default" and summary["gross_margin"] == 0.5
        assert rows["at-risk"]["customers"] == 1 and rows["at-risk"]["aov"] == 40
        assert rows["at-risk"]["days_between_orders"] == 81.0  # 162 days, 2 gaps
        assert rows["lost"]["share_revenue"] == pytest.approx(100 / 275, abs=1e-4)
        assert rows["champions"]["customers"] == 0 and rows["champions"]["aov"] is None
        # offers: first purchases and product revenue (the guest's mug counts, cancelled and later orders not)
        offers = read.summary(session, shop_id, "offers")
        firsts = {o["platform_id"]: o["first_customers"] for o in offers["first_purchases"]}
        assert firsts == {"beans": 1, "grinder": 1, "tea": 1, "filters": 1}
        core = [(o["platform_id"], str(o["revenue"])) for o in offers["core"]]
        assert core == [
            ("grinder", "100.00"),
            ("beans", "90.00"),
            ("mug", "60.00"),
            ("tea", "40.00"),
            ("filters", "15.00"),
        ]
        profile = read.segment_profile(session, shop_id, "at-risk")
        assert [(p["name"], p["orders"]) for p in profile["products"]] == [("beans", 2), ("mug", 1)]
        assert profile["countries"] == [{"name": "US", "customers": 1, "share": 1.0}]
        assert profile["channels"][0]["name"] == "google" and profile["orders"] == 3
        # the model needs more customers than this shop has
        model = read.clv_model(session, shop_id)
        assert model["bgnbd"] is None and "not fitted" in model["notes"][0]


def test_as_of_today_includes_every_order(database: Database, tmp_path: Path) -> None:
    shop_id = make_shop(database, tmp_path)
    result = run(database, shop_id)
    assert result["as_of"] == date.today().isoformat() or result["as_of"] >= "2024-07-15"
    got = scores(database, shop_id)
    assert set(got) == {"c1", "c2", "c3", "c4", "c5"} and got["c1"]["orders"] == 4


def test_tenant_isolation(database: Database, tmp_path: Path) -> None:
    shop_a = make_shop(database, tmp_path, "a.example")
    run(database, shop_a, "2024-06-30")
    alone = scores(database, shop_a)
    with database.session() as session:
        alone_summary = read.segment_summary(session, shop_a)

    # Another shop with the same platform ids, doubled prices, its own settings
    shop_b = make_shop(database, tmp_path, "b.example", price_factor=2)
    with database.session() as session:
        shop = session.get(Shop, shop_b)
        update_analytics_settings(shop, {"gross_margin": 0.25, "segment_preset": "cvo-lovers"})
    run(database, shop_b, "2024-06-30")
    run(database, shop_a, "2024-06-30")

    assert scores(database, shop_a) == alone
    other = scores(database, shop_b)
    assert other["c1"]["monetary"] == "240.00" and other["c1"]["clv"] == "60.00"
    assert other["c1"]["segment"] == "about-to-dump-you"  # R 2 in shop B's cvo-lovers table
    with database.session() as session:
        again = read.segment_summary(session, shop_a)
        assert {k: v for k, v in again.items() if k not in ("snapshot_id", "computed_at")} == {
            k: v for k, v in alone_summary.items() if k not in ("snapshot_id", "computed_at")
        }
        # every score row points at a customer of its own shop
        for shop_id in (shop_a, shop_b):
            foreign = session.scalar(
                select(func.count())
                .select_from(CustomerScore)
                .join(Customer, Customer.id == CustomerScore.customer_id)
                .where(CustomerScore.shop_id == shop_id, Customer.shop_id != shop_id)
            )
            assert foreign == 0
        with pytest.raises(read.NoSnapshotError):
            read.get_snapshot(session, shop_a, read.get_snapshot(session, shop_b).id)
        # deleting a shop takes its scores along (they carry no foreign key)
        delete_shop(session, shop_b)
    with database.session() as session:
        assert session.scalar(select(func.count()).where(CustomerScore.shop_id == shop_b)) == 0
        assert session.scalar(select(func.count()).where(CustomerScore.shop_id == shop_a)) == 4


def test_transitions_between_snapshots(database: Database, tmp_path: Path) -> None:
    shop_id = make_shop(database, tmp_path)
    first = run(database, shop_id, "2024-06-30")
    second = run(database, shop_id, "2024-07-31")
    with database.session() as session:
        stored = read.transitions(session, shop_id)
        assert (
            stored["from_snapshot"] == first["snapshot_id"] and stored["to_snapshot"] == second["snapshot_id"]
        )
        assert stored["from_as_of"] == "2024-06-30" and stored["to_as_of"] == "2024-07-31"
        cells = {(c["from"], c["to"]): c for c in stored["cells"]}
        assert sum(c["customers"] for c in stored["cells"]) == 5
        # c5 is new; c1 bought again in July (25 more)
        new = [c for c in stored["cells"] if c["from"] is None]
        assert len(new) == 1 and new[0]["customers"] == 1 and new[0]["revenue"] == 60
        assert sum(c["revenue_change"] for c in stored["cells"]) == 85
        # the same, computed in SQL between the two snapshots
        again = read.transitions(
            session, shop_id, from_snapshot=first["snapshot_id"], to_snapshot=second["snapshot_id"]
        )
        assert {
            (c["from"], c["to"]): (c["customers"], c["revenue"], c["revenue_change"]) for c in again["cells"]
        } == {k: (c["customers"], c["revenue"], c["revenue_change"]) for k, c in cells.items()}
        one = read.transitions(session, shop_id, segment="at-risk")
        into = sum(c["customers"] for c in one["into"])
        out = sum(c["customers"] for c in one["out_of"])
        stayed = one["stayed"]["customers"] if one["stayed"] else 0
        assert into + stayed == sum(c["customers"] for c in stored["cells"] if c["to"] == "at-risk")
        assert out + stayed == sum(c["customers"] for c in stored["cells"] if c["from"] == "at-risk")
        with pytest.raises(read.UnknownSegmentError):
            read.transitions(session, shop_id, segment="nope")


def test_snapshots_are_pruned(database: Database, tmp_path: Path) -> None:
    shop_id = make_shop(database, tmp_path)
    with database.session() as session:
        update_analytics_settings(
            session.get(Shop, shop_id), {"snapshots_keep": 2, "monthly_snapshots_keep": 1}
        )
    ids = [run(database, shop_id, day)["snapshot_id"] for day in ("2024-05-31", "2024-06-29", "2024-06-30")]
    again = run(database, shop_id, "2024-06-30")["snapshot_id"]  # a recomputation of the same day
    with database.session() as session:
        kept = [s["id"] for s in read.list_snapshots(session, shop_id)]
        # newest two days kept (the recomputation of 06-30 replaces the first), May's month-end is
        # older than the one month kept
        assert kept == [again, ids[1]]
        assert read.get_snapshot(session, shop_id).id == again
        stale = session.scalar(select(func.count()).where(CustomerScore.snapshot_id.in_([ids[0], ids[2]])))
        assert stale == 0


def test_a_failed_store_leaves_the_current_snapshot(database: Database, tmp_path: Path) -> None:
    shop_id = make_shop(database, tmp_path)
    good = run(database, shop_id, "2024-06-30")
    with database.session() as session:
        shop = session.get(Shop, shop_id)
        data = load_shop_data(session, shop, date(2024, 7, 31))
    computation = compute(data, AnalyticsSettings())
    computation.summaries["broken"] = {"not json": {1, 2}}  # fails while the scores are written
    with pytest.raises((StatementError, TypeError), match="not JSON serializable"):
        store_computation(database, shop_id, computation)
    with database.session() as session:
        assert read.get_snapshot(session, shop_id).id == good["snapshot_id"]
        assert read.segment_summary(session, shop_id)["customers"] == 4
        building = session.scalars(
            select(AnalyticsSnapshot).where(AnalyticsSnapshot.status == "building")
        ).all()
        assert len(building) == 1 and building[0].customers == 5
        assert session.scalar(select(func.count()).where(CustomerScore.snapshot_id == building[0].id)) == 0
        leftover = building[0].id
    latest = run(database, shop_id, "2024-07-31")  # the next run clears what the failed one left
    assert latest["snapshot_id"] > leftover  # ids are never reused
    with database.session() as session:
        assert session.get(AnalyticsSnapshot, leftover) is None
        assert session.scalar(select(func.count()).where(AnalyticsSnapshot.status == "building")) == 0
        assert session.scalar(select(func.count()).where(AnalyticsSummary.snapshot_id == leftover)) == 0


def test_the_computation_is_nightly_for_every_platform() -> None:
    nightly = [p for p in PERIODIC if p.func == COMPUTE_SEGMENTS]
    assert len(nightly) == 1 and nightly[0].interval_s == 24 * 3600
    assert set(nightly[0].platforms) == {"shopify", "woocommerce", "csv", "demo"}


def test_bad_as_of_is_refused(database: Database, tmp_path: Path) -> None:
    shop_id = make_shop(database, tmp_path)
    with pytest.raises(ValueError, match="as_of must be a date"):
        run(database, shop_id, "last tuesday")


@pytest.mark.redis
def test_rq_worker_computes_segments(
    database: Database, database_url: str, redis_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from redis import Redis
    from rq import SimpleWorker
    from rq.job import Job

    from jobs import runtime

    shop_id = make_shop(database, tmp_path)
    redis = Redis.from_url(redis_url)
    settings = Settings(
        env="testing",
        database_url=database_url,
        redis_url=redis_url,
        secret_key="s",
        token_encryption_key="k",
    )
    queue = TaskQueue(settings, database, redis=redis)
    handles = enqueue_compute(queue, shop_id, as_of="2024-06-30")
    assert [h.status for h in handles] == ["queued"] * len(handles)  # segments, then cross-sells
    assert all(h.joined for h in enqueue_compute(queue, shop_id))  # one run per shop and kind at a time

    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("CVO_ENV", "testing")
    runtime.reset()
    try:
        SimpleWorker([queue.rq_queue(QUEUE_ANALYTICS)], connection=redis).work(burst=True)
    finally:
        runtime.reset()
    job = Job.fetch(handles[0].id, connection=redis)
    assert job.return_value()["customers"] == 4 and job.get_meta()["progress"] == 1.0
    assert scores(database, shop_id)["c1"]["rfm"] == (2, 3, 4)


def test_the_scheduler_finds_shops_due_for_their_nightly_computation(
    database: Database, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from jobs import runtime
    from jobs.schedule import due_work

    shop_id = make_shop(database, tmp_path)
    index = next(i for i, p in enumerate(PERIODIC) if p.func == COMPUTE_SEGMENTS)
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("CVO_ENV", "testing")
    runtime.worker_settings.cache_clear()
    try:
        now = datetime.now(UTC)
        assert (shop_id, index) in due_work(now)
        run(database, shop_id)
        assert (shop_id, index) not in due_work(now + timedelta(hours=23))
        assert (shop_id, index) in due_work(now + timedelta(hours=25))
    finally:
        runtime.worker_settings.cache_clear()


def test_channels_and_devices_from_platform_attribution(database: Database) -> None:
    """Orders as a platform sync stores them: UTM fields, referrers, landing pages, devices."""
    from decimal import Decimal

    from cvo_plugin.ingest import Loader
    from cvo_plugin.records import LineRecord, OrderRecord
    from cvo_plugin.services.shops import get_or_create_shop

    first_orders = {
        "a": {"utm_source": "fb", "utm_medium": "paid", "device_type": "mobile"},
        "b": {"referrer": "https://www.google.com/search?q=beans", "device_type": "desktop"},
        "c": {"landing_page": "/products/beans?utm_source=newsletter&utm_medium=email" + "x" * 900},
        "d": {"source_name": "web", "device_type": "mobile"},
        "e": {"source_name": "pos"},
    }
    with database.session() as session:
        shop = get_or_create_shop(session, "attribution.example", platform="shopify")
        with Loader(session, shop.id) as loader:
            for i, (customer, fields) in enumerate(first_orders.items()):
                day = datetime(2024, 3, 1 + i, 10, tzinfo=UTC)
                loader.add_orders([OrderRecord(f"{customer}1", day, customer_platform_id=customer, **fields)])
                # a later order from elsewhere does not change the acquisition channel
                later = OrderRecord(
                    f"{customer}2",
                    day + timedelta(days=20),
                    customer_platform_id=customer,
                    utm_source="tiktok",
                    device_type="tablet",
                )
                loader.add_orders([later])
                for order in (f"{customer}1", f"{customer}2"):
                    loader.add_line(LineRecord(order, "beans", 1, Decimal("20.00")))
            loader.merge()
        shop_id = shop.id
    run(database, shop_id, "2024-06-30")
    got = scores(database, shop_id)
    assert {k: v["channel"] for k, v in got.items()} == {
        "a": "facebook",
        "b": "organic",
        "c": "email",
        "d": "direct",
        "e": "pos",
    }
    with database.session() as session:
        segment = got["a"]["segment"]
        profile = read.segment_profile(session, shop_id, segment)
        devices = {d["name"]: d["orders"] for d in profile["devices"]}
        members = [k for k, v in got.items() if v["segment"] == segment]
        expected: dict[str, int] = {"tablet": len(members)}
        for k in members:
            if "device_type" in first_orders[k]:
                expected[first_orders[k]["device_type"]] = expected.get(first_orders[k]["device_type"], 0) + 1
        assert devices == expected


def test_a_shop_without_completed_orders(database: Database, tmp_path: Path) -> None:
    shop_id = make_shop(database, tmp_path)
    result = run(database, shop_id, "2024-01-05")  # before the first order
    assert result["customers"] == 0
    with database.session() as session:
        summary = read.segment_summary(session, shop_id)
        assert summary["customers"] == 0 and summary["revenue"] == 0
        assert all(s["customers"] == 0 and s["share_customers"] == 0 for s in summary["segments"])
        assert read.segment_customers(session, shop_id, "champions").total == 0
        assert read.summary(session, shop_id, "offers")["core"] == []
