"""Benchmark: a WooCommerce backfill, then an incremental sync, against the local stand-in.

Generates a store (orders with 1-5 lines, ~10 % refunded, products with variations, guests and
registered buyers), serves it with the tests' HTTPS stand-in on loopback, and runs the sync
(`jobs.woocommerce.run_sync`, the code `cvo sync` runs) into a fresh SQLite file and a fresh
PostgreSQL database: first the backfill, then, after 1 % of the orders changed, the next
incremental sync. Prints wall time, requests and orders per second.

The stand-in answers in milliseconds; a real store takes 0.3-2 s for a page of 100 orders, so
against a real store the time is the store's. What this measures is the app's own share
(HTTP client, JSON mapping, staging and merging each page with its checkpoint).

    python bench/woocommerce_sync.py [--orders 10000] [--pg postgresql://postgres@127.0.0.1/bench]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from connectors.woocommerce.client import WooClient  # noqa: E402
from cvo_plugin.db import Database  # noqa: E402
from cvo_plugin.migrate import upgrade  # noqa: E402
from cvo_plugin.models import Shop  # noqa: E402
from jobs.woocommerce import run_sync  # noqa: E402
from tests.woocommerce_standin import StandIn, generate_store, make_certificates  # noqa: E402


def fresh_postgres(url: str) -> str:
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    upgrade(url)
    return url


def timed_sync(database: Database, shop_id: int, woo: StandIn, client: WooClient) -> tuple[int, int, float]:
    """(orders read, requests, seconds) of one sync."""
    woo.requests.clear()
    started = time.perf_counter()
    summary = run_sync(database, shop_id, client, now=datetime.now(UTC))
    return summary.read.get("orders", 0), len(woo.requests), time.perf_counter() - started


def run(label: str, url: str, woo: StandIn, client: WooClient, changes: int) -> list[str]:
    """The backfill, then an incremental sync after `changes` orders changed."""
    database = Database(url)
    with database.session() as session:
        shop = Shop(platform="woocommerce", domain=f"bench-{label}.example", settings={})
        session.add(shop)
        session.flush()
        shop_id = shop.id
    rows = []
    for name in ("backfill", f"incremental ({changes:,} changed)"):
        if name != "backfill":
            for order in sorted(woo.store.orders)[:changes]:
                woo.update_order(order, deliver=False, status="completed")
        orders, requests, seconds = timed_sync(database, shop_id, woo, client)
        rows.append(
            f"| {label} | {name} | {orders:,} | {requests:,} | {seconds:.1f} | {orders / seconds:,.0f} |"
        )
    database.dispose()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--orders", type=int, default=10_000)
    parser.add_argument(
        "--pg",
        default=os.environ.get("BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/bench"),
    )
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="cvo-bench-woo-"))
    store = generate_store(orders=args.orders, products=200, customers=args.orders // 6, seed=1)
    lines = sum(len(o["lines"]) for o in store.orders.values())
    print(f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(
        f"store: {len(store.orders):,} orders, {lines:,} lines, {len(store.products):,} products, "
        f"{len(store.variations):,} variations, {len(store.customers):,} customers"
    )
    rows = [
        "| database | pass | orders read | requests | seconds | orders/s |",
        "| --- | --- | ---: | ---: | ---: | ---: |",
    ]
    with StandIn(store, make_certificates(work / "tls")) as woo:
        key = woo.add_key()
        client = WooClient(woo.url, key.key, key.secret, ca_bundle=woo.ca_bundle)
        sqlite = work / "bench.db"
        upgrade(f"sqlite:///{sqlite}")
        rows += run("SQLite", f"sqlite:///{sqlite}", woo, client, args.orders // 100)
        try:
            pg = fresh_postgres(args.pg)
        except Exception as exc:  # noqa: BLE001 - no PostgreSQL here: report SQLite only
            print(f"PostgreSQL skipped: {type(exc).__name__}")
        else:
            rows += run("PostgreSQL", pg, woo, client, args.orders // 100)
    print("\n".join(rows))


if __name__ == "__main__":
    main()
