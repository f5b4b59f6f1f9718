"""A WooCommerce backfill on a real `cvo worker` process, SIGKILLed (worker and work-horse) while
it waits for page 8 of the orders, then a new worker: the job is handed back to RQ at once,
resumes after its last checkpoint (page 7), and the database ends identical to the store with
every order and line once."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from redis import Redis
from sqlalchemy import select

import cvo_plugin.tasks as tasks
from cvo_plugin.models import JobRun, SyncState
from cvo_plugin.services.woocommerce_connect import connect_woocommerce
from tests.integration.faults.harness import WorkerProcess, wait_until, worker_env
from tests.integration.woocommerce.conftest import Live, assert_identical
from tests.woocommerce_standin import CertificateFiles, StandIn, Store, generate_store
from tests.woocommerce_standin.compare import expected_state, row_counts

pytestmark = [pytest.mark.slow, pytest.mark.redis, pytest.mark.postgres]


@pytest.fixture
def db_backend() -> str:
    return "postgresql"  # worker processes share the database: PostgreSQL, as in production


def test_a_backfill_whose_worker_is_killed_resumes_on_a_new_worker(
    certs: CertificateFiles, live: Live, database_url: str, redis_url: str, tmp_path: Path
) -> None:
    store: Store = generate_store(orders=1_200, products=20, seed=3)
    with StandIn(store, certs) as woo:
        key = woo.add_key()
        hold = woo.fail("hold", 1, match=lambda r: r.route == "orders" and r.params.get("page") == "8")
        redis = Redis.from_url(redis_url)
        queue = tasks.TaskQueue(live.settings.replace(redis_url=redis_url), live.database, redis=redis)
        result = connect_woocommerce(live.database, live.settings, woo.url, key.key, key.secret, queue=queue)
        assert result.sync is not None and result.sync.status == "queued"
        env = worker_env(
            database_url,
            redis_url,
            tmp_path / "i",
            WOOCOMMERCE_CA_BUNDLE=str(certs.ca_bundle),
            APP_URL=live.url,
        )
        worker = WorkerProcess(env, tasks.QUEUE_SYNC, "woo", tmp_path).start()
        try:
            assert hold.holding.wait(60), worker.log()
            worker.kill()  # while the orders page 8 is being read
            hold.released.set()
            with live.database.sessionmaker() as session:
                state = session.scalars(select(SyncState).where(SyncState.resource == "orders")).one()
                assert (
                    state.records_synced == 700
                    and json.loads(state.cursor or "{}")["window"]["next_page"] == 8
                )
                assert session.get(JobRun, result.sync.id).status == "running"  # type: ignore[union-attr]
            assert row_counts(live.database, result.shop_id)["orders"] == 700
            woo.requests.clear()
            worker = WorkerProcess(env, tasks.QUEUE_SYNC, "woo-again", tmp_path).start()

            def finished() -> bool:
                with live.database.sessionmaker() as session:
                    return session.get(JobRun, result.sync.id).status == "finished"  # type: ignore[union-attr]

            wait_until(finished, 90, "the resumed backfill")
        finally:
            worker.stop()
        assert "handed 1 job(s) of dead workers back to RQ" in worker.log()
        pages = sorted(int(r.params["page"]) for r in woo.calls("orders") if r.route == "orders")
        assert pages == list(range(7, 13))  # page 7 again (it may have shifted), then the rest
        assert_identical(woo, live, result.shop_id)
        counts = row_counts(live.database, result.shop_id)
        assert counts["orders"] == len(store.orders)
        assert counts["order_lines"] == len(expected_state(store, woo.url).lines)


def test_segment_write_back_whose_worker_is_killed_tags_every_customer_once(
    certs: CertificateFiles, live: Live, database_url: str, redis_url: str, tmp_path: Path
) -> None:
    """Killed while the store receives its second batch of segment meta: the new worker writes
    what was not recorded (the interrupted batch again, harmlessly), every registered customer
    ends with their segment, and the write log holds each customer once."""
    from sqlalchemy import func

    from cvo_plugin.models import SegmentTagWrite, Shop
    from cvo_plugin.services.widget_settings import update_widget_settings
    from tests.insights_fixtures import current_segments

    store: Store = generate_store(orders=1_200, products=20, seed=4)
    with StandIn(store, certs) as woo:
        key = woo.add_key()
        result = live.connect(woo, key)  # backfill and computations, here (write-back off)
        with live.database.session() as session:
            shop = session.get(Shop, result.shop_id)
            assert shop is not None
            update_widget_settings(session, shop, {"segment_tags": True})
        registered = {
            int(pid): segment for pid, segment in current_segments(live.database, result.shop_id).items()
            if pid.isdigit()
        }  # fmt: skip
        assert len(registered) > 100  # more than one batch
        batches = []

        def second_batch(request: object) -> bool:
            if getattr(request, "route", "") != "customers/batch" or getattr(request, "method", "") != "POST":
                return False
            batches.append(request)
            return len(batches) == 2

        hold = woo.fail("hold", 1, match=second_batch)
        redis = Redis.from_url(redis_url)
        queue = tasks.TaskQueue(live.settings.replace(redis_url=redis_url), live.database, redis=redis)
        handle = queue.enqueue(
            tasks.SEGMENT_TAGS, result.shop_id, kind=tasks.SEGMENT_TAGS_KIND, queue=tasks.QUEUE_SYNC
        )
        bundle = str(certs.ca_bundle)
        env = worker_env(
            database_url, redis_url, tmp_path / "i", WOOCOMMERCE_CA_BUNDLE=bundle, APP_URL=live.url
        )
        worker = WorkerProcess(env, tasks.QUEUE_SYNC, "tags", tmp_path).start()
        try:
            assert hold.holding.wait(60), worker.log()
            worker.kill()  # the store is receiving the second batch
            hold.released.set()
            worker = WorkerProcess(env, tasks.QUEUE_SYNC, "tags-again", tmp_path).start()

            def finished() -> bool:
                with live.database.sessionmaker() as session:
                    return session.get(JobRun, handle.id).status == "finished"  # type: ignore[union-attr]

            wait_until(finished, 90, "the resumed write-back")
        finally:
            worker.stop()
        for cid, segment in registered.items():
            assert woo.store.customers[cid]["meta"] == {"cvo_segment": segment}
        with live.database.sessionmaker() as session:
            writes = session.scalar(select(func.count()).select_from(SegmentTagWrite))
            customers = session.scalar(select(func.count(func.distinct(SegmentTagWrite.customer_id))))
        assert writes == customers == len(registered)
        sent = len(woo.calls("customers/batch", "POST"))
        assert -(-len(registered) // 100) <= sent <= -(-len(registered) // 100) + 1  # at most one again
