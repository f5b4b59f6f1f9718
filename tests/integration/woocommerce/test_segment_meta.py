"""Segment meta written back to a WooCommerce store (the stand-in) after each computation,
through the `woocommerce` package: changed registered customers only, every write logged."""

from __future__ import annotations

from sqlalchemy import func, select, update

from cvo_plugin.models import (
    Customer,
    SegmentTagState,
    SegmentTagWrite,
    Shop,
)
from cvo_plugin.services.widget_settings import update_widget_settings
from cvo_plugin.tasks import COMPUTE_SEGMENTS, SEGMENT_TAGS, TaskQueue
from tests.insights_fixtures import current_segments
from tests.integration.woocommerce.conftest import Live
from tests.woocommerce_standin import ApiKey, StandIn


def test_changed_customers_get_their_segment_meta(live: Live, woo: StandIn, key: ApiKey) -> None:
    result = live.connect(woo, key)  # backfills and computes (the write-back is off by default)
    assert result.sync_error is None
    shop_id = result.shop_id
    assert woo.meta_writes == []
    with live.database.session() as session:
        shop = session.get(Shop, shop_id)
        assert shop is not None
        update_widget_settings(session, shop, {"segment_tags": True})
    queue = TaskQueue(live.settings, live.database)
    queue.enqueue(COMPUTE_SEGMENTS, shop_id, kind="segments")

    rows = list(current_segments(live.database, shop_id).items())
    registered = {int(pid): segment for pid, segment in rows if pid.isdigit()}
    guests = [pid for pid, _ in rows if not pid.isdigit()]
    assert registered and guests  # guests (keyed by e-mail) cannot be written to
    for cid, segment in registered.items():
        assert woo.store.customers[cid]["meta"] == {"cvo_segment": segment}
    assert len(woo.calls("customers/batch", "POST")) == 1  # up to 100 customers a request
    with live.database.sessionmaker() as session:
        assert session.scalar(select(func.count()).select_from(SegmentTagWrite)) == len(registered)

    # Nothing changed: nothing is written; one changed customer: only they are.
    queue.enqueue(COMPUTE_SEGMENTS, shop_id, kind="segments")
    assert len(woo.calls("customers/batch", "POST")) == 1
    moved = next(iter(registered))
    with live.database.session() as session:
        customer_id = session.scalar(
            select(Customer.id).where(Customer.shop_id == shop_id, Customer.platform_id == str(moved))
        )
        session.execute(
            update(SegmentTagState).where(SegmentTagState.customer_id == customer_id).values(tag="cvo-lost")
        )
    writes = len(woo.meta_writes)
    handle = queue.enqueue(SEGMENT_TAGS, shop_id, kind="segment-tags")
    assert handle.result == {"shop_id": shop_id, "customers": 1, "written": 1, "failed": 0, "requests": 1}
    assert [cid for cid, _ in woo.meta_writes[writes:]] == [moved]
