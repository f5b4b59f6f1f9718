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
