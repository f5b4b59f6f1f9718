"""Segment tags written back to a Shopify store (the stand-in) after each segment computation:
only changed customers, in throttled batches, other tags kept, every write logged."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select, update

from cvo_plugin.models import (
    Customer,
    JobRun,
    SegmentTagState,
    SegmentTagWrite,
    Shop,
)
from cvo_plugin.services.widget_settings import update_widget_settings
from cvo_plugin.tasks import COMPUTE_SEGMENTS, SEGMENT_TAGS
from tests.insights_fixtures import current_segments
from tests.integration.shopify.conftest import app_database, install, run_job
from tests.shopify_standin import ShopifyStandIn, Store


@pytest.fixture
def store() -> Store:
    """More buyers than one batch holds (the pareto draw leaves many customers without orders)."""
    return Store.generate(800, customers=300, seed=11)


def scored(client: FlaskClient, shop_id: int) -> dict[int, str]:
    """Customer platform id -> segment in the shop's current snapshot."""
    return {
        int(pid): segment
        for pid, segment in current_segments(app_database(client.application), shop_id).items()
    }


def count(client: FlaskClient, model: Any, *where: Any) -> int:
    with app_database(client.application).sessionmaker() as session:
        return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def cvo_tags(customer: dict[str, Any]) -> list[str]:
    return [t for t in customer["tags"] if t.startswith("cvo-")]


def test_changed_customers_get_their_segment_tag(client: FlaskClient, shopify: ShopifyStandIn) -> None:
    shop_id = install(client, shopify)  # backfills and computes (tags still off)
    assert shopify.api.tag_writes == []
    assert count(client, JobRun, JobRun.kind == "segment-tags") == 0
    store = shopify.store
    before = {cid: [t for t in c["tags"]] for cid, c in store.customers.items()}
    database = app_database(client.application)
    with database.session() as session:
        shop = session.get(Shop, shop_id)
        assert shop is not None
        update_widget_settings(session, shop, {"segment_tags": True})

    run_job(client.application, COMPUTE_SEGMENTS, shop_id, "segments")
    segments = scored(client, shop_id)
    assert len(segments) > 25
    for cid, segment in segments.items():
        customer = store.customers[cid]
        assert cvo_tags(customer) == [f"cvo-{segment}"]
        assert [t for t in customer["tags"] if not t.startswith("cvo-")] == before[cid]  # others kept
    batches = [e for e in shopify.log if e["operation"] == "CustomerSegmentTagsBatch"]
    assert len(batches) == -(-len(segments) // 25)  # 25 customers a request
    assert count(client, SegmentTagWrite, SegmentTagWrite.status == "written") == len(segments)
    assert count(client, SegmentTagState) == len(segments)

    # Nothing changed: the next computation writes nothing.
    writes = len(shopify.api.tag_writes)
    run_job(client.application, COMPUTE_SEGMENTS, shop_id, "segments")
    assert len(shopify.api.tag_writes) == writes
    assert count(client, SegmentTagWrite) == len(segments)

    # One customer's tag on the store is from an older segment: only they are written again.
    moved = next(iter(segments))
    store.update_customer(moved, tags=sorted([*store.customers[moved]["tags"], "cvo-lost"]))
    with database.session() as session:
        customer_id = session.scalar(select(Customer.id).where(Customer.platform_id == str(moved)))
        session.execute(
            update(SegmentTagState).where(SegmentTagState.customer_id == customer_id).values(tag="cvo-lost")
        )
    segments_before = {k: v for k, v in segments.items()}
    result = run_job(client.application, SEGMENT_TAGS, shop_id, "segment-tags")
    assert result == {"shop_id": shop_id, "customers": 1, "written": 1, "failed": 0, "requests": 1}
    assert cvo_tags(store.customers[moved]) == [f"cvo-{segments_before[moved]}"]
    with database.sessionmaker() as session:
        last = session.scalars(select(SegmentTagWrite).order_by(SegmentTagWrite.id.desc())).first()
    assert last is not None
    assert (last.customer_platform_id, last.added, last.removed) == (
        str(moved),
        f"cvo-{segments[moved]}",
        "cvo-lost",
    )


def test_a_customer_the_store_no_longer_has_is_logged_as_failed(
    client: FlaskClient, shopify: ShopifyStandIn
) -> None:
    shop_id = install(client, shopify)
    database = app_database(client.application)
    segments = scored(client, shop_id)
    gone = next(iter(segments))
    del shopify.store.customers[gone]
    with database.session() as session:
        shop = session.get(Shop, shop_id)
        assert shop is not None
        update_widget_settings(session, shop, {"segment_tags": True})
    result = run_job(client.application, SEGMENT_TAGS, shop_id, "segment-tags")
    assert (result["written"], result["failed"]) == (len(segments) - 1, 1)
    with database.sessionmaker() as session:
        failed = session.scalars(select(SegmentTagWrite).where(SegmentTagWrite.status == "failed")).one()
        assert failed.customer_platform_id == str(gone) and "does not exist" in (failed.error or "")
    # The failed customer is tried again next time; the others are not.
    again = run_job(client.application, SEGMENT_TAGS, shop_id, "segment-tags")
    assert (again["customers"], again["failed"]) == (1, 1)
